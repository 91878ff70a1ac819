// Package kube is reckon's Kubernetes back end for the scheduler: each
// attempt of a job becomes a batch/v1 Job (an Indexed Job for a sharded
// batch prediction, one index per shard), running the reckon image with
// the store and blob settings from a Secret.
//
// This file builds the Jobs, a pure function of the attempt and the
// configuration; the executor that creates and watches them is the next
// slice (issue 14).
package kube

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/reckon-ml/reckon/sched"
)

// Flavor is how a resource flavor of queues.yaml maps onto nodes.
type Flavor struct {
	// NodeSelector picks the flavor's nodes (e.g. a GPU model label).
	NodeSelector map[string]string `json:"node_selector,omitempty"`
	// GPUResource is the extended resource its GPUs are (default
	// nvidia.com/gpu).
	GPUResource string `json:"gpu_resource,omitempty"`
	// Tolerations let the pods onto tainted GPU nodes.
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// Config says where and how jobs run.
type Config struct {
	// Namespace holds the Jobs (default "reckon"); teams are labels.
	Namespace string
	// Image is the reckon image; Command its reckon binary (default
	// ["reckon"]).
	Image   string
	Command []string
	// Secret holds the store and blob settings (RECKON_STORE,
	// RECKON_BLOBS, AWS_ACCESS_KEY_ID, ...), given to the pods as their
	// environment: never inlined in a Job (default "reckon-store").
	Secret string
	// Flavors map flavors to nodes; a flavor absent here runs anywhere.
	Flavors map[string]Flavor
	// Retries is how often a crashed pod (or shard) is run again
	// (default 2); exit status 3, some records failed and recorded in
	// the errors file, is never retried.
	Retries int32
	// MaxFailedShards fails a sharded job once more shards than this
	// have failed (default: no limit, every shard is tried).
	MaxFailedShards *int32
	// Grace is SIGTERM's head start on SIGKILL when a pod is stopped
	// (default 30 s).
	Grace          time.Duration
	ServiceAccount string
	// SameDirs starts each pod in the directory its job was submitted
	// from, for clusters whose nodes share that path (an NFS home): then
	// relative paths in a job's arguments mean what they meant to its
	// submitter. Otherwise pods start in the image's directory and paths
	// must be absolute.
	SameDirs bool
	// Volumes are PersistentVolumeClaims mounted into every pod, e.g.
	// the server's directory of submitted pipelines (reckon server
	// --job-dir) with SameDirs, so a pipeline's relative paths resolve in
	// the pod as they did on the server.
	Volumes []Volume
	// Kueue leaves admission to the cluster's Kueue: Jobs are created
	// suspended, labelled with their team's LocalQueue (named after the
	// team, as reckon queues export --kueue writes it), and Kueue unsuspends
	// each when its ClusterQueue has the quota.
	Kueue bool
}

// Volume is a PersistentVolumeClaim mounted at Path.
type Volume struct {
	Claim, Path string
}

// ParseVolume reads CLAIM:PATH (reckon scheduler --kube-volume).
func ParseVolume(s string) (Volume, error) {
	claim, path, ok := strings.Cut(s, ":")
	if !ok || claim == "" || !strings.HasPrefix(path, "/") || dns.MatchString(claim) {
		return Volume{}, fmt.Errorf("volume %q: want CLAIM:/ABSOLUTE/PATH, CLAIM a PersistentVolumeClaim's name", s)
	}
	return Volume{Claim: claim, Path: path}, nil
}

// Home is where the image's user (oci.UID) keeps its files; with the root
// filesystem read-only, it and /tmp are emptyDir volumes.
const Home = "/home/reckon"

// restricted are the pod and container security settings the "restricted"
// Pod Security Standard demands
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
// with the root filesystem read-only: a namespace that enforces it admits
// reckon's pods.
func restricted() (*corev1.PodSecurityContext, *corev1.SecurityContext) {
	yes, no, uid := true, false, int64(65532)
	seccomp := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	return &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid, SeccompProfile: seccomp},
		&corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes, RunAsNonRoot: &yes,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: seccomp}
}

// LabelQueue is the label naming a Job's Kueue LocalQueue.
const LabelQueue = "kueue.x-k8s.io/queue-name"

// Labels on every Job and pod reckon makes.
const (
	LabelManaged = "app.kubernetes.io/managed-by"
	LabelJob     = "reckon.dev/job"
	LabelAttempt = "reckon.dev/attempt"
	LabelTeam    = "reckon.dev/team"
	// ExitSomeFailed is reckon predict's exit status when some records
	// failed (they are in the errors file): a result, not a crash.
	ExitSomeFailed = 3
)

func (c Config) withDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = "reckon"
	}
	if len(c.Command) == 0 {
		c.Command = []string{"reckon"}
	}
	if c.Secret == "" {
		c.Secret = "reckon-store"
	}
	if c.Retries == 0 {
		c.Retries = 2
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	return c
}

var dns = regexp.MustCompile(`[^a-z0-9-]+`)

// Name is the Job of an attempt: reckon-JOB-aN, so a restarted scheduler
// finds it again and a second create of the same attempt is refused by
// the API server.
func Name(job string, attempt int) string {
	return "reckon-" + strings.Trim(dns.ReplaceAllString(strings.ToLower(job), "-"), "-") + "-a" + strconv.Itoa(attempt)
}

// Job is the batch/v1 Job of attempt l. A sharded prediction (l.Shards >
// 1, its arguments carrying the fan-out flag) becomes an Indexed Job with
// one completion per shard, each pod reading its shard from
// JOB_COMPLETION_INDEX (reckon predict --shards N); a crash retries that
// index alone, exit status 3 fails it without a retry.
func (c Config) Job(l sched.Launch) (*batchv1.Job, error) {
	c = c.withDefaults()
	if c.Image == "" {
		return nil, fmt.Errorf("kube: no image: give the reckon image to run")
	}
	if l.Job == "" || l.Attempt < 1 {
		return nil, fmt.Errorf("kube: bad attempt %q/%d", l.Job, l.Attempt)
	}
	args := slices.Clone(l.Args)
	shards := 0
	if l.Shards > 1 {
		var err error
		if args, shards, err = shardArgs(args); err != nil {
			return nil, err
		}
	}
	labels := map[string]string{LabelManaged: "reckon", LabelJob: l.Job, LabelAttempt: strconv.Itoa(l.Attempt)}
	if l.Team != "" {
		labels[LabelTeam] = dns.ReplaceAllString(strings.ToLower(l.Team), "-")
	}
	res, err := resources(l.Request, c.Flavors[l.Flavor])
	if err != nil {
		return nil, err
	}
	env := []corev1.EnvVar{{Name: "RECKON_JOB", Value: l.Job}, {Name: "RECKON_ATTEMPT", Value: strconv.Itoa(l.Attempt)}}
	if l.Request.CPU > 0 {
		env = append(env, corev1.EnvVar{Name: "GOMAXPROCS", Value: strconv.Itoa(int(math.Ceil(l.Request.CPU)))})
	}
	grace := int64(c.Grace.Seconds())
	f := c.Flavors[l.Flavor]
	podSec, sec := restricted()
	// A job's pod needs no Kubernetes API: no token in it, unless a
	// service account is asked for.
	automount := c.ServiceAccount != ""
	vols := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "home", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	mounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "home", MountPath: Home}}
	for i, v := range c.Volumes {
		name := "shared-" + strconv.Itoa(i)
		vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.Claim}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: v.Path})
	}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			ServiceAccountName:            c.ServiceAccount,
			AutomountServiceAccountToken:  &automount,
			SecurityContext:               podSec,
			NodeSelector:                  f.NodeSelector,
			Tolerations:                   f.Tolerations,
			Volumes:                       vols,
			Containers: []corev1.Container{{
				Name:            "reckon",
				Image:           c.Image,
				Command:         c.Command,
				Args:            args,
				Env:             env,
				EnvFrom:         []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: c.Secret}}}},
				Resources:       res,
				SecurityContext: sec,
				VolumeMounts:    mounts,
			}},
		},
	}
	// Exit status 3 is a result (some records failed, recorded): no
	// retry. A pod stopped by the cluster (preemption, drain) does not
	// count against the retries.
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
	}}
	j := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: Name(l.Job, l.Attempt), Namespace: c.Namespace, Labels: maps.Clone(labels)},
		Spec: batchv1.JobSpec{
			Template:         pod,
			PodFailurePolicy: policy,
		},
	}
	if c.SameDirs {
		pod.Spec.Containers[0].WorkingDir = l.Dir
	}
	if c.Kueue {
		if l.Team == "" {
			return nil, fmt.Errorf("kube: job %s has no team, so no Kueue LocalQueue", l.Job)
		}
		suspend := true
		j.Spec.Suspend = &suspend
		j.Labels[LabelQueue] = l.Team
	}
	if shards > 1 {
		n := int32(shards)
		if _, only, _ := sched.SplitIndexes(args); len(only) > 0 {
			n = int32(len(only)) // a retry of some shards: index k runs the k-th of them
		}
		mode := batchv1.IndexedCompletion
		j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Parallelism = &mode, &n, &n
		j.Spec.BackoffLimitPerIndex = &c.Retries
		j.Spec.MaxFailedIndexes = c.MaxFailedShards
		policy.Rules = append(policy.Rules, batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailIndex,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitSomeFailed}}})
	} else {
		j.Spec.BackoffLimit = &c.Retries
		policy.Rules = append(policy.Rules, batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitSomeFailed}}})
	}
	return j, nil
}

// shardArgs turns a sharded prediction's arguments (reckon predict ...
// --fan-out N, as reckon jobs submit --predict --shards N writes them)
// into those of one Indexed Job pod: --shards N, the index from
// JOB_COMPLETION_INDEX.
func shardArgs(args []string) ([]string, int, error) {
	out, n := sched.SplitShards(args)
	if len(out) == 0 || out[0] != "predict" || n < 2 {
		return nil, 0, fmt.Errorf("kube: a sharded job must be reckon predict ... %s N (N >= 2), got %q", sched.ShardFlag, args)
	}
	if _, only, err := sched.SplitIndexes(out); err != nil {
		return nil, 0, err
	} else if i := slices.IndexFunc(only, func(i int) bool { return i >= n }); i >= 0 {
		return nil, 0, fmt.Errorf("kube: %s: shard %d of %d does not exist", sched.IndexesFlag, only[i], n)
	}
	return append(out, "--shards", strconv.Itoa(n)), n, nil
}

// resources maps a request onto requests and limits: CPU and memory are
// requested (memory also its limit, so a pod that outgrows it is stopped
// rather than starving its neighbours); GPUs, an extended resource, are
// requested and limited alike, as Kubernetes requires.
func resources(r sched.Resources, f Flavor) (corev1.ResourceRequirements, error) {
	if r.CPU < 0 || r.MemoryGB < 0 || r.GPUs < 0 {
		return corev1.ResourceRequirements{}, fmt.Errorf("kube: negative request %+v", r)
	}
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	if r.CPU > 0 {
		req[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Ceil(r.CPU*1000)), resource.DecimalSI)
	}
	if r.MemoryGB > 0 {
		q := *resource.NewQuantity(int64(math.Ceil(r.MemoryGB*(1<<30))), resource.BinarySI)
		req[corev1.ResourceMemory], lim[corev1.ResourceMemory] = q, q
	}
	if r.GPUs > 0 {
		name := corev1.ResourceName(f.GPUResource)
		if name == "" {
			name = "nvidia.com/gpu"
		}
		q := *resource.NewQuantity(int64(r.GPUs), resource.DecimalSI)
		req[name], lim[name] = q, q
	}
	out := corev1.ResourceRequirements{}
	if len(req) > 0 {
		out.Requests = req
	}
	if len(lim) > 0 {
		out.Limits = lim
	}
	return out, nil
}
