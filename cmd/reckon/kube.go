package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
)

// kubeFlags say which cluster, namespace and image the Kubernetes executor
// uses: reckon scheduler --executor kube, and the --on kube shorthands.
type kubeFlags struct {
	kubeconfig string
	namespace  string
	image      string
	secret     string
	retries    int32
	grace      time.Duration
	sameDirs   bool
	kueue      bool
	volumes    []string
}

func (k *kubeFlags) add(f *pflag.FlagSet) {
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "kube: the cluster's kubeconfig (default $KUBECONFIG, ~/.kube/config, or the pod's service account)")
	f.StringVar(&k.namespace, "namespace", "reckon", "kube: the namespace of the Jobs (teams are labels on them)")
	f.StringVar(&k.image, "image", os.Getenv("RECKON_IMAGE"), "kube: the reckon image the pods run ($RECKON_IMAGE; in a pod with $POD_NAME, default the image it runs)")
	f.StringVar(&k.secret, "kube-secret", "reckon-store", "kube: the Secret holding the pods' store and blob settings (RECKON_STORE, RECKON_BLOBS, AWS_*)")
	f.Int32Var(&k.retries, "kube-retries", 2, "kube: how often a crashed pod (or shard) runs again; exit status 3 is never retried")
	f.BoolVar(&k.kueue, "kueue", false, "kube: leave admission to the cluster's Kueue (suspended Jobs in the team's LocalQueue)")
	f.BoolVar(&k.sameDirs, "kube-same-dirs", false, "kube: start pods in the directory the job was submitted from (its path shared by the nodes)")
	f.StringArrayVar(&k.volumes, "kube-volume", nil, "kube: mount a PersistentVolumeClaim into every pod, CLAIM:/PATH (repeatable), e.g. the server's --job-dir with --kube-same-dirs")
}

// executor connects to the cluster and starts watching the namespace.
func (k *kubeFlags) executor(ctx context.Context) (*kube.Executor, error) {
	rc, err := kube.Connect(k.kubeconfig)
	if err != nil {
		return nil, err
	}
	if pod := os.Getenv("POD_NAME"); k.image == "" && pod != "" {
		// In a pod (POD_NAME from the downward API): the image it runs.
		ns := envOr("POD_NAMESPACE", k.namespace)
		if k.image, err = kube.OwnImage(ctx, rc, ns, pod, "reckon"); err != nil {
			return nil, fmt.Errorf("--image not given, and reading this pod's own image (%s/%s) failed: %w", ns, pod, err)
		}
	}
	if k.image == "" {
		return nil, fmt.Errorf("--image: which reckon image do the pods run? (or set $RECKON_IMAGE)")
	}
	var vols []kube.Volume
	for _, s := range k.volumes {
		v, err := kube.ParseVolume(s)
		if err != nil {
			return nil, fmt.Errorf("--kube-volume: %w", err)
		}
		vols = append(vols, v)
	}
	return kube.New(ctx, rc, kube.Config{Namespace: k.namespace, Image: k.image, Secret: k.secret, Retries: k.retries, Grace: k.grace,
		SameDirs: k.sameDirs, Kueue: k.kueue, Volumes: vols})
}

// onKube submits s as a job and schedules it on the cluster until it has
// ended: reckon predict --on kube and reckon run --on kube.
func (a *app) onKube(ctx context.Context, k *kubeFlags, s scheduler.Submission) (sched.Record, error) {
	dir, err := os.Getwd()
	if err != nil {
		return sched.Record{}, err
	}
	s.Dir, s.User = dir, currentUser()
	q, ws, err := a.openQueues(ctx, "")
	if err != nil {
		return sched.Record{}, err
	}
	defer ws.Close()
	x, err := k.executor(ctx)
	if err != nil {
		return sched.Record{}, err
	}
	defer x.Close()
	r, err := scheduler.Submit(ctx, ws.Jobs, q, s)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(a.err, "%s queued for team %s; running it on Kubernetes (namespace %s) as Job %s\n", r.ID, r.Team, k.namespace, kube.Name(r.ID, 1))
	host, _ := os.Hostname()
	sc, err := scheduler.New(scheduler.Config{Jobs: ws.Jobs, Exec: x, Queues: q, Holder: fmt.Sprintf("%s:%d", host, os.Getpid()),
		Runs: ws.Store, Blobs: ws.Blobs, Log: a.log, AdmitAll: k.kueue || q.File == "", IndexedShards: true})
	if err != nil {
		return r, err
	}
	r, err = sc.RunUntil(ctx, r.ID, time.Second, nil)
	if err != nil {
		if ctx.Err() != nil {
			return r, fmt.Errorf("%w: job %s goes on in the cluster; reckon scheduler --executor kube picks it up, or reckon jobs cancel %s", err, r.ID, r.ID)
		}
		return r, err
	}
	if r.State != sched.Succeeded {
		return r, fmt.Errorf("job %s %s: %s (reckon jobs logs %s)", r.ID, r.State, r.Message, r.ID)
	}
	return r, nil
}

// absPaths makes the paths a pod reads or writes absolute, so they mean
// in the pod what they mean here (on a volume the nodes share).
func absPaths(paths ...*string) error {
	for _, p := range paths {
		if *p == "" || strings.Contains(*p, "://") || filepath.IsAbs(*p) {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	return nil
}
