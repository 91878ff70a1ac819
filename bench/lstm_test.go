package bench

import (
	"context"
	"math/rand/v2"
	"testing"
)

func synthetic(n, t, f int) *Seqbin {
	r := rand.New(rand.NewPCG(1, 1))
	s := &Seqbin{N: n, T: t, F: f, X: make([]float32, n*t*f), Y: make([]float32, n)}
	for i := range s.X {
		s.X[i] = float32(r.NormFloat64())
	}
	for i := range s.Y {
		// A target the LSTM can learn: the mean of feature 0 over time.
		var m float32
		for k := range t {
			m += s.X[(i*t+k)*f]
		}
		s.Y[i] = m / float32(t) * 3
	}
	return s
}

// Training reduces the loss, and the same seed and thread count give the
// same losses bit for bit.
func TestTrainLSTMLearnsAndRepeats(t *testing.T) {
	s := synthetic(256, 20, 4)
	cfg := LSTMConfig{Hidden: 16, Layers: 2, Batch: 32, Epochs: 6, Threads: 2, LR: 5e-3, Seed: 3}
	a, err := TrainLSTM(context.Background(), s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if last, first := a.LossPerEpoch[len(a.LossPerEpoch)-1], a.LossPerEpoch[0]; !(last < 0.7*first) {
		t.Errorf("loss did not fall: %v", a.LossPerEpoch)
	}
	b, err := TrainLSTM(context.Background(), s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.LossPerEpoch {
		if a.LossPerEpoch[i] != b.LossPerEpoch[i] {
			t.Fatalf("run 2 differs: %v vs %v", a.LossPerEpoch, b.LossPerEpoch)
		}
	}
}

func BenchmarkLSTMEpoch(b *testing.B) {
	s := synthetic(512, 120, 12)
	cfg := DefaultLSTMConfig()
	cfg.Epochs = 1
	for b.Loop() {
		if _, err := TrainLSTM(context.Background(), s, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
