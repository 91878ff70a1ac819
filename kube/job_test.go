package kube_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
)

var cfg = kube.Config{Image: "reckon:test", Flavors: map[string]kube.Flavor{"h100": {NodeSelector: map[string]string{"gpu": "h100"}}}}

func TestTrainingJob(t *testing.T) {
	j, err := cfg.Job(sched.Launch{Job: "j12", Attempt: 2, Team: "Tumor", Args: []string{"run", "-f", "p.yaml", "--candidate", "gbdt"},
		Flavor: "h100", Request: sched.Resources{CPU: 3.5, MemoryGB: 16, GPUs: 2}})
	if err != nil {
		t.Fatal(err)
	}
	c := j.Spec.Template.Spec.Containers[0]
	switch {
	case j.Name != "reckon-j12-a2" || j.Namespace != "reckon" || j.Labels[kube.LabelTeam] != "tumor" || j.Labels[kube.LabelJob] != "j12":
		t.Errorf("meta %+v", j.ObjectMeta)
	case j.Spec.CompletionMode != nil || *j.Spec.BackoffLimit != 2:
		t.Errorf("spec %+v", j.Spec)
	case !slices.Equal(c.Args, []string{"run", "-f", "p.yaml", "--candidate", "gbdt"}) || c.Image != "reckon:test" || c.Command[0] != "reckon":
		t.Errorf("container %+v", c)
	case c.Resources.Requests.Cpu().MilliValue() != 3500 || c.Resources.Limits.Memory().Value() != 16<<30 || c.Resources.Limits.Cpu().MilliValue() != 0:
		t.Errorf("resources %+v: want 3.5 CPUs requested (no CPU limit), 16 GiB requested and limited", c.Resources)
	case c.Resources.Limits["nvidia.com/gpu"] != c.Resources.Requests["nvidia.com/gpu"] || c.Resources.Limits.Name("nvidia.com/gpu", "").Value() != 2:
		t.Errorf("GPUs %+v", c.Resources)
	case j.Spec.Template.Spec.NodeSelector["gpu"] != "h100" || j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("pod %+v", j.Spec.Template.Spec)
	case c.EnvFrom[0].SecretRef.Name != "reckon-store":
		t.Errorf("store settings: %+v, want the Secret", c.EnvFrom)
	}
	for _, e := range c.Env {
		if strings.Contains(e.Name, "STORE") || strings.Contains(e.Name, "BLOBS") || strings.Contains(e.Name, "AWS") {
			t.Errorf("store setting %s inlined in the Job", e.Name)
		}
	}
	if r := j.Spec.PodFailurePolicy.Rules; r[len(r)-1].Action != batchv1.PodFailurePolicyActionFailJob || r[len(r)-1].OnExitCodes.Values[0] != 3 {
		t.Errorf("failure policy %+v: exit 3 fails without a retry", r)
	}
}

func TestShardedPredictionIsAnIndexedJob(t *testing.T) {
	args := []string{"predict", "--model", "tumor@champion", "--data", "t.csv", "--out-dir", "preds", "--fan-out", "4"}
	j, err := cfg.Job(sched.Launch{Job: "j3", Attempt: 1, Args: args, Shards: 4, Request: sched.Resources{CPU: 1}})
	if err != nil {
		t.Fatal(err)
	}
	s := j.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 4 || *s.Parallelism != 4 || *s.BackoffLimitPerIndex != 2 || s.BackoffLimit != nil {
		t.Errorf("spec %+v", s)
	}
	want := []string{"predict", "--model", "tumor@champion", "--data", "t.csv", "--out-dir", "preds", "--shards", "4"}
	if got := s.Template.Spec.Containers[0].Args; !slices.Equal(got, want) {
		t.Errorf("args %q, want %q (the shard from JOB_COMPLETION_INDEX)", got, want)
	}
	r := s.PodFailurePolicy.Rules
	if r[0].Action != batchv1.PodFailurePolicyActionIgnore || r[1].Action != batchv1.PodFailurePolicyActionFailIndex || r[1].OnExitCodes.Values[0] != kube.ExitSomeFailed {
		t.Errorf("failure policy %+v: disruptions ignored, exit 3 fails the index", r)
	}
	if _, err := cfg.Job(sched.Launch{Job: "j3", Attempt: 1, Args: []string{"run", "-f", "p"}, Shards: 4}); err == nil {
		t.Error("a sharded job that is not a prediction was accepted")
	}
	if _, err := (kube.Config{}).Job(sched.Launch{Job: "j3", Attempt: 1}); err == nil || !strings.Contains(err.Error(), "no image") {
		t.Errorf("no image: %v", err)
	}
}

// TestJobsPassServerValidation: the real API server (scripts/kube-testenv
// up; KUBECONFIG) accepts both Jobs, validated and defaulted, in a dry
// run. Skipped without a control plane.
func TestJobsPassServerValidation(t *testing.T) {
	cs := kubetest.Clientset(t, "reckon")
	ctx := context.Background()
	for _, l := range []sched.Launch{
		{Job: "j1", Attempt: 1, Team: "tumor", Args: []string{"run", "-f", "p.yaml"}, Flavor: "h100", Request: sched.Resources{CPU: 2, MemoryGB: 4, GPUs: 1}},
		{Job: "j2", Attempt: 1, Args: []string{"predict", "--model", "m", "--data", "d", "--out-dir", "o", "--fan-out", "4"}, Shards: 4},
	} {
		j, err := cfg.Job(l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cs.BatchV1().Jobs("reckon").Create(ctx, j, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
		if err != nil {
			t.Fatalf("%s: the API server refused it: %v", j.Name, err)
		}
		if got.Spec.Template.Spec.Containers[0].TerminationMessagePolicy == "" {
			t.Errorf("%s: not defaulted by the server", j.Name)
		}
	}
}

func TestKueueJobIsSuspendedInItsTeamsQueue(t *testing.T) {
	j, err := kube.Config{Image: "reckon:test", Kueue: true}.Job(sched.Launch{Job: "j1", Attempt: 1, Team: "tumor", Args: []string{"run", "-f", "p.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.Suspend == nil || !*j.Spec.Suspend || j.Labels[kube.LabelQueue] != "tumor" {
		t.Errorf("suspend %v, labels %v: want suspended, queue-name tumor", j.Spec.Suspend, j.Labels)
	}
	if _, ok := j.Spec.Template.Labels[kube.LabelQueue]; ok {
		t.Errorf("pod template labelled with the queue: Kueue would manage the pods as well as the Job")
	}
	if _, err := (kube.Config{Image: "reckon:test", Kueue: true}).Job(sched.Launch{Job: "j1", Attempt: 1}); err == nil {
		t.Error("a job without a team has no LocalQueue: want an error")
	}
}

// TestJobPodsAreRestricted: a namespace enforcing the "restricted" Pod
// Security Standard admits a Job's pod (the API server's PodSecurity
// admission judges it; a Job itself would only be warned about).
func TestJobPodsAreRestricted(t *testing.T) {
	cs := kubetest.Clientset(t, "reckon-restricted")
	ctx := context.Background()
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "reckon-restricted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := cfg
	c.Namespace, c.SameDirs = "reckon-restricted", true
	c.Volumes = []kube.Volume{{Claim: "reckon-jobs", Path: "/var/lib/reckon/jobs"}}
	j, err := c.Job(sched.Launch{Job: "j1", Attempt: 1, Team: "tumor", Args: []string{"run", "-f", "p.yaml"}, Dir: "/var/lib/reckon/jobs"})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "restricted-check", Namespace: c.Namespace}, Spec: j.Spec.Template.Spec}
	if _, err := cs.CoreV1().Pods(c.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("a namespace enforcing the restricted standard refused the pod: %v", err)
	}
	ct := j.Spec.Template.Spec.Containers[0]
	if ct.WorkingDir != "/var/lib/reckon/jobs" || len(ct.VolumeMounts) != 3 || ct.VolumeMounts[2].MountPath != "/var/lib/reckon/jobs" ||
		j.Spec.Template.Spec.Volumes[2].PersistentVolumeClaim.ClaimName != "reckon-jobs" {
		t.Errorf("shared volume: %+v %+v", ct.VolumeMounts, j.Spec.Template.Spec.Volumes)
	}
}

func TestParseVolume(t *testing.T) {
	for _, c := range []struct {
		in  string
		ok  bool
		out kube.Volume
	}{
		{"reckon-jobs:/var/lib/reckon/jobs", true, kube.Volume{Claim: "reckon-jobs", Path: "/var/lib/reckon/jobs"}},
		{"reckon-jobs", false, kube.Volume{}},
		{"reckon-jobs:relative", false, kube.Volume{}},
		{"Jobs_Claim:/x", false, kube.Volume{}},
		{":/x", false, kube.Volume{}},
	} {
		v, err := kube.ParseVolume(c.in)
		if (err == nil) != c.ok || v != c.out {
			t.Errorf("ParseVolume(%q) = %+v, %v", c.in, v, err)
		}
	}
}
