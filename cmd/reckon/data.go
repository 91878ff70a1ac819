package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/spf13/cobra"
)

func (a *app) dataCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "data",
		Short: "Generate, import and inspect datasets",
	}
	gen := &cobra.Command{Use: "gen", Short: "Generate synthetic datasets"}
	gen.AddCommand(a.genReentryCmd())
	c.AddCommand(gen, a.inspectCmd(), a.dataVersionsCmd())
	return c
}

func (a *app) dataVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "versions NAME",
		Short: "List the recorded versions of a dataset (content hash, source, rows)",
		Long: `Every pipeline run records the version of the data it read: its content hash
(which ignores row order for tracks and formatting for tables), where it came
from, its size and schema. Runs and registered models refer to these hashes.`,
		Example: "  reckon data versions breast-cancer-wisconsin",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.openWorkspace(cmd.Context())
			if err != nil {
				return err
			}
			defer p.Close()
			vs, err := p.DatasetVersions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(vs) == 0 {
				return fmt.Errorf("no versions of dataset %q recorded (pipelines record the data they read under data.name)", args[0])
			}
			return a.report(vs, func(w io.Writer) {
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "hash\trows\tfirst seen\tsource")
				for _, v := range vs {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", v.Hash, v.Rows, v.Created.Format(time.DateTime), v.Source)
				}
				tw.Flush()
			})
		},
	}
}

// genReentryOptions are data gen reentry's flags.
type genReentryOptions struct {
	cfg   reentry.Config
	out   string
	force bool
}

func (a *app) genReentryCmd() *cobra.Command { return a.newGenReentryCmd(a.runGenReentry) }

func (a *app) newGenReentryCmd(runF func(context.Context, *genReentryOptions) error) *cobra.Command {
	o := &genReentryOptions{cfg: reentry.DefaultConfig()}
	cfg := &o.cfg
	c := &cobra.Command{
		Use:   "reentry --out-dir DIR [flags]",
		Short: "Generate noisy ballistic tracks with a reentry label",
		Long: `Generate ballistic flights (boost, then a re-entry vehicle with drag in the
US-1976 atmosphere), sample them every 0.5 s through a noisy sensor, and write
tracks.csv, labels.csv and meta.json (reentry-spec.md §6).

The label is the first time after apogee at which drag reaches --threshold-g
times g0. Output is deterministic: the same flags and --seed give identical
bytes whatever --workers is, and a larger --count reproduces every track of a
smaller one. Files appear only when complete. Ctrl-C (or a crash) keeps what
was done in DIR/.reckon-partial; the same command again resumes from there
and writes exactly the bytes of an uninterrupted run.

Variant A (default) writes whole tracks, which run past reentry. Variant B
writes forecast cuts: each track stops H seconds before reentry, with H drawn
from [--horizon-min, --horizon-max] (--replicates cuts per flight) or taken
from --horizons; H is in labels.csv only, never in tracks.csv.`,
		Example: `  reckon data gen reentry --count 90 --seed 7 --out-dir data/reentry
  reckon data gen reentry --count 90 --seed 7 --noise-scale 2 --out-dir data/hard
  reckon data gen reentry --count 200 --variant B --horizons 2,5,10,30,60,120 --out-dir data/forecast`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.out == "" {
				return fmt.Errorf("--out-dir is required: the directory to write tracks.csv and labels.csv into")
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.SetNormalizeFunc(aliases(map[string]string{"out": "out-dir"}))
	f.StringVar(&o.out, "out-dir", "", "output directory (created if missing)")
	f.BoolVar(&o.force, "force", false, "replace an existing set in --out-dir")
	f.IntVar(&cfg.Count, "count", cfg.Count, "number of flights")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.StringVar(&cfg.Variant, "variant", cfg.Variant, "A: whole tracks (labelling); B: forecast cuts before reentry")
	f.Float64Var(&cfg.HorizonMin, "horizon-min", cfg.HorizonMin, "variant B: smallest horizon H (s)")
	f.Float64Var(&cfg.HorizonMax, "horizon-max", cfg.HorizonMax, "variant B: largest horizon H (s)")
	f.Float64SliceVar(&cfg.Horizons, "horizons", nil, "variant B: fixed horizons (s), one cut per flight each, e.g. 2,5,10,30,60,120")
	f.IntVar(&cfg.Replicates, "replicates", cfg.Replicates, "variant B: cuts per flight with drawn horizons")
	f.StringVar(&cfg.NoiseModel, "noise-model", cfg.NoiseModel, "cartesian (fused track) or radar (range/angles/range rate)")
	f.Float64Var(&cfg.NoiseScale, "noise-scale", cfg.NoiseScale, "multiplies every noise sigma (2 reproduces the original report's difficulty)")
	f.Float64Var(&cfg.SigmaPos, "sigma-pos", cfg.SigmaPos, "cartesian position noise per axis (m)")
	f.Float64Var(&cfg.Dropout, "dropout", cfg.Dropout, "probability that a sample is missing")
	f.Float64Var(&cfg.GapProb, "gap-prob", cfg.GapProb, "probability that a track has one 2-8 s gap")
	f.Float64Var(&cfg.OutlierRate, "outlier-rate", cfg.OutlierRate, "probability that a sample is a 20-sigma outlier")
	f.Float64Var(&cfg.BetaMin, "beta-min", cfg.BetaMin, "smallest ballistic coefficient (kg/m^2), log-uniform")
	f.Float64Var(&cfg.BetaMax, "beta-max", cfg.BetaMax, "largest ballistic coefficient (kg/m^2)")
	f.Float64Var(&cfg.RangeMinKm, "range-min-km", cfg.RangeMinKm, "shortest target ground range (km)")
	f.Float64Var(&cfg.RangeMaxKm, "range-max-km", cfg.RangeMaxKm, "longest target ground range (km)")
	f.Float64Var(&cfg.ThresholdG, "threshold-g", cfg.ThresholdG, "drag deceleration that defines reentry, in g0")
	f.BoolVar(&cfg.EarthRotation, "earth-rotation", false, "add Coriolis and centrifugal terms (atmosphere rotates with the Earth)")
	f.Float64Var(&cfg.NonReenteringFrac, "nonreentering-frac", 0, "share of tracks that end before reentry (labelled reenters = 0)")
	f.BoolVar(&cfg.WriteTruth, "write-truth", false, "also write truth.csv: noise-free state at every nominal sample")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "parallel workers (never changes the output)")
	return c
}

func (a *app) runGenReentry(ctx context.Context, o *genReentryOptions) error {
	bar := progress.New(a.progressOut(), "tracks", o.cfg.Count)
	sum, err := reentry.WriteDir(ctx, o.out, o.cfg, reentry.WriteOptions{Overwrite: o.force, Progress: bar.Set})
	if err != nil {
		return err
	}
	bar.Finish()
	return a.report(sum, func(w io.Writer) {
		if sum.Resumed > 0 {
			fmt.Fprintf(w, "resumed an interrupted run after %d flights\n", sum.Resumed)
		}
		fmt.Fprintf(w, "wrote %d tracks (%d reentering, %d rows) to %s in %.1f s\n", sum.Tracks, sum.Reentering, sum.Rows, sum.Dir, sum.Seconds)
		fmt.Fprintf(w, "next: reckon data inspect %s\n", sum.Dir)
	})
}

// inspectResult is what `data inspect --json` prints: one of the two.
type inspectResult struct {
	Kind   string                   `json:"kind"` // "table" or "tracks"
	Table  *dataset.TableSummary    `json:"table,omitempty"`
	Read   *dataset.ReadReport      `json:"read,omitempty"`
	Errors string                   `json:"errors_file,omitempty"`
	Tracks *dataset.TrackSetSummary `json:"tracks,omitempty"`
}

type tableFlags struct {
	target  string
	types   []string
	onError string
	errors  string
	missing []string
}

// inspectOptions are data inspect's argument and flags.
type inspectOptions struct {
	path  string
	table tableFlags
}

func (a *app) inspectCmd() *cobra.Command { return a.newInspectCmd(a.runInspect) }

func (a *app) newInspectCmd(runF func(context.Context, *inspectOptions) error) *cobra.Command {
	o := &inspectOptions{}
	tf := &o.table
	c := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Show a dataset's schema, size, missing values and balance",
		Long: `Inspect a CSV table or a track set.

A CSV table gets its column types inferred (float64, int64 or categorical),
with --type to override. A column that is numeric except for a few cells stays
numeric and those cells are errors: by default the first one stops the read
with its file, line, column and text; with --on-error set-aside every bad row is
copied to an errors file (--errors) and the rest is read. Nothing is dropped
silently.

A directory holding tracks.csv (and labels.csv), or a file named tracks.csv,
is read as a track set: rows are grouped by track_id and sorted by t,
duplicates and non-finite rows are dropped and counted, unit mistakes fail,
and the report gives per-track length, duration and sampling statistics.`,
		Example: `  reckon data inspect examples/tumor/breast_cancer_wisconsin_clean.csv
  reckon data inspect data.csv --target diagnosis --type zip=categorical
  reckon data inspect data.csv --on-error set-aside --errors bad-rows.csv
  reckon data inspect data/reentry --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			if _, err := tf.readOptions(); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&tf.target, "target", "", "class column to report the balance of (default: the last column when it looks like a class)")
	f.StringSliceVar(&tf.types, "type", nil, "override a column type, COL=float|int|categorical (repeatable)")
	f.StringVar(&tf.onError, "on-error", "fail", "bad rows: fail (stop at the first) or set-aside (write them to --errors and go on)")
	f.StringVar(&tf.errors, "errors", "", "errors file for set-aside rows (default <home>/errors/NAME.errors.csv)")
	f.StringSliceVar(&tf.missing, "missing", dataset.DefaultMissing, "cell texts read as missing values")
	return c
}

// readOptions turns --type, --on-error and --missing into read options.
func (tf tableFlags) readOptions() (dataset.ReadOptions, error) {
	opt := dataset.ReadOptions{Missing: tf.missing}
	var err error
	if opt.Types, err = dataset.ParseTypes(tf.types); err != nil {
		return opt, fmt.Errorf("--type %w", err)
	}
	if opt.OnError, err = dataset.ParsePolicy(tf.onError); err != nil {
		return opt, fmt.Errorf("--on-error: %w", err)
	}
	return opt, nil
}

// readTable reads a CSV with the table flags; set-aside rows go to
// --errors (default <home>/errors/NAME.errors.csv).
func (a *app) runInspect(_ context.Context, o *inspectOptions) error {
	if dataset.IsTrackSet(o.path) {
		return a.inspectTracks(o.path)
	}
	return a.inspectTable(o.path, o.table)
}

func (a *app) readTable(path string, tf tableFlags) (*dataset.Table, *dataset.ReadReport, string, error) {
	opt, err := tf.readOptions()
	if err != nil {
		return nil, nil, "", err
	}
	errPath := tf.errors
	if errPath == "" {
		errPath = a.homePath("errors", strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".errors.csv")
	}
	t, rep, errPath, err := dataset.ReadCSVFile(path, opt, errPath)
	if err != nil {
		return nil, nil, "", err
	}
	for _, e := range rep.Errors {
		a.log.Warn("row set aside", "error", e.Error())
	}
	return t, rep, errPath, nil
}

func (a *app) inspectTable(path string, tf tableFlags) error {
	t, rep, errPath, err := a.readTable(path, tf)
	if err != nil {
		return err
	}
	if tf.target != "" && t.Column(tf.target) == nil {
		return fmt.Errorf("--target %q: no such column in %s (columns: %s)", tf.target, path, strings.Join(t.Names(), ", "))
	}
	s := dataset.Summarize(t, tf.target)
	res := inspectResult{Kind: "table", Table: &s, Read: rep, Errors: errPath}
	return a.report(res, func(w io.Writer) { printTable(w, &s, rep, errPath) })
}

func printTable(w io.Writer, s *dataset.TableSummary, rep *dataset.ReadReport, errPath string) {
	fmt.Fprintf(w, "%s: %d rows x %d columns\nversion %s\n", s.Source, s.Rows, len(s.Columns), s.Hash)
	if rep.SetAside > 0 {
		fmt.Fprintf(w, "%d row(s) set aside in %s\n", rep.SetAside, errPath)
	}
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "column\ttype\tmissing\tdistinct\tmin\tmean\tmax")
	for _, c := range s.Columns {
		if c.Min != nil {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.4g\t%.4g\t%.4g\n", c.Name, c.Type, c.Missing, c.Levels, *c.Min, *c.Mean, *c.Max)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\t\t\n", c.Name, c.Type, c.Missing, c.Levels)
		}
	}
	tw.Flush()
	if s.Target != "" {
		fmt.Fprintf(w, "class balance of %s:", s.Target)
		keys := make([]string, 0, len(s.ClassBalance))
		for k := range s.ClassBalance {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return s.ClassBalance[keys[i]] > s.ClassBalance[keys[j]] })
		for _, k := range keys {
			fmt.Fprintf(w, " %s %d (%.1f%%)", k, s.ClassBalance[k], 100*float64(s.ClassBalance[k])/float64(s.Rows))
		}
		fmt.Fprintln(w)
	}
}

func (a *app) inspectTracks(path string) error {
	ts, err := dataset.LoadTracks(path, dataset.TrackOptions{})
	if err != nil {
		return err
	}
	for _, w := range ts.Report.Warnings {
		a.log.Warn(w)
	}
	for _, p := range ts.Problems {
		a.log.Warn("track rejected", "track_id", p.TrackID, "reason", p.Reason)
	}
	s := dataset.SummarizeTracks(ts)
	return a.report(inspectResult{Kind: "tracks", Tracks: &s}, func(w io.Writer) { printTracks(w, &s) })
}

func printTracks(w io.Writer, s *dataset.TrackSetSummary) {
	fmt.Fprintf(w, "%s: %d tracks, %d rows", s.Tracks, s.TrackCount, s.Rows)
	if s.Rejected > 0 {
		fmt.Fprintf(w, " (%d rejected)", s.Rejected)
	}
	fmt.Fprintf(w, "\nversion %s\n", s.Hash)
	if s.Labels != "" {
		fmt.Fprintf(w, "labels %s: %d labelled, %d reentering, %d not\n", s.Labels, s.Labelled, s.Reentering, s.Labelled-s.Reentering)
	} else {
		fmt.Fprintln(w, "no labels.csv")
	}
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "per track\tmin\tmedian\tmean\tmax")
	row := func(name string, st dataset.Stat, f string) {
		fmt.Fprintf(tw, "%s\t"+f+"\t"+f+"\t"+f+"\t"+f+"\n", name, st.Min, st.Median, st.Mean, st.Max)
	}
	row("samples", s.Length, "%.0f")
	row("duration (s)", s.Duration, "%.1f")
	row("median step (s)", s.Step, "%.3g")
	row("coverage", s.Coverage, "%.3f")
	row("largest gap (s)", s.MaxGap, "%.1f")
	if s.ReentryTime != nil {
		row("reentry time (s)", *s.ReentryTime, "%.1f")
	}
	if s.ReentryAlt != nil {
		row("reentry altitude (m)", *s.ReentryAlt, "%.0f")
	}
	tw.Flush()
	r := s.Report
	fmt.Fprintf(w, "loader: %d rows out of time order, %d duplicates dropped, %d bad rows dropped, %d alt recomputed, %d alt disagreements\n",
		r.RowsMoved, r.DuplicatesDropped, r.RowsDropped, r.AltRecomputed, r.AltDisagree)
	fmt.Fprint(w, "missing cells:")
	keys := make([]string, 0, len(r.Missing))
	for k := range r.Missing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, " %s %d", k, r.Missing[k])
	}
	fmt.Fprintln(w)
	for _, p := range s.Problems {
		fmt.Fprintf(w, "rejected track %s: %s\n", p.TrackID, p.Reason)
	}
}
