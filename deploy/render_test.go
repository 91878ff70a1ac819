// Package deploy_test renders reckon's Kubernetes manifests (kustomize,
// as a Go module: no kubectl here) and checks them: against the queues
// they are generated from, against the "restricted" Pod Security
// Standard, and, on the test control plane (scripts/kube-testenv), with a
// server-side dry run of every object; smoke_test.go deploys them.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/sched"
)

var overlays = []string{"overlays/trial", "overlays/shared"}

// render builds a kustomization directory as kubectl apply -k would.
func render(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON, so numbers are what unstructured expects.
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// TestKueueObjectsMatchQueues: kueue.yaml is what reckon queues export
// --kueue makes of queues.yaml, so the two never drift apart.
func TestKueueObjectsMatchQueues(t *testing.T) {
	q, err := sched.LoadQueues("base/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := kube.Kueue(q, nil, "reckon", "reckon")
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("base/kueue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("base/kueue.yaml is stale: reckon queues export --kueue -f deploy/base/queues.yaml > deploy/base/kueue.yaml")
	}
}

// TestRender: each overlay builds and holds what a deployment needs.
func TestRender(t *testing.T) {
	for _, dir := range overlays {
		objs := render(t, dir)
		for _, want := range []string{"Namespace/reckon", "Deployment/reckon-server", "Service/reckon-server", "Deployment/reckon-scheduler",
			"StatefulSet/reckon-postgres", "Service/reckon-postgres", "Deployment/reckon-s3", "ServiceAccount/reckon-scheduler",
			"Role/reckon-scheduler", "RoleBinding/reckon-scheduler", "PersistentVolumeClaim/reckon-jobs", "ClusterQueue/reckon-tumor",
			"LocalQueue/tumor", "ResourceFlavor/h100", "CronJob/reckon-submit-tumor", "CronJob/reckon-submit-reentry",
			"NetworkPolicy/reckon-default-deny-ingress"} {
			kind, name, _ := strings.Cut(want, "/")
			if find(objs, kind, name) == nil {
				t.Errorf("%s: no %s", dir, want)
			}
		}
		for _, o := range objs {
			if o.GetKind() == "Secret" {
				t.Errorf("%s: Secret %s written in the manifests: credentials are referenced, never inlined", dir, o.GetName())
			}
			clusterScoped := map[string]bool{"Namespace": true, "ClusterQueue": true, "ResourceFlavor": true, "Cohort": true}[o.GetKind()]
			if ns := o.GetNamespace(); ns != "reckon" && !clusterScoped {
				t.Errorf("%s: %s/%s in namespace %q, want reckon", dir, o.GetKind(), o.GetName(), ns)
			}
			for _, c := range containers(o) {
				if img, _ := c["image"].(string); img == "reckon" {
					t.Errorf("%s: %s/%s runs image %q: the images transformer did not apply", dir, o.GetKind(), o.GetName(), img)
				}
			}
		}
		// The scheduler's Jobs run the image it runs (it reads its own pod),
		// so it must know its pod.
		sched := find(objs, "Deployment", "reckon-scheduler")
		if s := fmt.Sprint(sched.Object); !strings.Contains(s, "POD_NAME") || !strings.Contains(s, "--kueue") {
			t.Errorf("%s: the scheduler is not told its pod or Kueue", dir)
		}
	}
}

// containers are a workload's pod template's containers and init
// containers (a Pod's own, a CronJob's job template's).
func containers(o *unstructured.Unstructured) []map[string]any {
	spec := podSpec(o)
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(spec, key)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func podSpec(o *unstructured.Unstructured) map[string]any {
	var path []string
	switch o.GetKind() {
	case "Pod":
		path = []string{"spec"}
	case "Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet":
		path = []string{"spec", "template", "spec"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		return nil
	}
	m, _, _ := unstructured.NestedMap(o.Object, path...)
	return m
}
