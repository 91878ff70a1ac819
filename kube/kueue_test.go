package kube_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
)

func TestKueueObjects(t *testing.T) {
	q, err := sched.LoadQueues("../sched/testdata/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := kube.Kueue(q, map[string]kube.Flavor{"h100": {NodeSelector: map[string]string{"gpu": "h100"}}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		"kind: ResourceFlavor\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: reckon\n  name: h100\nspec:\n  nodeLabels:\n    gpu: h100\n",
		"name: reckon-reentry",
		"- borrowingLimit: \"28\"\n        name: nvidia.com/gpu\n        nominalQuota: \"14\"",
		"- lendingLimit: \"6\"\n        name: nvidia.com/gpu\n        nominalQuota: \"14\"",
		"- name: cpu\n        nominalQuota: 112000m",
		"name: memory\n        nominalQuota: 921600Mi",
		"weight: \"2\"",
		"kind: LocalQueue\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: reckon\n  name: vision\n  namespace: reckon\nspec:\n  clusterQueue: reckon-vision\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n---\n"); n != 1+4+4-1 {
		t.Errorf("%d documents, want 9 (1 flavor, 4 cluster queues, 4 local queues)", n+1)
	}
	if strings.Contains(out, "borrowingLimit: 112") || strings.Contains(out, "Inf") {
		t.Errorf("an unlimited resource was written as a limit:\n%s", out)
	}
}

// TestKueueObjectsPassServerValidation: the real API server, with kube.Kueue's
// CRDs (scripts/kube-testenv up installs them), accepts every generated
// object in a dry run. Skipped without a control plane.
func TestKueueObjectsPassServerValidation(t *testing.T) {
	kubetest.Clientset(t, "reckon")
	dc, err := dynamic.NewForConfig(kubetest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	q, err := sched.LoadQueues("../sched/testdata/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := kube.Kueue(q, map[string]kube.Flavor{"h100": {NodeSelector: map[string]string{"gpu": "h100"}}}, "reckon", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: strings.ToLower(u.GetKind()) + "s"}
		var ri dynamic.ResourceInterface = dc.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			ri = dc.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Create(ctx, &u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err != nil {
			t.Errorf("%s %s: refused by the API server: %v", u.GetKind(), u.GetName(), err)
		}
		n++
	}
	if n != 9 {
		t.Errorf("%d objects checked, want 9", n)
	}
	// The check can fail: a misspelt field is refused.
	bad := unstructured.Unstructured{Object: map[string]any{"apiVersion": kube.KueueAPI, "kind": "LocalQueue",
		"metadata": map[string]any{"name": "x", "namespace": "reckon"}, "spec": map[string]any{"clusterQeue": "reckon-tumor"}}}
	gvr := schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "localqueues"}
	if _, err := dc.Resource(gvr).Namespace("reckon").Create(ctx, &bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err == nil {
		t.Error("a LocalQueue with a misspelt field was accepted")
	}
}
