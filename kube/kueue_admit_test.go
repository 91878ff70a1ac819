package kube_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
)

// applyKueue creates the objects reckon queues export --kueue writes
// (cluster-scoped ones removed when the test ends).
func applyKueue(t *testing.T, objects []byte) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(kubetest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range bytes.Split(objects, []byte("---\n")) {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: strings.ToLower(u.GetKind()) + "s"}
		var r dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			r = dyn.Resource(gvr).Namespace(ns)
		}
		if _, err := r.Create(ctx, &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() == "ClusterQueue" {
			name := u.GetName()
			t.Cleanup(func() { r.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
	}
}

// TestKueueAdmits (issue 14): with Kueue running and the ClusterQueues
// and LocalQueues reckon queues export --kueue writes, a Job the executor
// creates suspended in its team's queue is admitted by Kueue and runs to
// completion on the real Job controller, while one asking for more than
// the cohort has stays suspended, and Why reports Kueue's reason from the
// Workload.
func TestKueueAdmits(t *testing.T) {
	kubetest.Kueue(t)
	_, ns := cluster(t)
	n := map[string]sched.Resources{"cpu": {CPU: 1}}
	q := &sched.Queues{Flavors: []string{"cpu"}, Teams: []sched.QueueTeam{{Name: "a", Nominal: n, Weight: 1}, {Name: "b", Nominal: n, Weight: 1}}}
	objects, err := kube.Kueue(q, nil, ns, ns)
	if err != nil {
		t.Fatal(err)
	}
	applyKueue(t, objects)
	e, err := kube.New(context.Background(), kubetest.Config(t), kube.Config{Namespace: ns, Image: "reckon:test", Grace: time.Second, Kueue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	fits := sched.Launch{Job: "fits", Attempt: 1, Team: "a", Args: exectest.Helpers.Echo("admitted by Kueue"), Request: sched.Resources{CPU: 1}}
	tooBig := sched.Launch{Job: "toobig", Attempt: 1, Team: "a", Args: exectest.Helpers.Echo("never"), Request: sched.Resources{CPU: 3}}
	for _, l := range []sched.Launch{fits, tooBig} {
		if err := e.Start(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if st := exectest.Wait(t, e, "fits", 1, 2*time.Minute); st.Phase != sched.PhaseExited || st.Exit != 0 {
		t.Errorf("fits: %+v", st)
	}
	why, err := e.Why(ctx, "fits", 1)
	if err != nil || !strings.Contains(why, "Admitted=True") {
		t.Errorf("why fits: %q, %v", why, err)
	}
	st, err := e.Status(ctx, "toobig", 1)
	if err != nil || st.Phase != sched.PhaseRunning || !strings.Contains(st.Message, "waiting for Kueue") {
		t.Errorf("toobig: %+v, %v: want suspended, waiting for Kueue", st, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		why, err = e.Why(ctx, "toobig", 1)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(why, "QuotaReserved=False") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("why toobig: %s", why)
	if !strings.Contains(why, "QuotaReserved=False") || !strings.Contains(why, "LocalQueue a") {
		t.Errorf("why toobig: %q: want Kueue's reason for not reserving quota", why)
	}
}
