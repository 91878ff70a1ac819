package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/chart"
	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/search"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/spf13/cobra"
)

// specFlags are the hyperparameter flags of train tabular and compare.
type specFlags struct {
	trees, depth, bins, epochs, batch, patience int
	earlyStop                                   int
	lr, l2, subsample, colsample                float64
	c, dropout, weightDecay, threshold          float64
	growth, classWeight                         string
	hidden                                      []int
	seed                                        uint64
}

func (s *specFlags) register(c *cobra.Command) {
	f := c.Flags()
	g, l, n := gbdt.DefaultConfig(), tabular.DefaultSpec(tabular.KindLogistic).Logistic, tabular.DefaultSpec(tabular.KindFCN).FCN
	f.IntVar(&s.trees, "trees", g.Trees, "gbdt: boosting rounds")
	f.IntVar(&s.depth, "depth", g.Depth, "gbdt: tree depth")
	f.IntVar(&s.bins, "bins", g.Bins, "gbdt: histogram bins per feature (at most 255)")
	f.IntVar(&s.earlyStop, "early-stop", 0, "gbdt: stop after N trees without a better loss on a stratified 15% of the training rows (0: off)")
	f.Float64Var(&s.lr, "lr", 0, fmt.Sprintf("learning rate (default gbdt %g, fcn %g)", g.LearningRate, n.LR))
	f.Float64Var(&s.l2, "l2", g.L2, "gbdt: L2 leaf regularisation")
	f.Float64Var(&s.subsample, "subsample", g.Subsample, "gbdt: share of rows per tree")
	f.Float64Var(&s.colsample, "colsample", g.ColSample, "gbdt: share of features per tree")
	f.StringVar(&s.growth, "growth", string(g.Growth), "gbdt: oblivious (symmetric, CatBoost) or depthwise (XGBoost)")
	f.Float64Var(&s.c, "C", l.C, "logistic: inverse L2 strength (scikit-learn's C)")
	f.IntSliceVar(&s.hidden, "hidden", n.Hidden, "fcn: width of each FCN block (Dense, LayerNorm, ReLU)")
	f.Float64Var(&s.dropout, "dropout", n.Dropout, "fcn: dropout after each block")
	f.Float64Var(&s.weightDecay, "weight-decay", n.WeightDecay, "fcn: AdamW weight decay")
	f.IntVar(&s.epochs, "epochs", n.Epochs, "fcn: most epochs")
	f.IntVar(&s.batch, "batch", n.Batch, "fcn: batch size")
	f.IntVar(&s.patience, "patience", n.Patience, "fcn: epochs without a better validation loss before stopping (0: never)")
	f.StringVar(&s.classWeight, "class-weight", "", "weight of each class's rows in the loss: 'balanced' or LABEL=W,...")
	f.Float64Var(&s.threshold, "threshold", 0.5, "decision threshold on P(positive) for two classes")
	f.Uint64Var(&s.seed, "seed", 0, "seed for subsampling, initialisation and shuffles")
}

// spec builds the spec of one kind from the flags.
func (s *specFlags) spec(cmd *cobra.Command, kind string, schema *tabular.Schema, y []int) (tabular.Spec, error) {
	sp := tabular.DefaultSpec(kind)
	if err := sp.Validate(); err != nil {
		return sp, err
	}
	changed := cmd.Flags().Changed
	sp.Threshold = s.threshold
	sp.GBDT.Trees, sp.GBDT.Depth, sp.GBDT.Bins, sp.GBDT.L2 = s.trees, s.depth, s.bins, s.l2
	sp.GBDT.Subsample, sp.GBDT.ColSample, sp.GBDT.Growth, sp.GBDT.Seed = s.subsample, s.colsample, gbdt.Growth(s.growth), s.seed
	sp.GBDT.EarlyStop = s.earlyStop
	sp.Logistic.C = s.c
	sp.FCN.Hidden, sp.FCN.Dropout, sp.FCN.WeightDecay = s.hidden, s.dropout, s.weightDecay
	sp.FCN.Epochs, sp.FCN.Batch, sp.FCN.Patience, sp.FCN.Seed = s.epochs, s.batch, s.patience, s.seed
	if changed("lr") {
		sp.GBDT.LearningRate, sp.FCN.LR = s.lr, s.lr
	}
	if s.classWeight != "" {
		w, err := classWeights(s.classWeight, schema, y)
		if err != nil {
			return sp, err
		}
		switch kind {
		case tabular.KindGBDT:
			// gbdt's labels are 0/1 = not positive/positive for two
			// classes, the class index otherwise.
			if len(w) == 2 {
				w = []float64{w[1-schema.Positive], w[schema.Positive]}
			}
			sp.GBDT.ClassWeights = w
		case tabular.KindLogistic:
			if len(w) != 2 {
				return sp, fmt.Errorf("--class-weight: logistic is binary")
			}
			sp.Logistic.PosWeight = w[schema.Positive] / w[1-schema.Positive]
		case tabular.KindFCN:
			sp.FCN.ClassWeights = w
		}
	}
	switch kind {
	case tabular.KindGBDT:
		return sp, sp.GBDT.Validate()
	case tabular.KindFCN:
		return sp, sp.FCN.Validate()
	}
	return sp, nil
}

// classWeights parses "balanced" (n / (k · n_class)) or LABEL=W pairs.
func classWeights(s string, schema *tabular.Schema, y []int) ([]float64, error) {
	k := len(schema.Classes)
	w := make([]float64, k)
	if s == "balanced" {
		count := make([]float64, k)
		for _, c := range y {
			count[c]++
		}
		for i := range w {
			w[i] = float64(len(y)) / (float64(k) * max(count[i], 1))
		}
		return w, nil
	}
	for i := range w {
		w[i] = 1
	}
	for _, kv := range strings.Split(s, ",") {
		l, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		i := slices.Index(schema.Classes, l)
		if !ok || err != nil || i < 0 || !(x > 0) {
			return nil, fmt.Errorf("--class-weight %q: want 'balanced' or LABEL=WEIGHT pairs with labels from %s", s, strings.Join(schema.Classes, ", "))
		}
		w[i] = x
	}
	return w, nil
}

// foldFlags choose cross-validation folds.
type foldFlags struct {
	cv    string
	folds string
	seed  uint64
}

func (f *foldFlags) register(c *cobra.Command, defaultCV string) {
	c.Flags().StringVar(&f.cv, "cv", defaultCV, "repeated stratified k-fold as KxR, e.g. 5x3 (\"\" for none)")
	c.Flags().StringVar(&f.folds, "folds", "", "fold file (e.g. examples/tumor/breast_cancer_folds.json); overrides --cv")
	c.Flags().Uint64Var(&f.seed, "cv-seed", 0, "seed of the --cv folds")
}

// make returns the folds for a frame, or nil when none were asked for.
func (f *foldFlags) make(fr *tabular.Frame) ([]dataset.Fold, string, error) {
	if f.folds != "" {
		fh, err := os.Open(f.folds)
		if err != nil {
			return nil, "", err
		}
		defer fh.Close()
		ff, err := dataset.ReadFolds(f.folds, fh, fr.Rows)
		if err != nil {
			return nil, "", err
		}
		return ff.Folds, fmt.Sprintf("%d folds from %s", len(ff.Folds), f.folds), nil
	}
	if f.cv == "" {
		return nil, "", nil
	}
	ks, rs, ok := strings.Cut(f.cv, "x")
	k, err1 := strconv.Atoi(ks)
	r, err2 := strconv.Atoi(rs)
	if !ok || err1 != nil || err2 != nil || k < 2 || r < 1 {
		return nil, "", fmt.Errorf("--cv %q: want KxR, e.g. 5x3 (5 folds, 3 repeats)", f.cv)
	}
	folds, err := dataset.StratifiedKFold(fr.Y, k, r, f.seed)
	if err != nil {
		return nil, "", err
	}
	return folds, fmt.Sprintf("stratified %d-fold x %d (seed %d)", k, r, f.seed), nil
}

// loadTabular reads a CSV and encodes it with a schema fitted on it.
func (a *app) loadTabular(path, target, positive string, tf tableFlags) (*dataset.Table, *tabular.Schema, *tabular.Frame, error) {
	if path == "" || target == "" {
		return nil, nil, nil, fmt.Errorf("--data (a CSV file) and --target (its class column) are required")
	}
	t, _, _, err := a.readTable(path, tf)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := tabular.NewSchema(t, target, positive)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := s.Encode(t)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, s, f, nil
}

type cvSummary struct {
	Folds    string           `json:"folds"`
	Mean     tabular.Scores   `json:"mean"`
	SD       tabular.Scores   `json:"sd"`
	PerFold  []tabular.Scores `json:"per_fold"`
	Seconds  float64          `json:"seconds"`
	Positive string           `json:"positive"`
}

func summarize(cv *tabular.CV, desc, positive string, secs float64) *cvSummary {
	s := &cvSummary{Folds: desc, Mean: cv.Mean, SD: cv.SD, Seconds: secs, Positive: positive}
	for _, f := range cv.Folds {
		s.PerFold = append(s.PerFold, f.Scores)
	}
	return s
}

type trainTabularResult struct {
	Out       string          `json:"model"`
	Kind      string          `json:"kind"`
	Rows      int             `json:"rows"`
	Features  int             `json:"features"`
	Classes   []string        `json:"classes"`
	Positive  string          `json:"positive"`
	Spec      any             `json:"hyperparameters"`
	CV        *cvSummary      `json:"cv,omitempty"`
	Search    []search.Result `json:"search,omitempty"`
	TrainSecs float64         `json:"train_seconds"`
	Train     tabular.Scores  `json:"train_scores"`
	DataHash  string          `json:"data_hash"`
}

func (a *app) trainTabularCmd() *cobra.Command {
	var tf csvFlags
	var sf specFlags
	var ff foldFlags
	var kind, positive, out, method, metric string
	var nSearch int
	c := &cobra.Command{
		Use:   "tabular --data CSV --target COL --model gbdt|logistic|fcn",
		Short: "Train a classifier on a CSV table (optionally cross-validated and tuned)",
		Long: `Train a classifier on a CSV table and save it, with its schema, to one file.

Models:
  gbdt      gradient-boosted trees: oblivious (CatBoost-style, default) or
            depthwise trees, categorical columns by ordered target statistics
  logistic  L2 logistic regression on standardised features (binary targets)
  fcn       FCN blocks (Dense, LayerNorm, ReLU) with a sigmoid/softmax head,
            AdamW and early stopping on 15% of the training rows

--cv KxR or --folds FILE first cross-validates with the same settings and
reports mean and standard deviation of every metric; the saved model is then
trained on all rows. --search N draws N settings from the model's search space
and keeps the best by --search-metric under cross-validation (5x1 when no folds
are given); --search-method halving scores all N on one fold and the best third
on three times as many folds, and so on.

The positive class (--positive; default: the minority class) is the one whose
probability the threshold applies to and whose recall and precision lead the
reports.`,
		Example: `  reckon train tabular --data examples/tumor/breast_cancer_wisconsin_clean.csv \
      --target diagnosis --positive malignant --model gbdt \
      --folds examples/tumor/breast_cancer_folds.json --out tumor-gbdt.reckon
  reckon train tabular --data t.csv --target y --model fcn --search 20 --cv 5x1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t, schema, fr, err := a.loadTabular(tf.path, tf.column, positive, tf.tableFlags)
			if err != nil {
				return err
			}
			spec, err := sf.spec(cmd, kind, schema, fr.Y)
			if err != nil {
				return err
			}
			folds, desc, err := ff.make(fr)
			if err != nil {
				return err
			}
			res := trainTabularResult{Kind: kind, Rows: fr.Rows, Features: fr.Cols, Classes: schema.Classes, Positive: schema.PositiveLabel(), DataHash: t.Hash()}
			if nSearch > 0 {
				if folds == nil {
					if folds, err = dataset.StratifiedKFold(fr.Y, 5, 1, ff.seed); err != nil {
						return err
					}
					desc = fmt.Sprintf("stratified 5-fold x 1 (seed %d)", ff.seed)
				}
				if spec, res.Search, err = a.tune(ctx, spec, schema, fr, folds, nSearch, method, metric, sf.seed); err != nil {
					return err
				}
			}
			if folds != nil {
				t0 := time.Now()
				bar := progress.New(a.progressOut(), "cross-validating "+kind+" (folds)", len(folds))
				cv, err := tabular.CrossValidate(ctx, spec, schema, fr, folds, func(d, _ int) { bar.Set(d) })
				bar.Finish()
				if err != nil {
					return err
				}
				res.CV = summarize(cv, desc, schema.PositiveLabel(), time.Since(t0).Seconds())
			}
			t0 := time.Now()
			total := map[string]int{tabular.KindGBDT: spec.GBDT.Trees, tabular.KindFCN: spec.FCN.Epochs}[kind]
			var prog tabular.Progress
			var bar *progress.Bar
			if total > 0 {
				unit := map[string]string{tabular.KindGBDT: "trees", tabular.KindFCN: "epochs"}[kind]
				bar = progress.New(a.progressOut(), fmt.Sprintf("training %s on all %d rows (%s)", kind, fr.Rows, unit), total)
				prog = func(step, _ int) { bar.Set(step) }
			}
			m, err := tabular.Train(ctx, spec, schema, fr, prog)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			res.TrainSecs = time.Since(t0).Seconds()
			if e, err := tabular.Evaluate(m, fr); err == nil {
				res.Train = e.Scores
			}
			if res.CV != nil {
				m.Metrics = map[string]float64{}
				for k, v := range res.CV.Mean {
					m.Metrics["cv."+k] = v
				}
			}
			if out == "" {
				out = a.homePath("models", "tabular-"+kind+".reckon")
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			art, err := m.Artifact()
			if err != nil {
				return err
			}
			art.Header.Kind, art.Header.DataHash, art.Header.Reckon = kind, res.DataHash, version
			if err := model.WriteFile(out, art); err != nil {
				return err
			}
			res.Out = out
			res.Spec = art.Header.Hyper
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s on %s: %d rows, %d features, classes %s (positive: %s)\n", kind, tf.path, res.Rows, res.Features, strings.Join(res.Classes, "/"), res.Positive)
				if len(res.Search) > 0 {
					printSearch(w, res.Search, metric)
				}
				if res.CV != nil {
					fmt.Fprintf(w, "cross-validation, %s (%.1f s):\n", res.CV.Folds, res.CV.Seconds)
					printScores(w, []string{kind}, []*cvSummary{res.CV}, res.Positive)
				}
				fmt.Fprintf(w, "trained on all rows in %.2f s; training accuracy %.4f (optimistic: seen rows)\n", res.TrainSecs, res.Train["accuracy"])
				fmt.Fprintf(w, "saved %s\nnext: reckon eval --model %s --data NEW.csv\n", out, out)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&tf.path, "data", "", "CSV table")
	f.StringVar(&tf.column, "target", "", "class column")
	f.StringVar(&positive, "positive", "", "positive class label (default: the minority class of two)")
	f.StringVar(&kind, "model", tabular.KindGBDT, "gbdt, logistic or fcn")
	f.StringVar(&out, "out", "", "model file (default <home>/models/tabular-MODEL.reckon)")
	f.IntVar(&nSearch, "search", 0, "tune: number of settings to draw from the model's search space")
	f.StringVar(&method, "search-method", "random", "random or halving (successive halving over folds)")
	f.StringVar(&metric, "search-metric", "roc_auc", "cross-validated metric the search maximises (losses are minimised)")
	sf.register(c)
	ff.register(c, "")
	tf.register(c)
	return c
}

// csvFlags are tableFlags plus the CSV's path and class column.
type csvFlags struct {
	tableFlags
	path   string
	column string
}

func (tf *csvFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringSliceVar(&tf.types, "type", nil, "override a column type, COL=float|int|categorical (repeatable)")
	f.StringVar(&tf.onError, "on-error", "fail", "bad rows: fail (stop at the first) or set-aside (write them to --errors and go on)")
	f.StringVar(&tf.errors, "errors", "", "errors file for set-aside rows (default <home>/errors/NAME.errors.csv)")
	f.StringSliceVar(&tf.missing, "missing", dataset.DefaultMissing, "cell texts read as missing values")
}

func (a *app) tune(ctx context.Context, spec tabular.Spec, schema *tabular.Schema, fr *tabular.Frame, folds []dataset.Fold, n int, method, metric string, seed uint64) (tabular.Spec, []search.Result, error) {
	space := tabular.Space(spec.Model)
	pts := space.Sample(n, seed)
	sign := 1.0
	if tabular.LowerIsBetter(metric) {
		sign = -1
	}
	eval := func(ctx context.Context, p search.Point, budget int) (float64, error) {
		sp, err := tabular.Apply(spec, p)
		if err != nil {
			return 0, err
		}
		cv, err := tabular.CrossValidate(ctx, sp, schema, fr, folds[:budget], nil)
		if err != nil {
			return 0, err
		}
		v, ok := cv.Mean[metric]
		if !ok {
			return 0, fmt.Errorf("--search-metric %q is not a score (have: %s)", metric, strings.Join(cv.Mean.Names(), ", "))
		}
		return sign * v, nil
	}
	bar := progress.New(a.progressOut(), fmt.Sprintf("searching %s (%s, %d settings)", spec.Model, method, n), n)
	prog := func(done, total int, r search.Result) {
		bar.SetNote(min(done, n), fmt.Sprintf("best so far %.4f", sign*r.Score))
	}
	var res []search.Result
	var err error
	switch method {
	case "random":
		res, err = search.Random(ctx, pts, len(folds), eval, prog)
	case "halving":
		res, err = search.Halving(ctx, pts, 1, len(folds), 3, eval, prog)
	default:
		err = fmt.Errorf("--search-method %q: random or halving", method)
	}
	bar.Finish()
	if err != nil {
		return spec, nil, err
	}
	for i := range res {
		res[i].Score *= sign
	}
	best, err := tabular.Apply(spec, res[0].Point)
	return best, res, err
}

func printSearch(w io.Writer, res []search.Result, metric string) {
	fmt.Fprintf(w, "search (best first, %s):\n", metric)
	tw := newTabWriter(w)
	fmt.Fprintf(tw, "rank\t%s\tfolds\tparameters\n", metric)
	for i, r := range res {
		if i == 10 {
			fmt.Fprintf(tw, "...\t\t\t(%d more in --json)\n", len(res)-10)
			break
		}
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%s\n", r.Rank, r.Score, r.Budget, r.Point)
	}
	tw.Flush()
}

// headline metrics of the tumor-style report, positive class first.
func headline(positive string) []string {
	return []string{"roc_auc", "accuracy", "recall[" + positive + "]", "precision[" + positive + "]", "f1[" + positive + "]", "specificity[" + positive + "]", "log_loss"}
}

func printScores(w io.Writer, names []string, cvs []*cvSummary, positive string) {
	tw := newTabWriter(w)
	fmt.Fprint(tw, "model")
	for _, m := range headline(positive) {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintln(tw)
	for i, cv := range cvs {
		fmt.Fprint(tw, names[i])
		for _, m := range headline(positive) {
			fmt.Fprintf(tw, "\t%.4f ± %.4f", cv.Mean[m], cv.SD[m])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

type evalTabularResult struct {
	Model     string         `json:"model"`
	Kind      string         `json:"kind"`
	Data      string         `json:"data"`
	Rows      int            `json:"rows"`
	Threshold float64        `json:"threshold"`
	Scores    tabular.Scores `json:"scores"`
	Report    any            `json:"report"`
	Plots     []string       `json:"plots,omitempty"`
	Classes   []string       `json:"classes"`
	Positive  string         `json:"positive"`
	// SeenInTraining: the data's content hash is the training data's.
	SeenInTraining bool `json:"seen_in_training"`
}

func (a *app) evalTabular(cmd *cobra.Command, path string, art *model.Artifact, m *tabular.Model, data string, tf tableFlags, threshold float64, plots string) error {
	t, _, _, err := a.readTable(data, tf)
	if err != nil {
		return err
	}
	fr, err := m.Schema.Encode(t)
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("threshold") {
		if !(threshold > 0 && threshold < 1) {
			return fmt.Errorf("--threshold must be in (0, 1), got %v", threshold)
		}
		m.Spec.Threshold = threshold
	}
	e, err := tabular.Evaluate(m, fr)
	if err != nil {
		return fmt.Errorf("%s: %w", data, err)
	}
	res := evalTabularResult{Model: path, Kind: m.Kind(), Data: data, Rows: fr.Rows, Threshold: m.Spec.Threshold, Scores: e.Scores, Report: e.Report,
		Classes: m.Schema.Classes, Positive: m.Schema.PositiveLabel()}
	if plots != "-" {
		if plots == "" {
			plots = a.homePath("reports", strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		}
		if res.Plots, err = tabularPlots(plots, art, m, e); err != nil {
			return err
		}
	}
	res.SeenInTraining = art.Header.DataHash != "" && art.Header.DataHash == t.Hash()
	return a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "%s (%s) on %s: %d rows, threshold %.3f on P(%s)\n", path, res.Kind, data, res.Rows, res.Threshold, res.Positive)
		if res.SeenInTraining {
			fmt.Fprintln(w, "note: this is the data the model was trained on, so these scores are optimistic; use reckon train tabular --cv or --folds for honest estimates")
		}
		printReport(w, e)
		for _, p := range res.Plots {
			fmt.Fprintf(w, "  figure: %s\n", p)
		}
	})
}

// printReport prints scikit-learn's classification report layout, the
// confusion matrix and the ranking metrics.
func printReport(w io.Writer, e *tabular.Evaluation) {
	r := e.Report
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "\tprecision\trecall\tf1-score\tspecificity\tsupport")
	for _, c := range r.Classes {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\n", c.Label, c.Precision, c.Recall, c.F1, c.Specificity, c.Support)
	}
	fmt.Fprintf(tw, "accuracy\t\t\t%.4f\t\t%d\n", r.Accuracy, r.Macro.Support)
	fmt.Fprintf(tw, "macro avg\t%.4f\t%.4f\t%.4f\t\t%d\n", r.Macro.Precision, r.Macro.Recall, r.Macro.F1, r.Macro.Support)
	fmt.Fprintf(tw, "weighted avg\t%.4f\t%.4f\t%.4f\t\t%d\n", r.Weighted.Precision, r.Weighted.Recall, r.Weighted.F1, r.Weighted.Support)
	tw.Flush()
	fmt.Fprintln(w, "confusion matrix (rows true, columns predicted):")
	tw = newTabWriter(w)
	for _, c := range r.Classes {
		fmt.Fprintf(tw, "\t%s", c.Label)
	}
	fmt.Fprintln(tw)
	for i, c := range r.Classes {
		fmt.Fprint(tw, c.Label)
		for _, v := range r.Confusion[i] {
			fmt.Fprintf(tw, "\t%d", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if auc, ok := e.Scores["roc_auc"]; ok {
		fmt.Fprintf(w, "ROC AUC %.4f, average precision %.4f, log loss %.4f, Brier %.4f\n", auc, e.Scores["average_precision"], e.Scores["log_loss"], e.Scores["brier"])
	}
}

func tabularPlots(dir string, art *model.Artifact, m *tabular.Model, e *tabular.Evaluation) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	kind := art.Header.Kind
	figs := &figures{dir: dir}
	draw := figs.draw
	labels := make([]string, len(e.Report.Classes))
	for i, c := range e.Report.Classes {
		labels[i] = c.Label
	}
	if err := draw("confusion_matrix.png", func(p string) error {
		return chart.Matrix(p, fmt.Sprintf("%s: confusion matrix (threshold %.2f)", kind, m.Spec.Threshold), labels, e.Report.Confusion)
	}); err != nil {
		return nil, err
	}
	if e.ROC != nil {
		if err := draw("roc.png", func(p string) error {
			return chart.Lines(p, fmt.Sprintf("%s: ROC (AUC %.4f)", kind, e.Scores["roc_auc"]), "false positive rate", "true positive rate",
				[]chart.Line{{Name: kind, X: e.ROC.X, Y: e.ROC.Y}}, true)
		}); err != nil {
			return nil, err
		}
		if err := draw("precision_recall.png", func(p string) error {
			return chart.Lines(p, fmt.Sprintf("%s: precision-recall (AP %.4f)", kind, e.Scores["average_precision"]), "recall", "precision",
				[]chart.Line{{Name: kind, X: e.PR.X, Y: e.PR.Y}}, false)
		}); err != nil {
			return nil, err
		}
	}
	if len(art.Header.Curves) > 0 {
		if err := draw("training_curves.png", func(p string) error {
			return chart.Curves(p, kind+": training", map[string]string{tabular.KindGBDT: "tree", tabular.KindFCN: "epoch"}[kind], "loss", art.Header.Curves)
		}); err != nil {
			return nil, err
		}
	}
	return figs.paths, nil
}

// candidateSpec resolves one --models entry: a model file (its kind,
// hyperparameters and threshold) or a kind name (its defaults).
func (a *app) candidateSpec(entry string) (name string, spec tabular.Spec, schema *tabular.Schema, err error) {
	if slices.Contains(tabular.Kinds, entry) {
		if _, statErr := os.Stat(entry); statErr != nil {
			return entry, tabular.DefaultSpec(entry), nil, nil
		}
	}
	m, err := model.Load(entry)
	if err != nil {
		return "", spec, nil, fmt.Errorf("--models %s: not a model kind (%s) and not a model file: %w", entry, strings.Join(tabular.Kinds, ", "), err)
	}
	tm, ok := m.(*tabular.Model)
	if !ok {
		return "", spec, nil, fmt.Errorf("%s: a %s model is not a tabular classifier", entry, m.Kind())
	}
	return strings.TrimSuffix(filepath.Base(entry), filepath.Ext(entry)), tm.Spec, tm.Schema, nil
}

type compareResult struct {
	Data      string                `json:"data"`
	Folds     string                `json:"folds"`
	Positive  string                `json:"positive"`
	Models    []string              `json:"models"`
	CV        map[string]*cvSummary `json:"cv"`
	Decisions []*compare.Decision   `json:"decisions"`
	Champion  string                `json:"champion"`
}

func (a *app) compareCmd() *cobra.Command {
	var tf csvFlags
	var ff foldFlags
	var models, policies, metric, constraint, maximize, positive string
	c := &cobra.Command{
		Use:   "compare --models A,B,C --data CSV --target COL",
		Short: "Cross-validate several models on the same folds and pick a champion under a policy",
		Long: `Train every model on the same folds and pick the champion under one or more
policies, with the evidence for the choice.

--models takes model files (their kind, hyperparameters and threshold are
re-trained on each fold; the target and positive class come from the first
file) or kind names (gbdt, logistic, fcn with defaults).

Policies (--policy, comma-separated to see several):
  wins        for every metric of the report, the model with the best mean
              wins it (ties: every tied model); most wins is champion, equal
              counts go to the better --metric (default roc_auc)
  primary     the best mean --metric, then accuracy and log loss as tie-breakers
  constraint  models meeting --constraint (e.g. 'recall[malignant]>=0.97'),
              then the best --maximize (e.g. 'precision[malignant]'). A recall
              constraint tunes each model's threshold: for each fold, the
              highest threshold reaching it on the other folds of its repeat.

For the champion against every other model: the mean paired per-fold
difference with a 95% bootstrap interval (significant when it excludes 0) and
McNemar's exact test on the first repeat's rows, where each row was predicted
once by each model.`,
		Example: `  reckon compare --models logistic,gbdt,fcn \
      --data examples/tumor/breast_cancer_wisconsin_clean.csv --target diagnosis \
      --positive malignant --folds examples/tumor/breast_cancer_folds.json \
      --policy wins,constraint --constraint 'recall[malignant]>=0.97' \
      --maximize 'precision[malignant]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries := strings.Split(models, ",")
			if len(entries) < 2 {
				return fmt.Errorf("--models needs at least two entries, e.g. logistic,gbdt,fcn")
			}
			var names []string
			var specs []tabular.Spec
			for _, e := range entries {
				n, sp, sc, err := a.candidateSpec(strings.TrimSpace(e))
				if err != nil {
					return err
				}
				if sc != nil && tf.column == "" {
					tf.column = sc.Target
					if positive == "" {
						positive = sc.PositiveLabel()
					}
				}
				names, specs = append(names, n), append(specs, sp)
			}
			_, schema, fr, err := a.loadTabular(tf.path, tf.column, positive, tf.tableFlags)
			if err != nil {
				return err
			}
			folds, desc, err := ff.make(fr)
			if err != nil {
				return err
			}
			var pols []compare.Policy
			for _, p := range strings.Split(policies, ",") {
				pol, err := compare.Parse(strings.TrimSpace(p), metric, constraint, maximize)
				if err != nil {
					return err
				}
				pols = append(pols, pol)
			}
			res, err := a.runCompare(cmd.Context(), names, specs, schema, fr, folds, pols)
			if err != nil {
				return err
			}
			res.Data, res.Folds = tf.path, desc
			return a.report(res, func(w io.Writer) { printCompare(w, res) })
		},
	}
	f := c.Flags()
	f.StringVar(&models, "models", "logistic,gbdt,fcn", "model files or kinds, comma-separated")
	f.StringVar(&tf.path, "data", "", "CSV table")
	f.StringVar(&tf.column, "target", "", "class column (default: the first model file's)")
	f.StringVar(&positive, "positive", "", "positive class label (default: the first model file's, else the minority class)")
	f.StringVar(&policies, "policy", "wins", "wins, primary or constraint; several comma-separated")
	f.StringVar(&metric, "metric", "", "primary metric (primary) or tie-breaker (wins); default roc_auc")
	f.StringVar(&constraint, "constraint", "", "constraint policy: METRIC>=VALUE, e.g. 'recall[malignant]>=0.97'")
	f.StringVar(&maximize, "maximize", "", "constraint policy: metric to maximise among models meeting it")
	ff.register(c, "5x3")
	tf.register(c)
	return c
}

func (a *app) runCompare(ctx context.Context, names []string, specs []tabular.Spec, schema *tabular.Schema, fr *tabular.Frame, folds []dataset.Fold, pols []compare.Policy) (*compareResult, error) {
	if folds == nil {
		return nil, fmt.Errorf("compare needs folds: --cv KxR or --folds FILE")
	}
	res := &compareResult{Models: names, CV: map[string]*cvSummary{}, Positive: schema.PositiveLabel()}
	var cands []compare.Candidate
	for i, sp := range specs {
		t0 := time.Now()
		bar := progress.New(a.progressOut(), fmt.Sprintf("cross-validating %s (folds)", names[i]), len(folds))
		cv, err := tabular.CrossValidate(ctx, sp, schema, fr, folds, func(d, _ int) { bar.Set(d) })
		bar.Finish()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		res.CV[names[i]] = summarize(cv, "", schema.PositiveLabel(), time.Since(t0).Seconds())
		cands = append(cands, pipeline.CompareCandidate(names[i], cv, fr, schema))
	}
	for _, p := range pols {
		d, err := p.Decide(cands)
		if err != nil {
			return nil, err
		}
		res.Decisions = append(res.Decisions, d)
	}
	res.Champion = res.Decisions[len(res.Decisions)-1].Winner
	return res, nil
}

func printCompare(w io.Writer, res *compareResult) {
	fmt.Fprintf(w, "== %d models on %s, %s (threshold 0.5 unless a policy tunes it)\n", len(res.Models), res.Data, res.Folds)
	cvs := make([]*cvSummary, len(res.Models))
	for i, n := range res.Models {
		cvs[i] = res.CV[n]
	}
	printScores(w, res.Models, cvs, res.Positive)
	for _, d := range res.Decisions {
		fmt.Fprintf(w, "\n-- policy %s: champion %s (ranking %s)\n", d.Policy, d.Winner, strings.Join(d.Ranking, " > "))
		if d.Wins != nil {
			tw := newTabWriter(w)
			fmt.Fprintln(tw, "metric\tbest\t")
			for _, m := range slices.Sorted(maps.Keys(d.Best)) {
				tie := ""
				if len(d.Best[m]) > 1 {
					tie = "(tie)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", m, strings.Join(d.Best[m], ", "), tie)
			}
			tw.Flush()
		}
		if d.Thresholds != nil {
			tw := newTabWriter(w)
			fmt.Fprintln(tw, "model\tthreshold (mean)\trecall\tprecision\tmeets constraint")
			for _, n := range res.Models {
				t := d.Thresholds[n]
				fmt.Fprintf(tw, "%s\t%.3f\t%.4f\t%.4f\t%v\n", n, t.Threshold, t.Recall, t.Precision, t.Feasible)
			}
			tw.Flush()
		}
		tw := newTabWriter(w)
		fmt.Fprintln(tw, "champion vs\tmetric\tdifference\t95% CI\tsignificant\tMcNemar p")
		for _, p := range d.Pairs {
			fmt.Fprintf(tw, "%s\t%s\t%+.4f\t%+.4f..%+.4f\t%v\t%.2f\n", p.Worse, p.Metric, p.Diff, p.CI[0], p.CI[1], p.Significant, p.McNemarP)
		}
		tw.Flush()
		fmt.Fprintf(w, "why: %s\n", d.Reason)
	}
}
