package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/reckon-ml/reckon/sched"
)

// Executor runs attempts as Jobs (sched.Executor). It watches the Jobs,
// pods and tombstones it made through informers, so Status and Logs'
// choice of pods are answered from a cache kept current by one watch per
// kind, not by polling the API server: the API calls it makes per job are
// its create, a log read per pod when the attempt's log is kept, and on
// cancel a tombstone and a delete (see Calls).
//
// A cancelled attempt's Job is deleted with its pods (foreground
// propagation); what the scheduler must still learn of it afterwards
// (that it was cancelled, the tail of its log) is left in a ConfigMap of
// the attempt's name, the tombstone, which also stops a restarted
// scheduler from creating the Job again.
type Executor struct {
	cs     *client
	dyn    dynamic.Interface
	cfg    Config
	jobs   batchlisters.JobNamespaceLister
	pods   corelisters.PodNamespaceLister
	tombs  corelisters.ConfigMapNamespaceLister
	stop   chan struct{}
	calls  *Calls
	mu     sync.Mutex
	issued map[string]bool // Jobs this executor created, until the cache has them
	gone   map[string]bool // Jobs it deleted, until the cache has their tombstones
}

// Calls counts the requests an executor made to the API server, by verb
// (the scale test reports them per job).
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// Snapshot is the count by verb: list, watch, get, create, delete, patch,
// logs.
func (c *Calls) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

type counting struct {
	next  http.RoundTripper
	calls *Calls
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.mu.Lock()
	c.calls.n[verb(r)]++
	c.calls.mu.Unlock()
	return c.next.RoundTrip(r)
}

// verb names a request as the API server would: a GET of a collection
// (/api/v1/namespaces/NS/pods, /apis/batch/v1/namespaces/NS/jobs) is a
// list, of one object a get, of a pod's log logs.
func verb(r *http.Request) string {
	if v := map[string]string{http.MethodPost: "create", http.MethodDelete: "delete", http.MethodPatch: "patch", http.MethodPut: "update"}[r.Method]; v != "" {
		return v
	}
	if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
		return "watch"
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		seg = seg[2:] // api, v1
	case len(seg) >= 3 && seg[0] == "apis":
		seg = seg[3:] // apis, group, version
	}
	if len(seg) >= 3 && seg[0] == "namespaces" {
		seg = seg[2:]
	}
	switch {
	case len(seg) <= 1:
		return "list"
	case seg[len(seg)-1] == "log":
		return "logs"
	}
	return "get"
}

// Tombstone annotations and data keys.
const (
	annotationCancelled = "reckon.dev/cancelled"
	keyExit             = "exit"
	keyMessage          = "message"
	keyLog              = "log"
	// tombstoneLog is how much of a cancelled attempt's log is kept: a
	// ConfigMap holds at most 1 MiB.
	tombstoneLog = 512 << 10
)

// New connects to the cluster rc names and starts watching cfg.Namespace.
// It checks that the namespace and the store Secret exist, so a missing
// one is an error now rather than pods that never start.
func New(ctx context.Context, rc *rest.Config, cfg Config) (*Executor, error) {
	cfg = cfg.withDefaults()
	if cfg.Image == "" {
		return nil, errors.New("kube: no image: give the reckon image the pods run (--image)")
	}
	calls := &Calls{n: map[string]int{}}
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return counting{next: rt, calls: calls} })
	// The client's default limits (5 requests/s, bursts of 10) would
	// throttle a scheduler starting hundreds of Jobs in a round.
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 100, 200
	}
	cs, err := newClient(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if err := cs.get(ctx, cfg.Namespace, "secrets", cfg.Secret, &corev1.Secret{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("kube: the store Secret %q is missing in namespace %q: create it with the pods' settings, e.g. "+
				"kubectl -n %s create secret generic %s --from-literal=RECKON_STORE=postgres://USER@HOST/DB --from-literal=RECKON_BLOBS=s3://BUCKET",
				cfg.Secret, cfg.Namespace, cfg.Namespace, cfg.Secret)
		}
		return nil, fmt.Errorf("kube: reading the store Secret %s/%s: %w", cfg.Namespace, cfg.Secret, err)
	}
	selector := LabelManaged + "=reckon"
	jobs := cs.informer(cfg.Namespace, "jobs", selector, &batchv1.Job{}, func() runtime.Object { return &batchv1.JobList{} })
	pods := cs.informer(cfg.Namespace, "pods", selector, &corev1.Pod{}, func() runtime.Object { return &corev1.PodList{} })
	tombs := cs.informer(cfg.Namespace, "configmaps", selector, &corev1.ConfigMap{}, func() runtime.Object { return &corev1.ConfigMapList{} })
	e := &Executor{cs: cs, dyn: dyn, cfg: cfg, stop: make(chan struct{}), calls: calls, issued: map[string]bool{}, gone: map[string]bool{},
		jobs:  batchlisters.NewJobLister(jobs.GetIndexer()).Jobs(cfg.Namespace),
		pods:  corelisters.NewPodLister(pods.GetIndexer()).Pods(cfg.Namespace),
		tombs: corelisters.NewConfigMapLister(tombs.GetIndexer()).ConfigMaps(cfg.Namespace)}
	for _, inf := range []cache.SharedIndexInformer{jobs, pods, tombs} {
		go inf.Run(e.stop)
	}
	if !cache.WaitForCacheSync(ctxDone(ctx, e.stop), jobs.HasSynced, pods.HasSynced, tombs.HasSynced) {
		e.Close()
		return nil, fmt.Errorf("kube: watching Jobs, pods and ConfigMaps in namespace %s did not start: %w", cfg.Namespace, context.Cause(ctx))
	}
	return e, nil
}

// ctxDone is a channel closed when ctx ends or stop is closed.
func ctxDone(ctx context.Context, stop <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		select {
		case <-ctx.Done():
		case <-stop:
		}
	}()
	return ch
}

// Close stops watching.
func (e *Executor) Close() error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	return nil
}

// Calls are the API requests this executor made so far.
func (e *Executor) Calls() map[string]int { return e.calls.Snapshot() }

// Start creates the attempt's Job. The API server refuses a second Job of
// the same name, so no attempt starts twice, whoever asks; a cancelled
// one, whose Job is gone, is known by its tombstone.
func (e *Executor) Start(ctx context.Context, l sched.Launch) error {
	j, err := e.cfg.Job(l)
	if err != nil {
		return err
	}
	if _, err := e.tombs.Get(j.Name); err == nil {
		return sched.ErrStarted
	}
	e.mu.Lock()
	e.issued[j.Name] = true
	e.mu.Unlock()
	err = e.cs.create(ctx, e.cfg.Namespace, "jobs", j, &batchv1.Job{})
	if apierrors.IsAlreadyExists(err) {
		return sched.ErrStarted
	}
	if err != nil {
		e.mu.Lock()
		delete(e.issued, j.Name)
		e.mu.Unlock()
		return fmt.Errorf("kube: creating Job %s/%s: %w", e.cfg.Namespace, j.Name, err)
	}
	return nil
}

// Status reads the attempt's Job from the cache: running until the Job
// has completed or failed (or, cancelled, until it and its pods are gone).
func (e *Executor) Status(_ context.Context, job string, attempt int) (sched.Status, error) {
	name := Name(job, attempt)
	j, err := e.jobs.Get(name)
	if apierrors.IsNotFound(err) {
		if t, err := e.tombs.Get(name); err == nil {
			return tombstoneStatus(t), nil
		}
		e.mu.Lock()
		issued, gone := e.issued[name], e.gone[name]
		e.mu.Unlock()
		switch {
		case gone: // deleted by Cancel; the tombstone is on its way
			return sched.Status{Phase: sched.PhaseExited, Exit: 143, Cancelled: true, Message: "cancelled: the Job was deleted"}, nil
		case issued: // created; the watch has not brought it yet
			return sched.Status{Phase: sched.PhaseRunning}, nil
		}
		return sched.Status{Phase: sched.PhaseUnknown}, nil
	}
	if err != nil {
		return sched.Status{}, err
	}
	e.mu.Lock()
	delete(e.issued, name)
	e.mu.Unlock()
	if j.DeletionTimestamp != nil {
		return sched.Status{Phase: sched.PhaseRunning, Message: "stopping"}, nil
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend && !condition(j, batchv1.JobComplete) && !condition(j, batchv1.JobFailed) {
		return sched.Status{Phase: sched.PhaseRunning, Message: "suspended: waiting for Kueue to admit it (reckon jobs why)"}, nil
	}
	switch {
	case condition(j, batchv1.JobComplete):
		return sched.Status{Phase: sched.PhaseExited}, nil
	case condition(j, batchv1.JobFailed):
		return e.failed(j), nil
	}
	return sched.Status{Phase: sched.PhaseRunning}, nil
}

func condition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// failed is the status of a failed Job: the exit status of the pod that
// failed it (for a sharded job, 3 when every failed shard exited 3, i.e.
// only records failed), and which shards failed.
func (e *Executor) failed(j *batchv1.Job) sched.Status {
	st := sched.Status{Phase: sched.PhaseExited, Exit: 1}
	var why string
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			why = strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	pods := e.attemptPods(j)
	last := map[int]int{} // index (-1 unindexed) -> exit status of its latest failed pod
	for _, p := range pods {
		if code, ok := exitCode(p); ok && code != 0 {
			last[index(p)] = code
		}
	}
	if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
		failed := ""
		if j.Status.FailedIndexes != nil {
			failed = *j.Status.FailedIndexes
		}
		st.Exit = ExitSomeFailed
		for _, s := range strings.Split(failed, ",") {
			if i, err := strconv.Atoi(s); err == nil && last[i] != ExitSomeFailed {
				st.Exit = 1
			}
		}
		if failed == "" {
			st.Exit = 1
		}
		st.Message = fmt.Sprintf("shards %s failed (%s)", failed, why)
		return st
	}
	if code, ok := last[-1]; ok {
		st.Exit = code
	}
	st.Message = why
	return st
}

// attemptPods are the Job's pods, by index and then age.
func (e *Executor) attemptPods(j *batchv1.Job) []*corev1.Pod {
	sel := labels.SelectorFromSet(labels.Set{LabelJob: j.Labels[LabelJob], LabelAttempt: j.Labels[LabelAttempt]})
	pods, _ := e.pods.List(sel)
	sort.Slice(pods, func(a, b int) bool {
		if ia, ib := index(pods[a]), index(pods[b]); ia != ib {
			return ia < ib
		}
		return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp)
	})
	return pods
}

func index(p *corev1.Pod) int {
	if s, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]; ok {
		if i, err := strconv.Atoi(s); err == nil {
			return i
		}
	}
	return -1
}

func exitCode(p *corev1.Pod) (int, bool) {
	for _, c := range p.Status.ContainerStatuses {
		if t := c.State.Terminated; t != nil {
			return int(t.ExitCode), true
		}
	}
	return 0, false
}

func tombstoneStatus(t *corev1.ConfigMap) sched.Status {
	code, err := strconv.Atoi(t.Data[keyExit])
	if err != nil || code == 0 {
		code = 143 // 128 + SIGTERM
	}
	return sched.Status{Phase: sched.PhaseExited, Exit: code, Cancelled: true, Message: t.Data[keyMessage]}
}

// Cancel keeps the attempt's tombstone (its log so far included), then
// deletes its Job with foreground propagation: the garbage collector
// deletes the pods (SIGTERM, SIGKILL after the Job's grace period) and
// then the Job. Status reports the attempt running until both are gone.
func (e *Executor) Cancel(ctx context.Context, job string, attempt int) error {
	name := Name(job, attempt)
	j, err := e.jobs.Get(name)
	if apierrors.IsNotFound(err) {
		// Just created, the watch may not have brought it yet: ask.
		j = &batchv1.Job{}
		err = e.cs.get(ctx, e.cfg.Namespace, "jobs", name, j)
	}
	if apierrors.IsNotFound(err) {
		return nil // never started, or already gone
	}
	if err != nil {
		return err
	}
	if j.DeletionTimestamp != nil || condition(j, batchv1.JobComplete) || condition(j, batchv1.JobFailed) {
		return nil
	}
	if _, err := e.tombs.Get(name); apierrors.IsNotFound(err) {
		var log bytes.Buffer
		e.writeLogs(ctx, &log, j)
		b := log.Bytes()
		if len(b) > tombstoneLog {
			b = b[len(b)-tombstoneLog:]
		}
		t := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.cfg.Namespace, Labels: j.Labels,
				Annotations: map[string]string{annotationCancelled: time.Now().UTC().Format(time.RFC3339)}},
			Data: map[string]string{keyExit: "143", keyMessage: "cancelled: the Job and its pods were deleted", keyLog: string(b)},
		}
		if err := e.cs.create(ctx, e.cfg.Namespace, "configmaps", t, &corev1.ConfigMap{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("kube: keeping the cancelled attempt's record %s: %w", name, err)
		}
	}
	e.mu.Lock()
	e.gone[name] = true
	e.mu.Unlock()
	fg := metav1.DeletePropagationForeground
	err = e.cs.delete(ctx, e.cfg.Namespace, "jobs", name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube: deleting Job %s: %w", name, err)
	}
	return nil
}

// Logs reads the logs of the attempt's pods through the API server (the
// kubelets keep them), each pod's under a header when there are several
// (a sharded job, a retried pod); a cancelled attempt's come from its
// tombstone.
func (e *Executor) Logs(ctx context.Context, job string, attempt int) (io.ReadCloser, error) {
	name := Name(job, attempt)
	var out bytes.Buffer
	j, err := e.jobs.Get(name)
	switch {
	case err == nil && len(e.attemptPods(j)) > 0:
		e.writeLogs(ctx, &out, j)
	default:
		t, terr := e.tombs.Get(name)
		if terr != nil {
			if err != nil {
				return nil, fmt.Errorf("kube: no Job %s in namespace %s", name, e.cfg.Namespace)
			}
			break // started, no pod yet
		}
		out.WriteString(t.Data[keyLog])
	}
	return io.NopCloser(&out), nil
}

func (e *Executor) writeLogs(ctx context.Context, w *bytes.Buffer, j *batchv1.Job) {
	pods := e.attemptPods(j)
	for _, p := range pods {
		if len(pods) > 1 {
			head := "== pod " + p.Name
			if i := index(p); i >= 0 {
				head += " (shard " + strconv.Itoa(i) + ")"
			}
			if code, ok := exitCode(p); ok {
				head += ": exit " + strconv.Itoa(code)
			}
			fmt.Fprintln(w, head+" ==")
		}
		if p.Status.Phase == corev1.PodPending || p.Status.Phase == "" {
			continue
		}
		b, err := e.cs.podLog(ctx, p.Namespace, p.Name, "reckon")
		if err != nil {
			fmt.Fprintf(w, "(the log of pod %s could not be read: %v)\n", p.Name, err)
			continue
		}
		w.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			w.WriteByte('\n')
		}
	}
}

var _ sched.Executor = (*Executor)(nil)

// Connect finds the cluster: the kubeconfig file given, else $KUBECONFIG
// or ~/.kube/config (kubectl's rules, current context), else the pod's
// service account when running inside the cluster.
func Connect(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err == nil {
		return rc, nil
	}
	if kubeconfig == "" {
		if in, ierr := rest.InClusterConfig(); ierr == nil {
			return in, nil
		}
	}
	return nil, fmt.Errorf("kube: no cluster to talk to (%v): give --kubeconfig FILE or set $KUBECONFIG", err)
}

// Workloads is Kueue's resource of admission requests, one per Job.
var Workloads = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloads"}

// Why says where the attempt's Job stands with Kueue: the conditions of
// the Workload Kueue made for it (QuotaReserved, Admitted, Evicted,
// Finished, with Kueue's own message, e.g. which quota is short), or ""
// when the Job is not under Kueue.
// suspended says whether the Job still waits for Kueue to admit it.
func (e *Executor) Why(ctx context.Context, job string, attempt int) (text string, suspended bool, err error) {
	name := Name(job, attempt)
	j, err := e.jobs.Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	if j.Labels[LabelQueue] == "" {
		return "", false, nil
	}
	suspended = j.Spec.Suspend != nil && *j.Spec.Suspend
	list, err := e.dyn.Resource(Workloads).Namespace(e.cfg.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", suspended, fmt.Errorf("kube: reading Kueue's Workloads: %w", err)
	}
	for _, w := range list.Items {
		owned := slices.ContainsFunc(w.GetOwnerReferences(), func(o metav1.OwnerReference) bool { return o.UID == j.UID })
		if !owned {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(w.Object, "status", "conditions")
		var parts []string
		for _, c := range conds {
			m, _ := c.(map[string]any)
			part := fmt.Sprintf("%v=%v", m["type"], m["status"])
			if r, _ := m["reason"].(string); r != "" {
				part += " (" + r + ")"
			}
			if msg, _ := m["message"].(string); msg != "" {
				part += ": " + msg
			}
			parts = append(parts, part)
		}
		if len(parts) == 0 {
			parts = append(parts, "no conditions yet: Kueue has not looked at it")
		}
		return fmt.Sprintf("Kueue Workload %s in LocalQueue %s: %s", w.GetName(), j.Labels[LabelQueue], strings.Join(parts, "; ")), suspended, nil
	}
	return fmt.Sprintf("Job %s waits in LocalQueue %s, but Kueue has made no Workload for it: is Kueue running, and does the LocalQueue exist (reckon queues export --kueue | kubectl apply -f -)?", name, j.Labels[LabelQueue]), suspended, nil
}
