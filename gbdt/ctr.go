package gbdt

import (
	"math"
	"math/rand/v2"
)

// CTR encodes one categorical column as target statistics (CatBoost's
// "ordered target statistics"): a category's value is
// (sum of targets + prior·mean) / (count + prior) over the rows seen before.
// In training, "before" follows a random permutation, so a row's own label
// never enters its encoding; for prediction the statistics of all training
// rows are used.
type CTR struct {
	Column int `json:"column"`
	// Prior holds the training means of the encoded targets, one per output.
	Prior []float64 `json:"prior"`
	// Codes, Sums and Counts are the per-category totals over the training
	// rows: Sums has len(Prior) entries per code.
	Codes  []float64 `json:"codes"`
	Sums   []float64 `json:"sums"`
	Counts []float64 `json:"counts"`
}

// ctrTargets is the number of statistics per categorical column: the
// target itself, or one indicator per class for multiclass.
func ctrTargets(cfg Config) int {
	if cfg.Loss == Multiclass {
		return cfg.Classes
	}
	return 1
}

func ctrTarget(cfg Config, y float64, k int) float64 {
	if cfg.Loss == Multiclass {
		if int(y) == k {
			return 1
		}
		return 0
	}
	return y
}

func (m *Model) numericColumns(cat []bool) []int {
	var num []int
	for c := 0; c < m.Cols; c++ {
		if !cat[c] {
			num = append(num, c)
		}
	}
	return num
}

// fitCTR builds the training matrix with ordered statistics and stores the
// full-data statistics for prediction.
func (m *Model) fitCTR(d *Data, y []float64, rng *rand.Rand) ([]float64, int) {
	T := ctrTargets(m.Config)
	num := m.numericColumns(d.Categorical)
	var cats []int
	for c, isCat := range d.Categorical {
		if isCat {
			cats = append(cats, c)
		}
	}
	F := len(num) + len(cats)*T
	n := d.Rows
	x := make([]float64, n*F)
	for i := 0; i < n; i++ {
		for j, c := range num {
			x[i*F+j] = d.X[i*d.Cols+c]
		}
	}
	prior := make([]float64, T)
	for k := range prior {
		for _, v := range y {
			prior[k] += ctrTarget(m.Config, v, k)
		}
		prior[k] /= float64(n)
	}
	a := m.Config.CTRPrior
	perm := rng.Perm(n)
	for ci, c := range cats {
		type acc struct {
			sums  []float64
			count float64
		}
		seen := map[float64]*acc{}
		var order []float64
		for _, i := range perm {
			code := d.X[i*d.Cols+c]
			base := i*F + len(num) + ci*T
			if math.IsNaN(code) {
				for k := 0; k < T; k++ {
					x[base+k] = math.NaN()
				}
				continue
			}
			s := seen[code]
			if s == nil {
				s = &acc{sums: make([]float64, T)}
				seen[code] = s
				order = append(order, code)
			}
			for k := 0; k < T; k++ {
				x[base+k] = (s.sums[k] + a*prior[k]) / (s.count + a)
				s.sums[k] += ctrTarget(m.Config, y[i], k)
			}
			s.count++
		}
		t := CTR{Column: c, Prior: prior}
		for _, code := range order {
			s := seen[code]
			t.Codes = append(t.Codes, code)
			t.Sums = append(t.Sums, s.sums...)
			t.Counts = append(t.Counts, s.count)
		}
		m.CTR = append(m.CTR, t)
	}
	return x, F
}

// encodeCTR maps new rows to the internal columns with the full-training
// statistics; an unseen category gets the prior.
func (m *Model) encodeCTR(d *Data) []float64 {
	if len(m.CTR) == 0 {
		return d.X
	}
	T := ctrTargets(m.Config)
	cat := make([]bool, m.Cols)
	for _, t := range m.CTR {
		cat[t.Column] = true
	}
	num := m.numericColumns(cat)
	F := m.Internal
	a := m.Config.CTRPrior
	idx := make([]map[float64]int, len(m.CTR))
	for ci, t := range m.CTR {
		idx[ci] = make(map[float64]int, len(t.Codes))
		for j, c := range t.Codes {
			idx[ci][c] = j
		}
	}
	x := make([]float64, d.Rows*F)
	for i := 0; i < d.Rows; i++ {
		for j, c := range num {
			x[i*F+j] = d.X[i*d.Cols+c]
		}
		for ci, t := range m.CTR {
			base := i*F + len(num) + ci*T
			code := d.X[i*d.Cols+t.Column]
			j, ok := idx[ci][code]
			for k := 0; k < T; k++ {
				switch {
				case math.IsNaN(code):
					x[base+k] = math.NaN()
				case !ok:
					x[base+k] = t.Prior[k]
				default:
					x[base+k] = (t.Sums[j*T+k] + a*t.Prior[k]) / (t.Counts[j] + a)
				}
			}
		}
	}
	return x
}

// sourceColumn maps an internal column to the input column it came from.
func (m *Model) sourceColumn(f int) int {
	if len(m.CTR) == 0 {
		return f
	}
	nNum := m.Cols - len(m.CTR)
	if f >= nNum {
		return m.CTR[(f-nNum)/ctrTargets(m.Config)].Column
	}
	cat := make([]bool, m.Cols)
	for _, t := range m.CTR {
		cat[t.Column] = true
	}
	return m.numericColumns(cat)[f]
}
