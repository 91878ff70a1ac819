package nn

import "math/rand/v2"

// BiLSTM runs one LSTM forward in time and another backward and
// concatenates their outputs per step (2H wide), so every step sees the
// whole sequence: for reentry, the samples after the crossing pin down the
// ballistic coefficient.
type BiLSTM struct {
	Fwd, Bwd *LSTM
	t, b     int
}

// NewBiLSTM makes a bidirectional layer with hidden units per direction.
func NewBiLSTM(r *rand.Rand, in, hidden int) *BiLSTM {
	return &BiLSTM{Fwd: NewLSTM(r, in, hidden), Bwd: NewLSTM(r, in, hidden)}
}

func (l *BiLSTM) Params() []*Param { return append(l.Fwd.Params(), l.Bwd.Params()...) }

// Replicate returns a BiLSTM sharing l's weights with its own gradients.
func (l *BiLSTM) Replicate() *BiLSTM { return &BiLSTM{Fwd: l.Fwd.Replicate(), Bwd: l.Bwd.Replicate()} }

// Out is the output width per step.
func (l *BiLSTM) Out() int { return 2 * l.Fwd.Hidden }

// Forward maps T*B*In to T*B*2H.
func (l *BiLSTM) Forward(x []float32, T, B int) []float32 {
	l.t, l.b = T, B
	H := l.Fwd.Hidden
	hf := l.Fwd.Forward(x, T, B)
	hb := reverseTime(l.Bwd.Forward(reverseTime(x, T, B, l.Fwd.In), T, B), T, B, H)
	out := make([]float32, T*B*2*H)
	for r := range T * B {
		copy(out[r*2*H:r*2*H+H], hf[r*H:(r+1)*H])
		copy(out[r*2*H+H:(r+1)*2*H], hb[r*H:(r+1)*H])
	}
	return out
}

// Backward takes dL/dout (T*B*2H) and returns dL/dx.
func (l *BiLSTM) Backward(dout []float32) []float32 { return l.backward(dout, true) }

// BackwardParams is Backward for a first layer: no dL/dx.
func (l *BiLSTM) BackwardParams(dout []float32) { l.backward(dout, false) }

func (l *BiLSTM) backward(dout []float32, wantDx bool) []float32 {
	T, B, H := l.t, l.b, l.Fwd.Hidden
	df := make([]float32, T*B*H)
	db := make([]float32, T*B*H)
	for r := range T * B {
		copy(df[r*H:(r+1)*H], dout[r*2*H:r*2*H+H])
		copy(db[r*H:(r+1)*H], dout[r*2*H+H:(r+1)*2*H])
	}
	if !wantDx {
		l.Fwd.BackwardParams(df)
		l.Bwd.BackwardParams(reverseTime(db, T, B, H))
		return nil
	}
	dx := l.Fwd.Backward(df)
	dxb := reverseTime(l.Bwd.Backward(reverseTime(db, T, B, H)), T, B, l.Fwd.In)
	for i := range dx {
		dx[i] += dxb[i]
	}
	return dx
}

// reverseTime returns x (T*B*F, time-major) with the time axis reversed.
func reverseTime(x []float32, T, B, F int) []float32 {
	out := make([]float32, len(x))
	row := B * F
	for t := range T {
		copy(out[(T-1-t)*row:(T-t)*row], x[t*row:(t+1)*row])
	}
	return out
}
