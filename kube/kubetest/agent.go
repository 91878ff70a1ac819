// Package kubetest plays the node for tests against a real API server and
// controller manager without a kubelet (scripts/kube-testenv): Agent
// registers a Node, binds pending pods to it, runs each pod's container as
// a local process with the pod's environment, and writes the pod's phase
// and exit code back, so that the real Job controller decides retries and
// completion. A pod being deleted gets SIGTERM, then SIGKILL after its
// grace period.
package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Options say how an agent runs pods.
type Options struct {
	// Binary maps a container's command[0] to the local program to run
	// (a test binary acting as reckon).
	Binary map[string]string
	// Images maps an image (its name, without the tag) to the local
	// program its entry point is, for containers that give no command.
	Images map[string]string
	// Env comes before the pod's environment. Override replaces the
	// values of variables a container defines (a port of this machine for
	// the pod's fixed one, a local address for a Service's name).
	Env, Override []string
}

// Agent is a fake node that really runs its pods' commands.
type Agent struct {
	cs   kubernetes.Interface
	node string
	opts Options
	// dirs are the local directories standing for volumes: a
	// PersistentVolumeClaim's is shared by every pod that mounts it.
	dirMu    sync.Mutex
	root     string            // the directory under which volumes' directories are made
	claims   map[string]string // namespace/claim -> directory
	pods     corelisters.PodLister
	mu       sync.Mutex
	procs    map[string]*exec.Cmd // pod uid -> its process
	exited   map[string]chan struct{}
	stopping map[string]bool
	logs     map[string]string // namespace/name -> the log file of its container
	done     chan struct{}
}

// Start registers the node and runs the agent until ctx ends. It takes
// the pods of one namespace, so that tests running side by side (each
// package its own process and agent) do not run each other's pods.
func Start(ctx context.Context, cs kubernetes.Interface, node, namespace string, binary map[string]string, env []string) (*Agent, error) {
	return StartWith(ctx, cs, node, namespace, Options{Binary: binary, Env: env})
}

// StartWith is Start with all the options.
func StartWith(ctx context.Context, cs kubernetes.Interface, node, namespace string, o Options) (*Agent, error) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}
	n, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, err = cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	// The API server reads pod logs from the node's kubelet endpoint: the
	// agent serves them, as a kubelet would (the API server does not check
	// a kubelet's certificate unless told to).
	root, err := os.MkdirTemp("", "kubetest-agent-")
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); os.RemoveAll(root) }()
	a := &Agent{cs: cs, node: node, opts: o, root: root, claims: map[string]string{}, procs: map[string]*exec.Cmd{}, exited: map[string]chan struct{}{},
		stopping: map[string]bool{}, logs: map[string]string{}, done: make(chan struct{})}
	srv := httptest.NewTLSServer(http.HandlerFunc(a.serveLog))
	go func() { <-ctx.Done(); srv.Close() }()
	port, err := strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	if err != nil {
		return nil, err
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("1000"), "nvidia.com/gpu": resource.MustParse("8")}
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubetestAgent",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	// Pods are watched, not listed over and over: the agent must not be
	// what loads the API server in a scale test.
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))
	a.pods = f.Core().V1().Pods().Lister()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go a.loop(ctx)
	return a, nil
}

// serveLog is the kubelet's /containerLogs/NAMESPACE/POD/CONTAINER.
func (a *Agent) serveLog(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	path, ok := a.logs[parts[0]+"/"+parts[1]]
	a.mu.Unlock()
	if !ok {
		http.Error(w, "no log for pod "+parts[0]+"/"+parts[1], http.StatusNotFound)
		return
	}
	http.ServeFile(w, r, path)
}

// Done is closed when the agent has stopped.
func (a *Agent) Done() <-chan struct{} { return a.done }

func (a *Agent) loop(ctx context.Context) {
	defer close(a.done)
	for {
		if err := a.sync(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "kubetest agent:", err)
		}
		select {
		case <-ctx.Done():
			a.mu.Lock()
			for _, p := range a.procs {
				p.Process.Kill()
			}
			a.mu.Unlock()
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (a *Agent) sync(ctx context.Context) error {
	pods, err := a.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, p := range pods {
		switch {
		case p.Spec.NodeName == "" && p.DeletionTimestamp == nil:
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: a.node}}
			if err := a.cs.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsConflict(err) {
				return fmt.Errorf("binding %s: %w", p.Name, err)
			}
		case p.Spec.NodeName != a.node:
		case p.DeletionTimestamp != nil:
			a.stop(ctx, p)
		case p.Status.Phase == "" || p.Status.Phase == corev1.PodPending:
			a.mu.Lock()
			_, started := a.procs[string(p.UID)]
			a.mu.Unlock()
			if !started {
				if err := a.run(ctx, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// run starts the pod: its init containers one after another, each to a
// successful end, then its first container, and reports its end.
func (a *Agent) run(ctx context.Context, p *corev1.Pod) error {
	c := p.Spec.Containers[0]
	mounts, err := a.volumes(ctx, p)
	if apierrors.IsNotFound(err) {
		// As a kubelet does: the pod waits for its ConfigMap or Secret.
		return nil
	}
	if err != nil {
		return a.finish(ctx, p, 127, err.Error())
	}
	out, err := os.CreateTemp("", "kubetest-"+p.Name+"-*.log")
	if err != nil {
		return err
	}
	var inits []*exec.Cmd
	for _, ic := range p.Spec.InitContainers {
		cmd, err := a.command(ctx, p, ic, mounts)
		if err != nil {
			out.Close()
			return a.finish(ctx, p, 127, err.Error())
		}
		cmd.Stdout, cmd.Stderr = out, out
		inits = append(inits, cmd)
	}
	cmd, err := a.command(ctx, p, c, mounts)
	if apierrors.IsNotFound(err) {
		out.Close()
		return nil
	}
	if err != nil {
		out.Close()
		return a.finish(ctx, p, 127, err.Error())
	}
	cmd.Stdout, cmd.Stderr = out, out
	for _, ic := range inits {
		if err := ic.Run(); err != nil {
			out.Close()
			return a.finish(ctx, p, 1, "init container: "+err.Error())
		}
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return a.finish(ctx, p, 127, fmt.Sprintf("%s (in %s): %v", cmd.Path, cmd.Dir, err))
	}
	exited := make(chan struct{})
	a.mu.Lock()
	a.procs[string(p.UID)] = cmd
	a.exited[string(p.UID)] = exited
	a.logs[p.Namespace+"/"+p.Name] = out.Name()
	a.mu.Unlock()
	running := p.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	running.Status.StartTime = &metav1.Time{Time: time.Now()}
	running.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	if _, err := a.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, running, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	go func() {
		werr := cmd.Wait()
		out.Close()
		close(exited)
		code := 0
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			code = ee.ExitCode()
			if code < 0 {
				code = 137
			}
		}
		for range 20 { // the status may have moved on meanwhile: read it again
			cur, err := a.cs.CoreV1().Pods(p.Namespace).Get(context.WithoutCancel(ctx), p.Name, metav1.GetOptions{})
			if err != nil {
				return
			}
			if err := a.finish(context.WithoutCancel(ctx), cur, code, ""); err == nil || !apierrors.IsConflict(err) {
				return
			}
		}
	}()
	return nil
}

// command is a container's process: its program (the command, or the
// image's entry point), arguments and environment with $(VAR) references
// expanded as the kubelet expands them, and paths under its volume mounts
// moved to the local directories that stand for the volumes.
func (a *Agent) command(ctx context.Context, p *corev1.Pod, c corev1.Container, mounts map[string]string) (*exec.Cmd, error) {
	env, err := a.environment(ctx, p, c)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	argv := append(slices.Clone(c.Command), c.Args...)
	var bin string
	if len(c.Command) == 0 {
		img := c.Image
		if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
			img = img[:i]
		}
		var ok bool
		if bin, ok = a.opts.Images[img]; !ok {
			return nil, fmt.Errorf("container %s gives no command and the agent knows no entry point of image %s", c.Name, c.Image)
		}
	} else {
		bin = argv[0]
		if b, ok := a.opts.Binary[argv[0]]; ok {
			bin = b
		}
		argv = argv[1:]
	}
	for i, arg := range argv {
		argv[i] = a.remap(expand(arg, vars), c.VolumeMounts, mounts)
	}
	for i, e := range env {
		k, v, _ := strings.Cut(e, "=")
		env[i] = k + "=" + a.remap(v, c.VolumeMounts, mounts)
	}
	cmd := exec.Command(bin, argv...)
	cmd.Dir = a.remap(c.WorkingDir, c.VolumeMounts, mounts)
	for _, o := range a.opts.Override {
		k, _, _ := strings.Cut(o, "=")
		if _, ok := vars[k]; ok {
			env = append(env, o)
		}
	}
	cmd.Env = append(append(os.Environ(), a.opts.Env...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// expand replaces $(NAME) with the variable's value, leaves an unknown
// one as it is and $$ as $, as the kubelet does.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i++
		case strings.HasPrefix(s[i:], "$("):
			end := strings.IndexByte(s[i:], ')')
			if v, ok := vars[s[i+2:i+max(end, 2)]]; end > 2 && ok {
				b.WriteString(v)
				i += end
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// remap moves a path under a volume mount (the whole value, or the value
// of a --flag=PATH) to the volume's local directory, the longest mount
// path first. A path already in one of the agent's directories (a
// server's job directory that a Job's working directory repeats) stays.
func (a *Agent) remap(s string, vms []corev1.VolumeMount, dirs map[string]string) string {
	prefix, path := "", s
	if i := strings.Index(s, "=/"); i > 0 && strings.HasPrefix(s, "-") {
		prefix, path = s[:i+1], s[i+1:]
	}
	if strings.HasPrefix(path, a.root+"/") {
		return s
	}
	best := -1
	for i, m := range vms {
		if _, ok := dirs[m.Name]; ok && (path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")) && (best < 0 || len(m.MountPath) > len(vms[best].MountPath)) {
			best = i
		}
	}
	if best < 0 {
		return s
	}
	return prefix + dirs[vms[best].Name] + strings.TrimPrefix(path, vms[best].MountPath)
}

// volumes makes a local directory for the pod's volumes whose content
// matters: a PersistentVolumeClaim the claim's (shared by every pod that
// mounts it), a ConfigMap one holding its keys as files.
func (a *Agent) volumes(ctx context.Context, p *corev1.Pod) (map[string]string, error) {
	dirs := map[string]string{}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			key := p.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
			a.dirMu.Lock()
			d, ok := a.claims[key]
			if !ok {
				var err error
				if d, err = os.MkdirTemp(a.root, "pvc-"+v.PersistentVolumeClaim.ClaimName+"-"); err != nil {
					a.dirMu.Unlock()
					return nil, err
				}
				a.claims[key] = d
			}
			a.dirMu.Unlock()
			dirs[v.Name] = d
		case v.ConfigMap != nil:
			cm, err := a.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("volume %s: configmap %s: %w", v.Name, v.ConfigMap.Name, err)
			}
			d, err := os.MkdirTemp(a.root, "cm-"+v.ConfigMap.Name+"-")
			if err != nil {
				return nil, err
			}
			for k, data := range cm.Data {
				if err := os.WriteFile(filepath.Join(d, k), []byte(data), 0o644); err != nil {
					return nil, err
				}
			}
			dirs[v.Name] = d
		}
		// An emptyDir (and the rest) stays this machine's own path: the
		// processes share /tmp as they share everything else, and tests
		// hand pods paths in it.

	}
	return dirs, nil
}

func (a *Agent) finish(ctx context.Context, p *corev1.Pod, code int, msg string) error {
	p = p.DeepCopy()
	p.Status.Phase = corev1.PodSucceeded
	reason := "Completed"
	if code != 0 {
		p.Status.Phase, reason = corev1.PodFailed, "Error"
	}
	c := p.Spec.Containers[0]
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, Message: msg, FinishedAt: metav1.Now()}}}}
	_, err := a.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// stop ends a deleted pod's process (SIGTERM, SIGKILL after the grace
// period) and then removes the pod, as a kubelet would: the pod is gone
// only once its process is.
func (a *Agent) stop(ctx context.Context, p *corev1.Pod) {
	uid := string(p.UID)
	a.mu.Lock()
	cmd, exited, busy := a.procs[uid], a.exited[uid], a.stopping[uid]
	a.stopping[uid] = true
	a.mu.Unlock()
	if busy {
		return
	}
	go func() {
		if cmd != nil {
			select {
			case <-exited:
			default:
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				grace := 30 * time.Second
				if p.DeletionGracePeriodSeconds != nil {
					grace = time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
				}
				select {
				case <-exited:
				case <-time.After(grace):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
			}
		}
		zero := int64(0)
		a.cs.CoreV1().Pods(p.Namespace).Delete(context.WithoutCancel(ctx), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
			Preconditions: &metav1.Preconditions{UID: &p.UID}})
	}()
}

// environment resolves the container's env: values, the downward API
// fields reckon's Jobs use (the completion index annotation, the pod's
// name and namespace) and envFrom Secrets.
func (a *Agent) environment(ctx context.Context, p *corev1.Pod, c corev1.Container) ([]string, error) {
	var env []string
	for _, ef := range c.EnvFrom {
		if ef.SecretRef == nil {
			continue
		}
		s, err := a.cs.CoreV1().Secrets(p.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			if ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
				continue
			}
			return nil, fmt.Errorf("pod %s: secret %s: %w", p.Name, ef.SecretRef.Name, err)
		}
		for k, v := range s.Data {
			env = append(env, k+"="+string(v))
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			s, err := a.cs.CoreV1().Secrets(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("pod %s: env %s: secret %s: %w", p.Name, e.Name, ref.Name, err)
			}
			b, ok := s.Data[ref.Key]
			if !ok {
				return nil, fmt.Errorf("pod %s: env %s: secret %s has no key %s", p.Name, e.Name, ref.Name, ref.Key)
			}
			v = string(b)
		}
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			path := e.ValueFrom.FieldRef.FieldPath
			switch {
			case path == "metadata.name":
				v = p.Name
			case path == "metadata.namespace":
				v = p.Namespace
			case strings.HasPrefix(path, "metadata.annotations['"):
				v = p.Annotations[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.annotations['"), "']")]
			case strings.HasPrefix(path, "metadata.labels['"):
				v = p.Labels[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.labels['"), "']")]
			}
		}
		env = append(env, e.Name+"="+v)
	}
	return env, nil
}
