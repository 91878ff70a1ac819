package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/search"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/spf13/cobra"
)

// specFlags are the hyperparameter flags of train tabular and compare.
type specFlags struct {
	trees, depth, bins, epochs, batch, patience int
	earlyStop                                   int
	lr, learningRate, l2, subsample, colsample  float64
	c, dropout, weightDecay, threshold          float64
	growth, classWeight, loss                   string
	alpha                                       float64
	hidden                                      []int
	seed                                        uint64
}

// Flags are named as the parameters are in pipeline YAML, model files and
// search spaces (learning_rate is --learning-rate); older spellings still
// parse.
var tabularFlagAliases = map[string]string{"C": "c", "model": "kind"}

func (s *specFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.SetNormalizeFunc(aliases(tabularFlagAliases))
	g, l, n := gbdt.DefaultConfig(), tabular.DefaultSpec(tabular.KindLogistic).Logistic, tabular.DefaultSpec(tabular.KindFCN).FCN
	f.IntVar(&s.trees, "trees", g.Trees, "gbdt: boosting rounds")
	f.IntVar(&s.depth, "depth", g.Depth, "gbdt: tree depth")
	f.IntVar(&s.bins, "bins", g.Bins, "gbdt: histogram bins per feature (at most 255)")
	f.IntVar(&s.earlyStop, "early-stop", 0, "gbdt: stop after N trees without a better loss on a stratified 15% of the training rows (0: off)")
	f.Float64Var(&s.learningRate, "learning-rate", g.LearningRate, "gbdt: shrinkage of each tree")
	f.Float64Var(&s.lr, "lr", n.LR, "fcn: AdamW learning rate (with gbdt: --learning-rate, unless that is given)")
	f.Float64Var(&s.l2, "l2", g.L2, "gbdt: L2 leaf regularisation")
	f.Float64Var(&s.subsample, "subsample", g.Subsample, "gbdt: share of rows per tree")
	f.Float64Var(&s.colsample, "colsample", g.ColSample, "gbdt: share of features per tree")
	f.StringVar(&s.growth, "growth", string(g.Growth), "gbdt: oblivious (symmetric, CatBoost) or depthwise (XGBoost)")
	f.StringVar(&s.loss, "loss", "", "gbdt on a numeric target: rmse (squared error, the default) or huber (robust to outliers); classes take logloss/multiclass")
	f.Float64Var(&s.alpha, "alpha", tabular.DefaultSpec(tabular.KindLinear).Linear.Alpha, "linear: ridge penalty on the standardised coefficients (scikit-learn's Ridge alpha; 0: least squares)")
	f.Float64Var(&s.c, "c", l.C, "logistic: inverse L2 strength (scikit-learn's C; --C also works)")
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

// spec builds the spec of one kind from the flags; changed says which
// flags the user set.
func (s *specFlags) spec(changed func(string) bool, kind string, schema *tabular.Schema, y []int) (tabular.Spec, error) {
	sp := tabular.DefaultSpec(kind)
	if !slices.Contains(tabular.Kinds, kind) {
		return sp, sp.Validate()
	}
	sp.Threshold = s.threshold
	sp.GBDT.Trees, sp.GBDT.Depth, sp.GBDT.Bins, sp.GBDT.L2 = s.trees, s.depth, s.bins, s.l2
	sp.GBDT.Subsample, sp.GBDT.ColSample, sp.GBDT.Growth, sp.GBDT.Seed = s.subsample, s.colsample, gbdt.Growth(s.growth), s.seed
	sp.GBDT.EarlyStop = s.earlyStop
	sp.Logistic.C = s.c
	sp.Linear.Alpha = s.alpha
	if s.loss != "" {
		l := gbdt.Loss(s.loss)
		if !l.Regression() || (schema != nil && !schema.Regression()) {
			return sp, fmt.Errorf("--loss %q: rmse or huber, for gbdt on a numeric target (classes take logloss, or multiclass, by themselves)", s.loss)
		}
		sp.GBDT.Loss = l
	}
	sp.FCN.Hidden, sp.FCN.Dropout, sp.FCN.WeightDecay = s.hidden, s.dropout, s.weightDecay
	sp.FCN.Epochs, sp.FCN.Batch, sp.FCN.Patience, sp.FCN.Seed = s.epochs, s.batch, s.patience, s.seed
	sp.FCN.LR = s.lr
	switch {
	case changed("learning-rate"):
		sp.GBDT.LearningRate = s.learningRate
	case changed("lr"):
		sp.GBDT.LearningRate = s.lr
	}
	if s.classWeight != "" {
		if schema != nil && schema.Regression() {
			return sp, fmt.Errorf("--class-weight: target %q is numeric (regression); class weights are for classes", schema.Target)
		}
		w, err := tabular.ParseClassWeights(s.classWeight, schema.Classes, y)
		if err != nil {
			return sp, fmt.Errorf("--class-weight %w", err)
		}
		if err := sp.SetClassWeights(w, schema); err != nil {
			return sp, fmt.Errorf("--class-weight: %w", err)
		}
	}
	if schema != nil {
		if err := tabular.CheckTask(kind, schema); err != nil {
			return sp, err
		}
	}
	return sp, sp.Validate()
}

// foldFlags choose cross-validation folds.
type foldFlags struct {
	cv    string
	folds string
	seed  uint64
}

func (f *foldFlags) register(c *cobra.Command, defaultCV string) {
	c.Flags().StringVar(&f.cv, "cv", defaultCV, "repeated k-fold as KxR, e.g. 5x3, stratified by class for classifiers (\"\" for none)")
	c.Flags().StringVar(&f.folds, "folds", "", "fold file (e.g. examples/tumor/breast_cancer_folds.json); overrides --cv")
	c.Flags().Uint64Var(&f.seed, "cv-seed", 0, "seed of the --cv folds")
}

// make returns the folds for a frame, or nil when none were asked for.
func (f *foldFlags) make(schema *tabular.Schema, fr *tabular.Frame) ([]dataset.Fold, string, error) {
	p := schema.FoldPlan(dataset.FoldPlan{CV: f.cv, Seed: f.seed, File: f.folds, Field: "--cv"})
	if f.folds != "" {
		b, err := os.ReadFile(f.folds)
		if err != nil {
			return nil, "", err
		}
		p.Body = b
	}
	return p.Build(fr.Strata())
}

// loadTabular reads a CSV and encodes it with a schema fitted on it.
func (a *app) loadTabular(path, target, positive, task string, tf tableFlags) (*dataset.Table, *tabular.Schema, *tabular.Frame, error) {
	if path == "" || target == "" {
		return nil, nil, nil, fmt.Errorf("--data (a CSV file) and --target (its class or value column) are required")
	}
	t, _, _, err := a.readTable(path, tf)
	if err != nil {
		return nil, nil, nil, err
	}
	s, f, err := tabular.PrepareTask(t, target, positive, task)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, s, f, nil
}

type trainTabularResult struct {
	Out       string             `json:"model"`
	Kind      string             `json:"kind"`
	Task      string             `json:"task"`
	Rows      int                `json:"rows"`
	Features  int                `json:"features"`
	Classes   []string           `json:"classes"`
	Positive  string             `json:"positive"`
	Spec      any                `json:"hyperparameters"`
	CV        *tabular.CVSummary `json:"cv,omitempty"`
	Search    []search.Result    `json:"search,omitempty"`
	TrainSecs float64            `json:"train_seconds"`
	Train     tabular.Scores     `json:"train_scores"`
	DataHash  string             `json:"data_hash"`
}

// trainTabularOptions are train tabular's flags.
type trainTabularOptions struct {
	table    csvFlags
	specs    specFlags
	folds    foldFlags
	kind     string
	positive string
	task     string
	out      string
	force    bool
	nSearch  int
	method   string
	metric   string
	changed  func(string) bool
}

func (a *app) trainTabularCmd() *cobra.Command { return a.newTrainTabularCmd(a.runTrainTabular) }

func (a *app) newTrainTabularCmd(runF func(context.Context, *trainTabularOptions) error) *cobra.Command {
	o := &trainTabularOptions{}
	c := &cobra.Command{
		Use:   "tabular --data CSV --target COL --kind gbdt|logistic|fcn|linear",
		Short: "Train a classifier or a regression on a CSV table (optionally cross-validated and tuned)",
		Long: `Train a classifier (a target of classes) or a regression (a numeric target)
on a CSV table and save it, with its schema, to one file.

Models:
  gbdt      gradient-boosted trees: oblivious (CatBoost-style, default) or
            depthwise trees, categorical columns by ordered target statistics;
            on a numeric target squared error, or --loss huber for outliers
  logistic  L2 logistic regression on standardised features (multinomial on more than two classes)
  fcn       FCN blocks (Dense, LayerNorm, ReLU) with a sigmoid/softmax head (a
            linear head on the standardised target for a numeric one), AdamW
            and early stopping on 15% of the training rows
  linear    ridge regression on standardised features (numeric targets; --alpha)

The task is the target's: regression when it is numeric with fractions or
more than 50 distinct values, else classification; --task says otherwise.
A regression reports rmse, mae, r2, mape and max_error (scikit-learn's
definitions) and cross-validates on plain, unstratified K-fold.

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
      --target diagnosis --positive malignant --kind gbdt \
      --folds examples/tumor/breast_cancer_folds.json --out tumor-gbdt.rkm
  reckon train tabular --data t.csv --target y --kind fcn --search 20 --cv 5x1
  reckon train tabular --data examples/regression/friedman_region.csv --target y \
      --kind gbdt --folds examples/regression/friedman_region_folds.json --out reg.rkm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.changed = cmd.Flags().Changed
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.table.path, "data", "", "CSV table")
	f.StringVar(&o.table.column, "target", "", "class column")
	f.StringVar(&o.positive, "positive", "", "positive class label (default: the minority class of two)")
	f.StringVar(&o.task, "task", "", "classification or regression (default: regression for a numeric target with fractions or more than 50 distinct values)")
	f.StringVar(&o.kind, "kind", tabular.KindGBDT, "gbdt, logistic or fcn for classes; linear (ridge), gbdt or fcn for a numeric target")
	f.StringVar(&o.out, "out", "", "model file (default HOME/models/tabular-KIND.rkm)")
	f.BoolVar(&o.force, "force", false, "replace an existing model file")
	f.IntVar(&o.nSearch, "search", 0, "tune: number of settings to draw from the model's search space")
	f.StringVar(&o.method, "search-method", "random", "random or halving (successive halving over folds)")
	f.StringVar(&o.metric, "search-metric", "roc_auc", "cross-validated metric the search maximises (losses are minimised)")
	o.specs.register(c)
	o.folds.register(c, "")
	o.table.register(c)
	return c
}

func (a *app) runTrainTabular(ctx context.Context, o *trainTabularOptions) error {
	out := o.out
	if out == "" {
		out = a.homePath("models", "tabular-"+o.kind+model.Ext)
	}
	// Before any work: a model file is never replaced by surprise.
	if _, err := os.Stat(out); err == nil && !o.force {
		return fmt.Errorf("%s already exists; choose another --out or pass --force to replace it", out)
	}
	t, schema, fr, err := a.loadTabular(o.table.path, o.table.column, o.positive, o.task, o.table.tableFlags)
	if err != nil {
		return err
	}
	spec, err := o.specs.spec(o.changed, o.kind, schema, fr.Y)
	if err != nil {
		return err
	}
	folds, desc, err := o.folds.make(schema, fr)
	if err != nil {
		return err
	}
	metric := o.metric
	if schema.Regression() && !o.changed("search-metric") {
		metric = "rmse"
	}
	fit, err := tabular.Fit(ctx, tabular.Fitting{Spec: spec, Schema: schema, Frame: fr, Folds: folds, FoldDesc: desc, FoldSeed: o.folds.seed,
		Tuning:   tabular.Tuning{N: o.nSearch, Method: o.method, Metric: metric, Seed: o.specs.seed, Progress: a.bars},
		Progress: a.bars})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	art, err := fit.Model.FileArtifact(t.Hash(), version)
	if err != nil {
		return err
	}
	if err := model.WriteFile(out, art); err != nil {
		return err
	}
	res := trainTabularResult{Out: out, Kind: o.kind, Task: tabular.TaskClassification, Rows: fr.Rows, Features: fr.Cols, Classes: schema.Classes, Positive: schema.PositiveLabel(),
		Spec: art.Header.Hyper, CV: fit.CV, Search: fit.Search, TrainSecs: fit.TrainSecs, Train: fit.Train, DataHash: t.Hash()}
	if schema.Regression() {
		res.Task = tabular.TaskRegression
	}
	return a.report(res, func(w io.Writer) {
		if schema.Regression() {
			fmt.Fprintf(w, "%s on %s: %d rows, %d features, regression of %s\n", res.Kind, o.table.path, res.Rows, res.Features, schema.Target)
		} else {
			fmt.Fprintf(w, "%s on %s: %d rows, %d features, classes %s (positive: %s)\n", res.Kind, o.table.path, res.Rows, res.Features, strings.Join(res.Classes, "/"), res.Positive)
		}
		if len(res.Search) > 0 {
			printSearch(w, res.Search, metric)
		}
		if res.CV != nil {
			fmt.Fprintf(w, "cross-validation, %s (%.1f s):\n", res.CV.Folds, res.CV.Seconds)
			printScores(w, []string{res.Kind}, []*tabular.CVSummary{res.CV}, headlineFor(schema))
		}
		if schema.Regression() {
			fmt.Fprintf(w, "trained on all rows in %.2f s; training RMSE %.4g, R² %.4f (optimistic: seen rows)\n", res.TrainSecs, res.Train["rmse"], res.Train["r2"])
		} else {
			fmt.Fprintf(w, "trained on all rows in %.2f s; training accuracy %.4f (optimistic: seen rows)\n", res.TrainSecs, res.Train["accuracy"])
		}
		fmt.Fprintf(w, "saved %s\nnext: reckon eval --model %s --data NEW.csv\n", out, out)
	})
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

// regressionHeadline are a regression's report columns.
var regressionHeadline = []string{"rmse", "mae", "r2", "mape", "max_error"}

// headlineFor is the report's columns for the schema's task.
func headlineFor(s *tabular.Schema) []string {
	if s.Regression() {
		return regressionHeadline
	}
	return headline(s.PositiveLabel())
}

func printScores(w io.Writer, names []string, cvs []*tabular.CVSummary, cols []string) {
	tw := newTabWriter(w)
	fmt.Fprint(tw, "model")
	for _, m := range cols {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintln(tw)
	for i, cv := range cvs {
		fmt.Fprint(tw, names[i])
		for _, m := range cols {
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
	Threshold float64        `json:"threshold,omitempty"` // 0: more than two classes, the most probable wins
	Scores    tabular.Scores `json:"scores"`
	Report    any            `json:"report"`
	Plots     []string       `json:"plots,omitempty"`
	Classes   []string       `json:"classes,omitempty"`
	Positive  string         `json:"positive,omitempty"`
	Task      string         `json:"task,omitempty"`   // regression, or "" for classes
	Target    string         `json:"target,omitempty"` // regression: the predicted column
	// Importance: the trees' gain shares or the standardised coefficients.
	Importance *tabular.Importance `json:"importance,omitempty"`
	// SeenInTraining: the data's content hash is the training data's.
	SeenInTraining bool `json:"seen_in_training"`
}

// printImportance prints the inputs that weigh most, at most top of them.
func printImportance(w io.Writer, imp *tabular.Importance, top int) {
	if imp == nil || len(imp.Weights) == 0 {
		return
	}
	what := map[string]string{"gain": "share of the trees' split gain", "standardized_coefficient": "coefficient per standard deviation of the input"}[imp.Measure]
	fmt.Fprintf(w, "feature importance (%s", what)
	if len(imp.Weights) > top {
		fmt.Fprintf(w, "; top %d of %d, all in --json", top, len(imp.Weights))
	}
	fmt.Fprintln(w, "):")
	tw := newTabWriter(w)
	for _, x := range imp.Weights[:min(top, len(imp.Weights))] {
		if imp.Measure == "gain" {
			fmt.Fprintf(tw, "  %s\t%.4f\n", x.Feature, x.Value)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%+.4g\n", x.Feature, x.Value)
	}
	tw.Flush()
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

type compareResult struct {
	Data  string `json:"data"`
	Folds string `json:"folds"`
	*tabular.Compared
}

// compareOptions are compare's flags.
type compareOptions struct {
	table                                                    csvFlags
	folds                                                    foldFlags
	models, policies, metric, constraint, maximize, positive string
	pols                                                     []compare.Policy
	changed                                                  func(string) bool
}

func (a *app) compareCmd() *cobra.Command { return a.newCompareCmd(a.runCompare) }

func (a *app) newCompareCmd(runF func(context.Context, *compareOptions) error) *cobra.Command {
	o := &compareOptions{}
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
			if len(strings.Split(o.models, ",")) < 2 {
				return fmt.Errorf("--models needs at least two entries, e.g. logistic,gbdt,fcn")
			}
			// Policies and their metric names are checked before any data
			// is read; the classes in recall[CLASS] once the target is.
			o.changed = cmd.Flags().Changed
			o.pols = nil
			for _, p := range strings.Split(o.policies, ",") {
				pol, err := compare.Parse(strings.TrimSpace(p), o.metric, o.constraint, o.maximize)
				if err != nil {
					return err
				}
				if err := tabular.CheckPolicy(pol, nil); err != nil {
					return err
				}
				o.pols = append(o.pols, pol)
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.models, "models", "logistic,gbdt,fcn", "model files or kinds, comma-separated; on a numeric target linear,gbdt,fcn unless given")
	f.StringVar(&o.table.path, "data", "", "CSV table")
	f.StringVar(&o.table.column, "target", "", "class column (default: the first model file's)")
	f.StringVar(&o.positive, "positive", "", "positive class label (default: the first model file's, else the minority class)")
	f.StringVar(&o.policies, "policy", "wins", "wins, primary or constraint; several comma-separated")
	f.StringVar(&o.metric, "metric", "", "primary metric (primary) or tie-breaker (wins); default roc_auc, or rmse on a numeric target")
	f.StringVar(&o.constraint, "constraint", "", "constraint policy: METRIC>=VALUE, e.g. 'recall[malignant]>=0.97'")
	f.StringVar(&o.maximize, "maximize", "", "constraint policy: metric to maximise among models meeting it")
	o.folds.register(c, "5x3")
	o.table.register(c)
	return c
}

func (a *app) runCompare(ctx context.Context, o *compareOptions) error {
	var names []string
	var specs []tabular.Spec
	target, positive := o.table.column, o.positive
	for _, e := range strings.Split(o.models, ",") {
		n, sp, sc, err := tabular.CandidateSpec(strings.TrimSpace(e))
		if err != nil {
			return fmt.Errorf("--models %w", err)
		}
		if sc != nil && target == "" {
			target = sc.Target
			if positive == "" {
				positive = sc.PositiveLabel()
			}
		}
		names, specs = append(names, n), append(specs, sp)
	}
	_, schema, fr, err := a.loadTabular(o.table.path, target, positive, "", o.table.tableFlags)
	if err != nil {
		return err
	}
	if schema.Regression() {
		// A numeric target: regression kinds and policies by default.
		if !o.changed("models") {
			names, specs = nil, nil
			for _, k := range tabular.RegressionKinds {
				names, specs = append(names, k), append(specs, tabular.DefaultSpec(k))
			}
		}
		o.pols = nil
		for _, p := range strings.Split(o.policies, ",") {
			pol, err := compare.ParseTask(strings.TrimSpace(p), o.metric, o.constraint, o.maximize, true)
			if err != nil {
				return err
			}
			o.pols = append(o.pols, pol)
		}
	}
	folds, desc, err := o.folds.make(schema, fr)
	if err != nil {
		return err
	}
	cmp, err := tabular.Compare(ctx, tabular.Comparison{Names: names, Specs: specs, Schema: schema, Frame: fr, Folds: folds, Policies: o.pols, Progress: a.bars})
	if err != nil {
		return err
	}
	res := &compareResult{Data: o.table.path, Folds: desc, Compared: cmp}
	return a.report(res, func(w io.Writer) { printCompare(w, res) })
}

func printCompare(w io.Writer, res *compareResult) {
	cvs := make([]*tabular.CVSummary, len(res.Models))
	for i, n := range res.Models {
		cvs[i] = res.CV[n]
	}
	if res.Task == tabular.TaskRegression {
		fmt.Fprintf(w, "== %d regression models on %s, %s\n", len(res.Models), res.Data, res.Folds)
		printScores(w, res.Models, cvs, regressionHeadline)
	} else {
		fmt.Fprintf(w, "== %d models on %s, %s (threshold 0.5 unless a policy tunes it)\n", len(res.Models), res.Data, res.Folds)
		printScores(w, res.Models, cvs, headline(res.Positive))
	}
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
			mc := fmt.Sprintf("%.2f", p.McNemarP)
			if p.NoMcNemar {
				mc = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%+.4f\t%+.4f..%+.4f\t%v\t%s\n", p.Worse, p.Metric, p.Diff, p.CI[0], p.CI[1], p.Significant, mc)
		}
		tw.Flush()
		fmt.Fprintf(w, "why: %s\n", d.Reason)
	}
}
