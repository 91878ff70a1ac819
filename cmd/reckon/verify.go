package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/reckon-ml/reckon/verify"
	"github.com/spf13/cobra"
)

func (a *app) verifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "verify",
		Aliases: []string{"fsck"},
		Short:   "Check that every model, step output and log the store refers to is intact",
		Long: `verify reads back every blob the tracking store refers to (registered model
versions, the outputs, logs and checkpoints of runs), compares each with its
sha256, runs the database's own integrity check (SQLite), and lists what is
missing or damaged, what that breaks and how to restore it. It changes
nothing.

What heals by itself: a pipeline step whose cached output is missing or
damaged runs again on the next 'reckon run' and writes the same bytes back;
a blob written again over a damaged copy replaces it. A registered version
whose bytes no run can reproduce has to come from a backup of the bucket.

Exit status: 0 when everything is intact, 1 when something is not.`,
		Example: `  reckon verify
  reckon verify --json
  reckon --store postgres://reckon@db/reckon --blobs s3://models?region=eu-west-1 verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runVerify(cmd.Context()) },
	}
}

func (a *app) runVerify(ctx context.Context) error {
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer ws.Close()
	var set func(int, string)
	finish := func() {}
	rep, err := verify.Run(ctx, ws.Store, ws.Blobs, func(done, total int) {
		if set == nil {
			set, finish = a.bars("verifying blobs", total)
		}
		set(done, "")
	})
	finish()
	if err != nil {
		return err
	}
	err = a.report(rep, func(w io.Writer) {
		fmt.Fprintf(w, "store %s: database integrity %s\n", a.storeName(), rep.Database)
		fmt.Fprintf(w, "blobs %s: %d distinct blobs read for %d registered versions and %d artifacts of %d runs\n", ws.Blobs, rep.Blobs, rep.Versions, rep.Artifacts, rep.Runs)
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "\n%s: %s\n  blob   %s\n  breaks %s\n  fix    %s\n", p.What, p.State, p.Key, p.Breaks, p.Fix)
		}
		if rep.OK() {
			fmt.Fprintln(w, "everything is intact")
		}
	})
	if err == nil && !rep.OK() {
		err = errors.New(verifySummary(rep))
	}
	return err
}

func verifySummary(rep verify.Report) string {
	switch {
	case len(rep.Problems) > 0 && rep.Database != "ok" && rep.Database != "not checked":
		return fmt.Sprintf("%d blob references are broken and the database check failed: %s", len(rep.Problems), rep.Database)
	case len(rep.Problems) > 0:
		return fmt.Sprintf("%d blob references are broken (see above)", len(rep.Problems))
	}
	return "the database check failed: " + rep.Database + " (restore the store from a backup, or keep a copy and try sqlite3's .recover)"
}
