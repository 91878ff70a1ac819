package tabular

import (
	"fmt"
	"strconv"

	"github.com/reckon-ml/reckon/search"
)

// Space is the declared search space of a kind: ranges wide enough to
// matter, narrow enough that 20-50 random draws cover them. Dimensions are
// named as the kind's parameters are in pipeline YAML and model files
// (learning_rate, c, weight_decay, ...), so a search result can be copied
// into a pipeline; fcn's width and blocks together set its hidden list.
func Space(kind string) search.Space {
	switch kind {
	case KindGBDT:
		return search.Space{
			{Name: "learning_rate", Kind: search.LogUniform, Min: 0.02, Max: 0.3},
			{Name: "depth", Kind: search.IntRange, Min: 3, Max: 8},
			{Name: "l2", Kind: search.LogUniform, Min: 0.5, Max: 30},
			{Name: "subsample", Kind: search.Uniform, Min: 0.5, Max: 1},
			{Name: "colsample", Kind: search.Uniform, Min: 0.3, Max: 1},
			{Name: "trees", Kind: search.IntRange, Min: 100, Max: 600},
		}
	case KindLogistic:
		return search.Space{{Name: "c", Kind: search.LogUniform, Min: 1e-3, Max: 100}}
	case KindLinear:
		return search.Space{{Name: "alpha", Kind: search.LogUniform, Min: 1e-3, Max: 1e3}}
	case KindFCN:
		return search.Space{
			{Name: "lr", Kind: search.LogUniform, Min: 3e-4, Max: 3e-3},
			{Name: "weight_decay", Kind: search.LogUniform, Min: 1e-4, Max: 0.1},
			{Name: "dropout", Kind: search.Uniform, Min: 0, Max: 0.4},
			{Name: "width", Kind: search.Choice, Choices: []string{"32", "64", "128"}},
			{Name: "blocks", Kind: search.IntRange, Min: 1, Max: 3},
		}
	}
	return nil
}

// Apply returns spec with a search point's values set.
func Apply(spec Spec, p search.Point) (Spec, error) {
	for k, v := range p {
		f, _ := v.(float64)
		i, _ := v.(int)
		switch spec.Model + "." + k {
		case "gbdt.learning_rate":
			spec.GBDT.LearningRate = f
		case "gbdt.depth":
			spec.GBDT.Depth = i
		case "gbdt.l2":
			spec.GBDT.L2 = f
		case "gbdt.subsample":
			spec.GBDT.Subsample = f
		case "gbdt.colsample":
			spec.GBDT.ColSample = f
		case "gbdt.trees":
			spec.GBDT.Trees = i
		case "logistic.c":
			spec.Logistic.C = f
		case "linear.alpha":
			spec.Linear.Alpha = f
		case "fcn.lr":
			spec.FCN.LR = f
		case "fcn.weight_decay":
			spec.FCN.WeightDecay = f
		case "fcn.dropout":
			spec.FCN.Dropout = f
		case "fcn.width", "fcn.blocks":
			// Set together below.
		default:
			return spec, fmt.Errorf("search: %s has no parameter %q", spec.Model, k)
		}
	}
	if spec.Model == KindFCN {
		width, blocks := 64, len(spec.FCN.Hidden)
		if w, ok := p["width"].(string); ok {
			width, _ = strconv.Atoi(w)
		} else if len(spec.FCN.Hidden) > 0 {
			width = spec.FCN.Hidden[0]
		}
		if b, ok := p["blocks"].(int); ok {
			blocks = b
		}
		spec.FCN.Hidden = make([]int, blocks)
		for i := range spec.FCN.Hidden {
			spec.FCN.Hidden[i] = width
		}
	}
	return spec, nil
}
