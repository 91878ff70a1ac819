package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
)

// crashOnce makes the pod of shard $RECKON_TEST_CRASH_SHARD crash (exit 2,
// as a Go panic does) the first time it runs, leaving a marker in
// $RECKON_TEST_CRASH_DIR.
func crashOnce() {
	if os.Getenv("JOB_COMPLETION_INDEX") == os.Getenv("RECKON_TEST_FAIL_SHARD") {
		if _, err := os.Stat(os.Getenv("RECKON_TEST_FAIL_WHILE")); err == nil {
			fmt.Fprintln(os.Stderr, "panic: made to crash by the test")
			os.Exit(2)
		}
	}
	shard := os.Getenv("RECKON_TEST_CRASH_SHARD")
	if shard == "" || os.Getenv("JOB_COMPLETION_INDEX") != shard {
		return
	}
	marker := filepath.Join(os.Getenv("RECKON_TEST_CRASH_DIR"), "crashed-"+shard)
	if _, err := os.Stat(marker); err == nil {
		return
	}
	os.WriteFile(marker, nil, 0o644)
	fmt.Fprintln(os.Stderr, "panic: made to crash once by the test")
	os.Exit(2)
}

// kubeHome is a fresh namespace on the test control plane whose store
// Secret names home's store and blobs, with a node agent running its pods
// as this test binary acting as reckon.
func kubeHome(t *testing.T, home string, env ...string) (kubernetes.Interface, string) {
	t.Helper()
	secret := map[string]string{"RECKON_STORE": filepath.Join(home, "reckon.db"), "RECKON_BLOBS": filepath.Join(home, "blobs")}
	return kubetest.Namespace(t, "cli", secret, os.Args[0], append(env, "RECKON_TEST_AS_CLI=1"))
}

// podsPerShard counts the pods the Job controller made for each index of
// job's first attempt.
func podsPerShard(t *testing.T, cs kubernetes.Interface, ns, job string) map[string]int {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelJob + "=" + job})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, p := range pods.Items {
		n[p.Annotations["batch.kubernetes.io/job-completion-index"]]++
	}
	return n
}

func predictionsFile(t *testing.T, dir string) []byte {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "predictions-*.csv"))
	if len(m) != 1 {
		t.Fatalf("%s: predictions files %v, want one", dir, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPredictOnKubeShards (issue 14): reckon predict --on kube --shards 4
// runs the tumor table as an Indexed Job on the real Job controller; shard
// 2 crashes once and is retried by the controller, and the merged
// predictions, handed back through the blob store, equal a local run's
// byte for byte. With a record that
// cannot be read, the shard holding it exits 3 and is not retried; the
// merge still holds every other record and reckon exits 3.
func TestPredictOnKubeShards(t *testing.T) {
	kubetest.Config(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	csv, _ := filepath.Abs("../../examples/tumor/breast_cancer_wisconsin_clean.csv")
	model := filepath.Join(dir, "m.rkm")
	mustReckonHome(t, home, "train", "tabular", "--data", csv, "--target", "diagnosis", "--positive", "malignant", "--kind", "logistic", "--out", model)
	// The local reference: the same four shards on this machine, merged.
	local := filepath.Join(dir, "local")
	for i := range 4 {
		mustReckonHome(t, home, "predict", "--model", model, "--data", csv, "--out-dir", local, "--shard", fmt.Sprintf("%d/4", i))
	}
	ref := filepath.Join(dir, "ref")
	mustReckonHome(t, home, "predict", "merge", local, "--out-dir", ref)

	failing := filepath.Join(dir, "shard-1-fails")
	cs, ns := kubeHome(t, home, "RECKON_TEST_CRASH_SHARD=2", "RECKON_TEST_CRASH_DIR="+dir, "RECKON_TEST_FAIL_SHARD=1", "RECKON_TEST_FAIL_WHILE="+failing)
	out := filepath.Join(dir, "preds")
	kubeArgs := []string{"--on", "kube", "--image", "reckon:test", "--namespace", ns, "--team", "tumor"}
	stdout := mustReckonHome(t, home, append([]string{"predict", "--shards", "4", "--model", model, "--data", csv, "--out-dir", out}, kubeArgs...)...)
	if !strings.Contains(stdout, "merged 4 shards: 569 records, 569 predicted, 0 failed") {
		t.Errorf("predict --on kube said:\n%s", stdout)
	}
	if got, want := predictionsFile(t, filepath.Join(out, "merged")), predictionsFile(t, ref); string(got) != string(want) {
		t.Errorf("merged predictions differ from the local run's (%d bytes, local %d)", len(got), len(want))
	}
	if n := podsPerShard(t, cs, ns, "j1"); fmt.Sprint(n) != "map[0:1 1:1 2:2 3:1]" {
		t.Errorf("pods per shard %v: want shard 2 run twice (crashed once), the others once", n)
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("shard-%04d-of-0004", i))); err != nil {
			t.Errorf("shard %d: %v", i, err)
		}
	}
	log := mustReckonHome(t, home, "jobs", "logs", "j1")
	if !strings.Contains(log, "panic: made to crash once") || strings.Count(log, "== pod reckon-j1-a1-") != 5 {
		t.Errorf("the job's log lacks the crashed pod's output or a pod:\n%s", log)
	}

	// A record that cannot be read: its shard exits 3, without a retry.
	b, _ := os.ReadFile(csv)
	lines := strings.SplitAfter(string(b), "\n")
	lines[7] = "not,a,record\n"
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)
	out2 := filepath.Join(dir, "preds-bad")
	// (These pods write OUT-DIR themselves, as on a shared volume.)
	stdout, errs, code := reckonHome(t, home, append([]string{"predict", "--shards", "4", "--model", model, "--data", bad, "--out-dir", out2, "--kube-shared-out"}, kubeArgs...)...)
	if code != 3 || !strings.Contains(stdout, "569 records, 568 predicted, 1 failed") {
		t.Errorf("exit %d, want 3 and one failed record:\n%s\n%s", code, stdout, errs)
	}
	n := podsPerShard(t, cs, ns, "j2")
	total := 0
	for _, c := range n {
		total += c
	}
	if len(n) != 4 || total != 4 {
		t.Errorf("pods per shard %v: want each shard once (the exit-3 shard not retried)", n)
	}

	// Shard 1 crashes through its one retry: the job fails; reckon jobs
	// retry --failed runs shard 1 alone, and the merge is whole again.
	os.WriteFile(failing, nil, 0o644)
	out3 := filepath.Join(dir, "preds-retry")
	_, errs, code = reckonHome(t, home, append([]string{"predict", "--shards", "4", "--model", model, "--data", csv, "--out-dir", out3, "--kube-retries", "1"}, kubeArgs...)...)
	if code == 0 || !strings.Contains(errs, "j3 failed") {
		t.Errorf("exit %d, want the job failed:\n%s", code, errs)
	}
	if n := podsPerShard(t, cs, ns, "j3"); n["1"] != 2 {
		t.Errorf("pods per shard %v: want shard 1 run twice", n)
	}
	os.Remove(failing)
	if got := mustReckonHome(t, home, "jobs", "retry", "--failed", "j3"); !strings.Contains(got, "j4 queued for team tumor: shards 1 of j3 again") {
		t.Errorf("jobs retry said %q", got)
	}
	mustReckonHome(t, home, "scheduler", "--executor", "kube", "--image", "reckon:test", "--namespace", ns, "--interval", "100ms", "--exit-when-idle")
	if n := podsPerShard(t, cs, ns, "j4"); fmt.Sprint(n) != "map[0:1]" {
		t.Errorf("the retry's pods per index %v: want one pod", n)
	}
	if got := mustReckonHome(t, home, "predict", "fetch", out3); !strings.Contains(got, "files copied into") {
		t.Errorf("predict fetch said %q", got)
	}
	mustReckonHome(t, home, "predict", "merge", out3, "--out-dir", filepath.Join(out3, "merged"))
	if got, want := predictionsFile(t, filepath.Join(out3, "merged")), predictionsFile(t, ref); string(got) != string(want) {
		t.Errorf("merged predictions after the retry differ from the local run's")
	}
}

// sleeper is "reckon test-sleep": a job that runs until SIGTERM (for the
// cancel test), run by a pod.
func sleeper() {
	if len(os.Args) < 2 || os.Args[1] != "test-sleep" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Println("sleeping until SIGTERM")
	select {
	case <-sig:
		fmt.Println("SIGTERM: stopping")
		os.Exit(143)
	case <-time.After(5 * time.Minute):
		os.Exit(0)
	}
}

// kubeJobs lists the Jobs in ns by name.
func kubeJobs(t *testing.T, cs kubernetes.Interface, ns string) []string {
	t.Helper()
	js, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range js.Items {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names
}

// TestPipelineOnKube (issue 14): the tumor pipeline as a job under
// reckon scheduler --executor kube trains its three candidates as three
// Jobs in parallel, selection after them, with the same train keys and
// registered bytes as reckon run in-process. The scheduler is killed
// (kill -9) while they run and started again: no Job is created twice and
// every job ends once.
func TestPipelineOnKube(t *testing.T) {
	kubetest.Config(t)
	pipe, refKeys, refSHA := fanPipelineRef(t)

	home := filepath.Join(t.TempDir(), "home")
	cs, ns := kubeHome(t, home)
	mustReckonHome(t, home, "jobs", "submit", "-f", pipe, "--cpu", "0.5")
	schedArgs := []string{"--home", home, "scheduler", "--executor", "kube", "--image", "reckon:test", "--namespace", ns, "--interval", "100ms", "--lease-ttl", "2s"}
	var log bytes.Buffer
	s := reckonProcess(t, &log, schedArgs...)
	deadline := time.Now().Add(2 * time.Minute)
	for len(kubeJobs(t, cs, ns)) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s.Process.Kill() // kill -9, while the children's Jobs run
	s.Wait()
	before := kubeJobs(t, cs, ns)
	t.Logf("Jobs when the scheduler was killed: %v", before)
	var log2 bytes.Buffer
	s2 := reckonProcess(t, &log2, append(schedArgs, "--exit-when-idle")...)
	waitIdle(t, s2, &log2, 3*time.Minute)

	want := []string{"reckon-j1-a1", "reckon-j2-a1", "reckon-j3-a1", "reckon-j4-a1"}
	if got := kubeJobs(t, cs, ns); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Jobs %v (before the restart %v), want one per job: %v", got, before, want)
	}
	// The three candidates' Jobs ran side by side: each started before
	// any of them completed.
	js, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lastStart, firstEnd time.Time
	for _, j := range js.Items {
		if j.Name == "reckon-j1-a1" || j.Status.StartTime == nil || j.Status.CompletionTime == nil {
			continue
		}
		if s := j.Status.StartTime.Time; s.After(lastStart) {
			lastStart = s
		}
		if c := j.Status.CompletionTime.Time; firstEnd.IsZero() || c.Before(firstEnd) {
			firstEnd = c
		}
	}
	if lastStart.IsZero() || lastStart.After(firstEnd) {
		t.Errorf("the candidates' Jobs did not overlap: last start %s, first completion %s", lastStart, firstEnd)
	}
	for _, j := range jobsJSON(t, home) {
		if j.State != sched.Succeeded || j.Attempt != 1 {
			t.Errorf("%s (%s): %s attempt %d: %s", j.ID, j.Name, j.State, j.Attempt, j.Message)
		}
	}
	keys, sha := trainKeys(t, home)
	if fmt.Sprint(keys) != fmt.Sprint(refKeys) || sha != refSHA {
		t.Errorf("train keys %v and champion %s; in-process %v and %s", keys, sha, refKeys, refSHA)
	}
	if l := mustReckonHome(t, home, "jobs", "logs", "j1"); !strings.Contains(l, "training logistic, gbdt, shallow as parallel jobs") {
		t.Errorf("the pipeline pod's log:\n%s", l)
	}

	// reckon run --on kube: the same, submitted and waited for (every
	// step cached now), the champion unchanged.
	out := mustReckonHome(t, home, "run", "-f", pipe, "--on", "kube", "--image", "reckon:test", "--namespace", ns)
	if !strings.Contains(out, "j5 (pipeline fan) succeeded on Kubernetes") || !strings.Contains(out, "next: reckon models show fan@champion") {
		t.Errorf("run --on kube said:\n%s", out)
	}
	if got := kubeJobs(t, cs, ns); !slices.Contains(got, "reckon-j5-a1") {
		t.Errorf("Jobs after run --on kube: %v, want the pipeline's (its candidates are cached, so no more)", got)
	}
	if _, sha2 := trainKeys(t, home); sha2 != refSHA {
		t.Errorf("champion after run --on kube: %s, want %s", sha2, refSHA)
	}
}

// TestCancelOnKube (issue 14): reckon jobs cancel of a job running as a
// Job: the Job and its pod are gone within 10 s and the job is cancelled,
// its log kept.
func TestCancelOnKube(t *testing.T) {
	kubetest.Config(t)
	home := filepath.Join(t.TempDir(), "home")
	cs, ns := kubeHome(t, home)
	mustReckonHome(t, home, "jobs", "submit", "--team", "t", "--", "test-sleep")
	var log bytes.Buffer
	s := reckonProcess(t, &log, "--home", home, "scheduler", "--executor", "kube", "--image", "reckon:test", "--namespace", ns, "--interval", "100ms", "--exit-when-idle")
	deadline := time.Now().Add(time.Minute)
	for {
		pods, _ := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running pod:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let it install its SIGTERM handler
	began := time.Now()
	mustReckonHome(t, home, "jobs", "cancel", "j1")
	for {
		pods, _ := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if len(pods.Items) == 0 && len(kubeJobs(t, cs, ns)) == 0 {
			break
		}
		if time.Since(began) > 10*time.Second {
			t.Fatalf("Job or pod still there 10 s after the cancel")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the Job and its pod were gone %s after reckon jobs cancel", time.Since(began).Round(time.Millisecond))
	waitIdle(t, s, &log, time.Minute)
	j := jobsJSON(t, home)[0]
	if j.State != sched.Cancelled {
		t.Errorf("j1 %s: %s", j.State, j.Message)
	}
	if l := mustReckonHome(t, home, "jobs", "logs", "j1"); !strings.Contains(l, "sleeping until SIGTERM") {
		t.Errorf("the cancelled job's log:\n%s", l)
	}
}

// TestKueueOnKube (issue 14): with --kueue the scheduler hands every job
// to the cluster as a suspended Job in its team's LocalQueue (from reckon
// queues export --kueue) and Kueue admits them: team a may not borrow, so
// its second job waits for the first, reckon jobs why --executor kube
// gives Kueue's reason, and once the first is cancelled Kueue starts the
// second.
func TestKueueOnKube(t *testing.T) {
	kubetest.Kueue(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	cs, ns := kubeHome(t, home)
	queues := filepath.Join(dir, "queues.yaml")
	os.WriteFile(queues, []byte(`flavors: [cpu]
teams:
  - name: a
    nominal: {cpu: {cpu: 1}}
    borrowing: {cpu: {cpu: 0}}
  - name: b
    nominal: {cpu: {cpu: 1}}
`), 0o644)
	kubetest.Apply(t, []byte(mustReckonHome(t, home, "queues", "export", "--kueue", "-f", queues, "--namespace", ns, "--cohort", ns)))
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "--team", "a", "--", "test-sleep")
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "--team", "a", "--", "version")
	var log bytes.Buffer
	s := reckonProcess(t, &log, "--home", home, "scheduler", "--queues", queues, "--executor", "kube", "--kueue", "--image", "reckon:test",
		"--namespace", ns, "--interval", "100ms", "--exit-when-idle")
	deadline := time.Now().Add(time.Minute)
	var why string
	for {
		pods, _ := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if len(kubeJobs(t, cs, ns)) == 2 && len(pods.Items) == 1 {
			why = mustReckonHome(t, home, "jobs", "why", "j2", "--executor", "kube", "--namespace", ns)
			if strings.Contains(why, "QuotaReserved=False") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("want j1 running and j2 held by Kueue; why j2: %q\n%s", why, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("why j2: %s", why)
	if !strings.Contains(why, "insufficient") {
		t.Errorf("jobs why j2: %q: want Kueue's reason (insufficient quota)", why)
	}
	mustReckonHome(t, home, "jobs", "cancel", "j1")
	waitIdle(t, s, &log, 2*time.Minute)
	for _, j := range jobsJSON(t, home) {
		want := map[string]sched.State{"j1": sched.Cancelled, "j2": sched.Succeeded}[j.ID]
		if j.State != want {
			t.Errorf("%s %s (%s), want %s", j.ID, j.State, j.Message, want)
		}
	}
}
