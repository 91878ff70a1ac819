package deploy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/reckon-ml/reckon/kube/kubetest"
)

// warnings collects the API server's Warning headers (PodSecurity speaks
// through them about a Deployment whose pods it would refuse).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// cluster is what the tests apply manifests with: a dynamic client, a
// REST mapper from the server's discovery (Kueue's CRDs included) and
// the warnings of every request.
type cluster struct {
	dyn    dynamic.Interface
	cs     kubernetes.Interface
	mapper meta.RESTMapper
	warn   *warnings
}

func connect(t *testing.T) *cluster {
	t.Helper()
	rc := kubetest.Config(t)
	w := &warnings{}
	rc.WarningHandler = w
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{dyn: dyn, cs: cs, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), warn: w}
}

// apply is kubectl apply --server-side [--dry-run=server] of one object.
func (c *cluster) apply(ctx context.Context, o *unstructured.Unstructured, dry bool) error {
	gvk := o.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
	}
	var r dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		r = c.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	opts := metav1.ApplyOptions{FieldManager: "reckon-deploy-test", Force: true}
	if dry {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = r.Apply(ctx, o.GetName(), o, opts)
	return err
}

// retarget moves the rendered objects into namespace ns, as kustomize's
// namespace field would, so that tests side by side do not meet.
func retarget(objs []*unstructured.Unstructured, ns string) {
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace":
			o.SetName(ns)
		case o.GetNamespace() != "":
			o.SetNamespace(ns)
		}
		if o.GetKind() == "RoleBinding" {
			subs, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subs {
				s.(map[string]any)["namespace"] = ns
			}
			unstructured.SetNestedSlice(o.Object, subs, "subjects")
		}
	}
}

// TestServerSideDryRun: every object of every overlay is accepted by the
// API server (with Kueue's CRDs) in a server-side dry run, with no
// warning, and every pod they make is admitted by a namespace enforcing
// the "restricted" Pod Security Standard.
func TestServerSideDryRun(t *testing.T) {
	c := connect(t)
	ctx := context.Background()
	for _, dir := range overlays {
		objs := render(t, dir)
		ns := fmt.Sprintf("reckon-dry-%s-%s", filepath.Base(dir), time.Now().Format("150405"))
		retarget(objs, ns)
		for _, o := range objs {
			if o.GetKind() != "Namespace" {
				continue
			}
			if err := c.apply(ctx, o, false); err != nil {
				t.Fatalf("%s: creating the namespace: %v", dir, err)
			}
			t.Cleanup(func() { c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		}
		c.warn.take()
		for _, o := range objs {
			if err := c.apply(ctx, o, true); err != nil {
				t.Errorf("%s: %s %s refused: %v", dir, o.GetKind(), o.GetName(), err)
			}
			for _, w := range c.warn.take() {
				t.Errorf("%s: %s %s: warning: %s", dir, o.GetKind(), o.GetName(), w)
			}
			spec := podSpec(o)
			if spec == nil {
				continue
			}
			// The Namespace enforces "restricted": PodSecurity refuses a
			// pod that breaks it (a workload is only warned about).
			var pod corev1.Pod
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{"spec": spec}, &pod); err != nil {
				t.Fatal(err)
			}
			pod.Name, pod.Namespace = strings.ToLower(o.GetKind())+"-"+o.GetName(), ns
			// A StatefulSet's controller adds a volume per claim template.
			claims, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
			for _, c := range claims {
				name, _, _ := unstructured.NestedString(c.(map[string]any), "metadata", "name")
				pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			}
			if _, err := c.cs.CoreV1().Pods(ns).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s: the pod of %s %s is refused: %v", dir, o.GetKind(), o.GetName(), err)
			}
		}
	}
}
