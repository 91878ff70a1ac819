package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
)

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
	kubetest.Apply(t, objects)
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
	why, suspended, err := e.Why(ctx, "fits", 1)
	if err != nil || suspended || !strings.Contains(why, "Admitted=True") {
		t.Errorf("why fits: %q, %v", why, err)
	}
	st, err := e.Status(ctx, "toobig", 1)
	if err != nil || st.Phase != sched.PhaseRunning || !strings.Contains(st.Message, "waiting for Kueue") {
		t.Errorf("toobig: %+v, %v: want suspended, waiting for Kueue", st, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		why, suspended, err = e.Why(ctx, "toobig", 1)
		if err != nil || !suspended {
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
