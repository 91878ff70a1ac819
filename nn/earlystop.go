package nn

// EarlyStopping watches a validation score (lower is better), keeps a copy
// of the best weights and says when Patience checks passed without an
// improvement of more than MinDelta.
type EarlyStopping struct {
	Patience int
	MinDelta float64

	Best      float64
	BestEpoch int
	// The rest is exported so a training checkpoint can store it: Since
	// checks without an improvement, the best weights, whether any score
	// was seen.
	Since int
	Saved [][]float32
	Seen  bool
}

// Observe records the score of epoch and reports whether to stop.
func (e *EarlyStopping) Observe(epoch int, score float64, params []*Param) (stop bool) {
	if !e.Seen || score < e.Best-e.MinDelta {
		e.Best, e.BestEpoch, e.Since, e.Seen = score, epoch, 0, true
		e.Saved = nil // a checkpoint may share the old copies
		for _, p := range params {
			e.Saved = append(e.Saved, append([]float32(nil), p.W...))
		}
		return false
	}
	e.Since++
	return e.Since >= e.Patience
}

// Restore puts the best weights back.
func (e *EarlyStopping) Restore(params []*Param) {
	for i, p := range params {
		if i < len(e.Saved) {
			copy(p.W, e.Saved[i])
		}
	}
}
