package kube_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
)

// TestMain makes the test binary the pods' program (exectest's helpers),
// run by the node agent.
func TestMain(m *testing.M) {
	exectest.ChildMain()
	os.Exit(m.Run())
}

// cluster is a fresh namespace with the store Secret and a node agent
// running its pods as this test binary.
func cluster(t *testing.T) (kubernetes.Interface, string) {
	return kubetest.Namespace(t, "reckon", map[string]string{"RECKON_STORE": t.TempDir() + "/reckon.db"}, os.Args[0], []string{exectest.EnvChild + "=1"})
}

func newExecutor(t *testing.T, ns string) *kube.Executor {
	t.Helper()
	e, err := kube.New(context.Background(), kubetest.Config(t), kube.Config{Namespace: ns, Image: "reckon:test", Grace: time.Second, Retries: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestExecutorConformance runs the executor suite against Jobs on the real
// API server and Job controller, the node agent playing the kubelet.
// GPU ids are the device plugin's business on Kubernetes, not reckon's,
// so the suite's CUDA_VISIBLE_DEVICES check does not apply.
func TestExecutorConformance(t *testing.T) {
	kubetest.Config(t)
	p := exectest.Helpers
	p.PrintEnv = nil
	t.Run("suite", func(t *testing.T) {
		_, ns := cluster(t)
		exectest.Run(t, func(t *testing.T) sched.Executor { return newExecutor(t, ns) }, p)
	})
}

func TestNewWithoutSecret(t *testing.T) {
	cs := kubetest.Clientset(t, "reckon-no-secret")
	defer cs.CoreV1().Namespaces().Delete(context.Background(), "reckon-no-secret", metav1.DeleteOptions{})
	_, err := kube.New(context.Background(), kubetest.Config(t), kube.Config{Namespace: "reckon-no-secret", Image: "reckon:test"})
	if err == nil || !contains(err.Error(), `Secret "reckon-store" is missing`, "kubectl -n reckon-no-secret create secret generic reckon-store") {
		t.Fatalf("err %v: want the missing Secret named with the command that makes it", err)
	}
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestScale (issue 14): N trivial Jobs (500, or 50 with -short) started
// and observed to completion through the executor, the node agent running
// their pods. Status is answered from the watch cache, so the API calls the
// executor makes are one create per Job plus a fixed few lists and
// watches, however long the Jobs take: no get or list per Job.
func TestScale(t *testing.T) {
	kubetest.Config(t)
	n := 500
	if testing.Short() {
		n = 50
	}
	_, ns := cluster(t)
	e := newExecutor(t, ns)
	ctx := context.Background()
	began := time.Now()
	for i := range n {
		if err := e.Start(ctx, sched.Launch{Job: fmt.Sprintf("s%d", i), Attempt: 1, Team: "t", Args: exectest.Helpers.Echo("ok")}); err != nil {
			t.Fatal(err)
		}
	}
	submitted := time.Since(began)
	polls := 0
	for pending := n; pending > 0; {
		pending = 0
		for i := range n {
			st, err := e.Status(ctx, fmt.Sprintf("s%d", i), 1)
			if err != nil {
				t.Fatal(err)
			}
			if st.Phase == sched.PhaseRunning {
				pending++
			} else if st.Phase != sched.PhaseExited || st.Exit != 0 {
				t.Fatalf("s%d: %+v", i, st)
			}
		}
		polls++
		if time.Since(began) > 10*time.Minute {
			t.Fatalf("%d of %d Jobs not done after 10 min", pending, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	calls := e.Calls()
	t.Logf("%d Jobs: submitted in %s, all complete after %s; %d Status sweeps of all %d; API calls %v (%.2f per Job)",
		n, submitted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), polls, n, calls, float64(total(calls))/float64(n))
	if calls["create"] != n {
		t.Errorf("%d creates for %d Jobs", calls["create"], n)
	}
	if other := total(calls) - calls["create"]; other > 12 {
		t.Errorf("%d calls besides the creates (%v): Status must come from the watch, not a request per Job", other, calls)
	}
}

func total(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
