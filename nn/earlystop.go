package nn

// EarlyStopping watches a validation score (lower is better), keeps a copy
// of the best weights and says when Patience checks passed without an
// improvement of more than MinDelta.
type EarlyStopping struct {
	Patience int
	MinDelta float64

	Best      float64
	BestEpoch int
	since     int
	saved     [][]float32
	seen      bool
}

// Observe records the score of epoch and reports whether to stop.
func (e *EarlyStopping) Observe(epoch int, score float64, params []*Param) (stop bool) {
	if !e.seen || score < e.Best-e.MinDelta {
		e.Best, e.BestEpoch, e.since, e.seen = score, epoch, 0, true
		e.saved = e.saved[:0]
		for _, p := range params {
			e.saved = append(e.saved, append([]float32(nil), p.W...))
		}
		return false
	}
	e.since++
	return e.since >= e.Patience
}

// Restore puts the best weights back.
func (e *EarlyStopping) Restore(params []*Param) {
	for i, p := range params {
		if i < len(e.saved) {
			copy(p.W, e.saved[i])
		}
	}
}
