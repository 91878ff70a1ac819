package tabular

import (
	"fmt"

	"github.com/reckon-ml/reckon/chart"
	"github.com/reckon-ml/reckon/model"
)

// Plots draws an evaluation's figures into dir: the confusion matrix, the
// ROC and precision-recall curves (two classes) and the training curves the
// artifact kept. It returns the files' paths.
func Plots(dir string, art *model.Artifact, m *Model, e *Evaluation) ([]string, error) {
	kind := art.Header.Kind
	figs := &chart.Figures{Dir: dir}
	if m.Schema.Regression() {
		return regressionPlots(figs, art, m, e)
	}
	labels := make([]string, len(e.Report.Classes))
	for i, c := range e.Report.Classes {
		labels[i] = c.Label
	}
	if err := figs.Draw("confusion_matrix.png", func(p string) error {
		return chart.Matrix(p, fmt.Sprintf("%s: confusion matrix (threshold %.2f)", kind, m.Spec.Threshold), labels, e.Report.Confusion)
	}); err != nil {
		return nil, err
	}
	if e.ROC != nil {
		if err := figs.Draw("roc.png", func(p string) error {
			return chart.Lines(p, fmt.Sprintf("%s: ROC (AUC %.4f)", kind, e.Scores["roc_auc"]), "false positive rate", "true positive rate",
				[]chart.Line{{Name: kind, X: e.ROC.X, Y: e.ROC.Y}}, true)
		}); err != nil {
			return nil, err
		}
		if err := figs.Draw("precision_recall.png", func(p string) error {
			return chart.Lines(p, fmt.Sprintf("%s: precision-recall (AP %.4f)", kind, e.Scores["average_precision"]), "recall", "precision",
				[]chart.Line{{Name: kind, X: e.PR.X, Y: e.PR.Y}}, false)
		}); err != nil {
			return nil, err
		}
	}
	return trainingCurves(figs, art)
}

func trainingCurves(figs *chart.Figures, art *model.Artifact) ([]string, error) {
	kind := art.Header.Kind
	if len(art.Header.Curves) > 0 {
		if err := figs.Draw("training_curves.png", func(p string) error {
			return chart.Curves(p, kind+": training", map[string]string{KindGBDT: "tree", KindFCN: "epoch"}[kind], "loss", art.Header.Curves)
		}); err != nil {
			return nil, err
		}
	}
	return figs.Paths, nil
}

// regressionPlots: predicted against true values (the diagonal is a
// perfect model) and residuals against the prediction (a trend or a
// funnel shows what the model misses).
func regressionPlots(figs *chart.Figures, art *model.Artifact, m *Model, e *Evaluation) ([]string, error) {
	kind, target := art.Header.Kind, m.Schema.Target
	pvt := make([]chart.Point, len(e.Values))
	res := make([]chart.Point, len(e.Values))
	for i, v := range e.Values {
		pvt[i] = chart.Point{X: e.Truth[i], Y: v}
		res[i] = chart.Point{X: v, Y: e.Truth[i] - v}
	}
	if err := figs.Draw("predicted_vs_true.png", func(p string) error {
		return chart.Scatter(p, fmt.Sprintf("%s: predicted against true %s (R² %.4f)", kind, target, e.Scores["r2"]), "true "+target, "predicted "+target, pvt)
	}); err != nil {
		return nil, err
	}
	if err := figs.Draw("residuals.png", func(p string) error {
		return chart.Scatter(p, fmt.Sprintf("%s: residuals (RMSE %.4g)", kind, e.Scores["rmse"]), "predicted "+target, "true − predicted", res)
	}); err != nil {
		return nil, err
	}
	return trainingCurves(figs, art)
}
