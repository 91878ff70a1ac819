package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
)

func (a *app) monitorCmd() *cobra.Command {
	var ref, html, onDrift, modelName, driftFile string
	var cur, skip, tests, thresholds []string
	var o monitor.Options
	c := &cobra.Command{
		Use:   "monitor (--reference REF | --model MODEL) --input NEW.csv",
		Short: "Say whether new data has drifted from a reference, per column and for the table",
		Long: `Compare every column of a reference (the data a model was trained on: a CSV
table, or its profile from reckon monitor profile) with the same column of
new data, using the tests Evidently picks by default. --model MODEL (a file,
NAME, NAME@alias or NAME:VERSION) takes the reference its training stored in
it; a registered version's checks are recorded in the tracking store
(reckon monitor ls NAME lists them). reckon predict writes the drift of what
it scores (features and predictions) to drift-STAMP.json; --drift FILE shows
it again, with other options or as HTML.

A reference of at most 1000 rows gets p-value tests, with drift at p < 0.05:
  - two-sample Kolmogorov-Smirnov (exact) for numbers with more than 5
    distinct values;
  - the z-test of proportions for at most 2 distinct values;
  - chi-squared otherwise.
A larger reference gets distances, with drift at >= 0.1: Wasserstein over the
reference's standard deviation for such numbers, Jensen-Shannon otherwise.
The table drifts when at least half of its columns do.

Track sets (directories with tracks.csv) are compared by per-track features:
sample step, duration, position noise, the ballistic coefficient (ln) from the
drag at its onset, and the last altitude; a reentry model's reference holds
them for its training tracks, with its predicted reentry times. A set drifts when any of them does, each test at
0.05/5 (Bonferroni), so that a change of noise or of the ballistic range is
caught while same-settings sets keep a 5% false-alarm rate. Every column also
gets a PSI on the reference's deciles (0.1 warn, 0.25 alert), which is
reported but does not vote. --test COL=TEST and --threshold COL=X change a
column's test (ks, z, chisquare, wasserstein_norm, jensenshannon, psi) or
threshold.

One deliberate difference from Evidently: the chi-squared compares the two
samples (a contingency test). Its false alarms stay at the nominal 5%, where
Evidently's form, which takes the reference's shares as exact, flags about
40-45% of same-distribution pairs of 800 rows. --evidently-chisquare uses
Evidently's form anyway.

The new data is streamed once, on every core, in bounded memory: per column
its distinct values (up to 1000) or counts in 1000 cells at the reference's
quantiles. A reference of more than 1000 distinct numbers is summarised the
same way; values computed from a summary are marked approx (within 0.01 of
the exact ones on the anchor's tables).

Exit status: 0 no drift, 4 the table drifts, 1 error. --json prints
dataset_drift and columns (column, type, test, value, threshold, drift, psi);
--html FILE writes a page of the reference's and the new data's histograms
per column, worst first. --on-drift CMD runs CMD with sh when the table
drifts, $RECKON_DRIFT_REPORT naming the JSON report (if CMD fails, reckon
says so and exits 1; else 4).`,
		Example: `  reckon monitor --reference train.csv --input batch-2026-12.csv
  reckon monitor profile train.csv --skip id --out train.profile.json
  reckon monitor --reference train.profile.json --input day1.csv --input day2.csv --json
  reckon monitor --reference train.csv --input new.csv --skip id --skip diagnosis --html drift.html
  reckon monitor --reference train.csv --input new.csv --test age=psi --threshold income=0.2
  reckon monitor --reference train.csv --input new.csv --on-drift 'reckon jobs submit -f pipeline.yaml'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Tests, err = pairs("--test", tests, func(s string) (string, error) { return s, nil }); err != nil {
				return err
			}
			if o.Thresholds, err = pairs("--threshold", thresholds, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }); err != nil {
				return err
			}
			rep, title, err := a.driftReport(cmd.Context(), ref, modelName, driftFile, cur, skip, o)
			if err != nil {
				return err
			}
			if html != "" {
				var b bytes.Buffer
				if err := monitor.HTML(&b, title, rep); err != nil {
					return err
				}
				if err := atomicfile.Write(html, b.Bytes()); err != nil {
					return err
				}
			}
			if err := a.report(rep, func(w io.Writer) { printDrift(w, rep) }); err != nil {
				return err
			}
			if rep.DatasetDrift {
				if onDrift != "" {
					if err := runOnDrift(cmd.Context(), onDrift, rep, a.out, a.err); err != nil {
						return err
					}
				}
				return exitCode(4)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&ref, "reference", "", "the reference: a CSV table (the data the model was trained on) or its profile (reckon monitor profile)")
	f.StringVar(&modelName, "model", "", "take the reference stored in this model (file, NAME, NAME@alias or NAME:VERSION)")
	f.StringVar(&driftFile, "drift", "", "a drift file of reckon predict (drift-STAMP.json) to show again, instead of --input")
	f.StringArrayVar(&cur, "input", nil, "the new data, a CSV file (repeatable: the files are checked as one batch)")
	f.StringArrayVar(&skip, "skip", nil, "a column to leave out, such as an id or the target (repeatable)")
	f.StringArrayVar(&tests, "test", nil, "COL=TEST: the test of a column (ks, z, chisquare, wasserstein_norm, jensenshannon, psi; repeatable)")
	f.StringArrayVar(&thresholds, "threshold", nil, "COL=X: the threshold of a column's test (repeatable)")
	f.StringVar(&html, "html", "", "also write a self-contained HTML report here (histograms per column, worst first; opens offline)")
	f.StringVar(&onDrift, "on-drift", "", "a shell command to run when the table drifts, e.g. submitting the retraining pipeline as a job ($RECKON_DRIFT_REPORT names the JSON report)")
	f.IntVar(&o.PSIBins, "psi-bins", 10, "reference quantile bins of the PSI")
	f.BoolVar(&o.SharesChiSquare, "evidently-chisquare", false, "categorical test as Evidently's: current counts against the reference's shares taken as exact")
	c.AddCommand(a.monitorProfileCmd(), a.monitorLsCmd())
	return c
}

func (a *app) monitorProfileCmd() *cobra.Command {
	var out string
	var skip []string
	var bins int
	c := &cobra.Command{
		Use:   "profile TABLE.csv|TRACKSET --out PROFILE.json",
		Short: "Summarise a reference table (or track set) once, for quick drift checks against it",
		Long: `Summarise a reference table in bounded space, column by column: its distinct
values with their counts when it has at most 1000, else counts and sums in
1000 cells at its exact quantiles, its PSI deciles and its standard
deviation; categories with their counts. reckon monitor --reference then
reads the profile instead of the table. A track set is summarised by its
per-track features (as reckon monitor does with track sets).`,
		Example: `  reckon monitor profile train.csv --skip id --out train.profile.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required: where to write the profile")
			}
			p, err := drift.LoadReference(args[0], skip, bins)
			if err != nil {
				return err
			}
			if err := drift.WriteProfile(out, args[0], p); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: %d columns of %d rows profiled into %s\n", args[0], len(p.Columns), p.Rows, out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "the profile file to write")
	c.Flags().StringArrayVar(&skip, "skip", nil, "a column to leave out (repeatable)")
	c.Flags().IntVar(&bins, "psi-bins", 10, "reference quantile bins of the PSI")
	return c
}

// driftReport is the report the flags ask for, and its title.
func (a *app) driftReport(ctx context.Context, ref, modelName, driftFile string, inputs, skip []string, o monitor.Options) (*monitor.Report, string, error) {
	switch {
	case driftFile != "":
		if ref != "" || modelName != "" || len(inputs) > 0 {
			return nil, "", errors.New("--drift FILE holds its reference and data: leave out --reference, --model and --input")
		}
		d, err := batch.ReadDrift(driftFile)
		if err != nil {
			return nil, "", err
		}
		rp, err := monitor.Without(d.Reference, skip)
		if err != nil {
			return nil, "", err
		}
		rep, err := monitor.CompareProfiles(rp, d.Current, nil, o)
		return rep, "predictions of " + d.Model + " against its training data", err
	case len(inputs) == 0:
		return nil, "", errors.New("--input is required (see reckon monitor --help)")
	case modelName != "":
		m, err := a.loadModel(ctx, modelName)
		if err != nil {
			return nil, "", err
		}
		if ref != "" {
			own := m.Artifact != nil && len(m.Artifact.Header.Drift) > 0
			if tm, ok := m.Model.(*tabular.Model); ok {
				own = tm.Reference != nil
			}
			if own {
				return nil, "", fmt.Errorf("%s has its own reference (its training data's profile): leave out --reference", m.Label)
			}
		}
		rp, err := drift.ModelReference(m.Model, m.Artifact, m.Label, ref)
		if err != nil {
			return nil, "", err
		}
		if rp, err = monitor.Without(rp, skip); err != nil {
			return nil, "", err
		}
		rep, err := drift.Check(ctx, rp, inputs, o, a.readBar())
		if err != nil {
			return nil, "", err
		}
		if m.Version != nil {
			run, err := a.recordCheck(ctx, *m.Version, rep, inputs)
			if err != nil {
				return nil, "", fmt.Errorf("recording the check against %s: %w", m.Label, err)
			}
			fmt.Fprintf(a.err, "recorded against %s as run %s (reckon monitor ls %s)\n", m.Label, run.ID, m.Version.Model)
		}
		return rep, filepath.Base(inputs[0]) + " against " + m.Label, nil
	case ref == "":
		return nil, "", errors.New("--reference or --model is required (see reckon monitor --help)")
	}
	rp, err := drift.LoadReference(ref, skip, o.PSIBins)
	if err != nil {
		return nil, "", err
	}
	rep, err := drift.Check(ctx, rp, inputs, o, a.readBar())
	return rep, filepath.Base(inputs[0]) + " against " + filepath.Base(ref), err
}

func (a *app) monitorLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls NAME",
		Short:   "List the drift checks recorded against a registered model, newest first",
		Example: `  reckon monitor ls tumor`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := a.driftHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.report(runs, func(w io.Writer) {
				if len(runs) == 0 {
					fmt.Fprintf(w, "no drift checks of %s recorded (reckon monitor --model %s@ALIAS --input NEW.csv records one)\n", args[0], args[0])
					return
				}
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "when\tversion\tdataset drift\tdrifted columns\trows\trun")
				for _, r := range runs {
					verdict := "no"
					if r.Last["dataset_drift"] == 1 {
						verdict = "DRIFT"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%g\t%g\t%s\n", r.Started.UTC().Format(time.DateTime), r.Tags["version"], verdict, r.Last["drifted_columns"], r.Last["current_rows"], r.ID)
				}
				tw.Flush()
			})
		},
	}
}

// readBar is a progress bar of the MiB read, made at the first report.
// Its last line is drawn when the reading is done.
func (a *app) readBar() drift.Progress {
	var bar *progress.Bar
	return func(done, total int64) {
		if bar == nil {
			bar = progress.New(a.progressOut(), "reading (MiB)", int((total+1<<20-1)>>20))
		}
		if done >= total {
			bar.Set(int((total + 1<<20 - 1) >> 20))
			bar.Finish()
			return
		}
		bar.Set(int(done >> 20))
	}
}

// pairs parses repeated COL=VALUE flags.
func pairs[T any](flag string, kv []string, parse func(string) (T, error)) (map[string]T, error) {
	out := map[string]T{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want COLUMN=VALUE", flag, s)
		}
		x, err := parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %q is not a valid value", flag, k, v)
		}
		out[k] = x
	}
	return out, nil
}

// printDrift lists the columns, the drifting ones first, most drifted
// first (smallest p-value, largest distance over its threshold).
func printDrift(w io.Writer, rep *monitor.Report) { printDriftRows(w, rep, rep) }

// printDriftRows prints rows' columns and whole's verdict.
func printDriftRows(w io.Writer, rows, whole *monitor.Report) {
	rep := whole
	cols := append([]monitor.Result(nil), rows.Columns...)
	sort.SliceStable(cols, func(i, j int) bool {
		return monitor.Severity(cols[i]) > monitor.Severity(cols[j])
	})
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "column\ttype\ttest\tvalue\tthreshold\tdrift\tpsi")
	for _, r := range cols {
		mark := "no"
		if r.Drift {
			mark = "DRIFT"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%g\t%s\t%.3f\n", r.Column, r.Type, r.Test, r.Value, r.Threshold, mark, r.PSI)
	}
	tw.Flush()
	verdict := "no dataset drift"
	if rep.DatasetDrift {
		verdict = "DATASET DRIFT"
	}
	fmt.Fprintf(w, "%s: %d of %d columns drifted (reference %d rows, current %d rows)\n", verdict, rep.Drifted, len(rep.Columns), rep.RefRows, rep.CurRows)
}

// printDriftTop is printDrift's verdict with the n worst columns.
func printDriftTop(w io.Writer, rep *monitor.Report, n int) {
	top := *rep
	top.Columns = append([]monitor.Result(nil), rep.Columns...)
	sort.SliceStable(top.Columns, func(i, j int) bool { return monitor.Severity(top.Columns[i]) > monitor.Severity(top.Columns[j]) })
	if len(top.Columns) > n {
		fmt.Fprintf(w, "(the %d worst of %d columns)\n", n, len(top.Columns))
		top.Columns = top.Columns[:n]
	}
	printDriftRows(w, &top, rep)
}

// runOnDrift runs the --on-drift command with the report in a file it
// names in $RECKON_DRIFT_REPORT.
func runOnDrift(ctx context.Context, command string, rep *monitor.Report, stdout, stderr io.Writer) error {
	f, err := os.CreateTemp("", "reckon-drift-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(rep); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	c := exec.CommandContext(ctx, "sh", "-c", command)
	c.Env = append(os.Environ(), "RECKON_DRIFT_REPORT="+f.Name())
	c.Stdout, c.Stderr = stdout, stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("--on-drift %q: %w", command, err)
	}
	return nil
}

// driftHistory is a model's recorded checks, from the server or the store.
func (a *app) driftHistory(ctx context.Context, model string) ([]store.Run, error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		return c.DriftHistory(ctx, model)
	}
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	return drift.History(ctx, ws.Store, model)
}
