package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/client"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/postgres"
	"github.com/reckon-ml/reckon/workspace"
)

func (a *app) storeURL() string {
	if a.storeFlag != "" {
		return a.storeFlag
	}
	return a.homePath("reckon.db")
}

// storeName names the store for messages, without a password.
func (a *app) storeName() string {
	if u := a.storeURL(); strings.Contains(u, "://") {
		return postgres.Redact(u)
	}
	return a.storeURL()
}

func (a *app) blobsURL() string {
	if a.blobsFlag != "" {
		return a.blobsFlag
	}
	return a.homePath("blobs")
}

// openWorkspace opens the store and blobs the global flags name.
func (a *app) openWorkspace(ctx context.Context) (*workspace.Workspace, error) {
	if a.server != "" {
		// Never the local store behind a --server the user asked for.
		return nil, fmt.Errorf("this command does not go through --server (runs, models, jobs, queues, monitor and predict --model NAME@ALIAS do); unset --server and $RECKON_SERVER to use the store here")
	}
	return workspace.Open(ctx, workspace.Config{Store: a.storeURL(), Blobs: a.blobsURL(), StaleAfter: a.staleAfter, Log: a.log, Job: os.Getenv("RECKON_JOB")})
}

// remote is the --server client (nil without --server).
func (a *app) remote() (*client.Client, error) {
	if a.server == "" {
		return nil, nil
	}
	return client.New(a.server, os.Getenv("RECKON_TOKEN"))
}

// loadModel loads what a --model argument names: a model file, or a
// registered model (then the workspace is opened to find it).
func (a *app) loadModel(ctx context.Context, s string) (*registry.Loaded, error) {
	if registry.IsFile(s) {
		return registry.LoadFile(s)
	}
	ref, err := registry.ParseRef(s)
	if err != nil {
		return nil, err
	}
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		return c.Load(ctx, s)
	}
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	return registry.Load(ctx, ws.Store, ws.Blobs, ref)
}

func currentUser() string {
	for _, k := range []string{"RECKON_USER", "USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "unknown"
}

// bars adapts progress bars to the pipeline's progress hook.
func (a *app) bars(label string, total int) (func(int, string), func()) {
	b := progress.New(a.progressOut(), label, total)
	return func(done int, note string) { b.SetNote(done, note) }, b.Finish
}

// recordCheck keeps a drift check against registered version v: in the
// store, or through the server with --server.
func (a *app) recordCheck(ctx context.Context, v store.Version, rep *monitor.Report, inputs []string) (store.Run, error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return store.Run{}, err
		}
		return c.RecordDrift(ctx, v, rep, inputs)
	}
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return store.Run{}, err
	}
	defer ws.Close()
	return drift.Record(ctx, ws.Store, ws.Blobs, v, rep, inputs, currentUser(), time.Now())
}
