package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/sched"
)

// TestMain makes the test binary the pods' program: shard 1 finds bad
// records (exit 3), shard 2 crashes on its first try.
func TestMain(m *testing.M) {
	if os.Getenv("KUBETEST_CHILD") == "1" {
		switch os.Getenv("JOB_COMPLETION_INDEX") {
		case "1":
			os.Exit(3)
		case "2":
			marker := filepath.Join(os.Getenv("KUBETEST_DIR"), "crashed-once")
			if _, err := os.Stat(marker); err != nil {
				os.WriteFile(marker, nil, 0o644)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestIndexedJobRetriesCrashesNotExitThree: on the real controller
// manager, a 4-shard prediction Job retries the shard that crashed and
// fails the shard that exited 3 without a retry.
func TestIndexedJobRetriesCrashesNotExitThree(t *testing.T) {
	cs, err := kubernetes.NewForConfig(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := "kubetest-" + time.Now().Format("150405")
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reckon-store"},
		StringData: map[string]string{"RECKON_STORE": "/nonexistent/reckon.db"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := Start(ctx, cs, "kubetest-node", ns, map[string]string{"reckon": os.Args[0]}, []string{"KUBETEST_CHILD=1", "KUBETEST_DIR=" + t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	cfg := kube.Config{Namespace: ns, Image: "reckon:test", Retries: 2}
	j, err := cfg.Job(sched.Launch{Job: "j1", Attempt: 1, Shards: 4, Args: []string{"predict", "--model", "m", "--data", "d", "--out-dir", "o", "--fan-out", "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *batchv1.Job
	for {
		got, err = cs.BatchV1().Jobs(ns).Get(ctx, j.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if finished(got) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the Job did not finish: %+v", got.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got.Status.CompletedIndexes != "0,2,3" || got.Status.FailedIndexes == nil || *got.Status.FailedIndexes != "1" {
		t.Errorf("completed %q, failed %v; want 0,2,3 and 1", got.Status.CompletedIndexes, got.Status.FailedIndexes)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelJob + "=j1"})
	if err != nil {
		t.Fatal(err)
	}
	tries := map[string]int{}
	for _, p := range pods.Items {
		tries[p.Annotations["batch.kubernetes.io/job-completion-index"]]++
	}
	if tries["1"] != 1 || tries["2"] != 2 || tries["0"] != 1 {
		t.Errorf("pods per index %v: want index 1 once (exit 3 is not retried), index 2 twice (a crash is)", tries)
	}
	t.Logf("conditions %+v, pods per index %v", got.Status.Conditions, tries)
}

func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
