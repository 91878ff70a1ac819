package nn

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestLayerNormGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	l := NewLayerNorm(5)
	for i := range l.G.W {
		l.G.W[i], l.B.W[i] = float32(1+0.3*r.NormFloat64()), float32(0.2*r.NormFloat64())
	}
	x := randSlice(r, 3*5, 2)
	w := randSlice(r, 3*5, 1)
	loss := func() float64 { return weighted(l.Forward(x, 3), w) }
	checkGrads(t, "layernorm", l.Params(), x, func() []float32 {
		ZeroGrad(l.Params())
		l.Forward(x, 3)
		return l.Backward(w)
	}, loss)
}

func TestBatchNormGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	b := NewBatchNorm(3)
	for i := range b.G.W {
		b.G.W[i] = float32(1 + 0.3*r.NormFloat64())
	}
	x := randSlice(r, 6*3, 2)
	w := randSlice(r, 6*3, 1)
	loss := func() float64 { return weighted(b.Forward(x, 6), w) }
	checkGrads(t, "batchnorm", b.Params(), x, func() []float32 {
		ZeroGrad(b.Params())
		b.Forward(x, 6)
		return b.Backward(w)
	}, loss)
}

// Split over two replicas, BatchNorm computes the whole batch's statistics:
// outputs, input gradients and summed parameter gradients match one layer
// on the whole batch.
func TestBatchNormSyncMatchesWholeBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	const rows, n = 8, 4
	x := randSlice(r, rows*n, 3)
	dy := randSlice(r, rows*n, 1)
	whole := NewBatchNorm(n)
	y := whole.Forward(x, rows)
	dx := whole.Backward(dy)

	master := NewBatchNorm(n)
	reps := master.Replicas(2)
	ys := make([][]float32, 2)
	dxs := make([][]float32, 2)
	var wg sync.WaitGroup
	for k := range 2 {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			lo, hi := k*rows/2*n, (k+1)*rows/2*n
			ys[k] = reps[k].Forward(x[lo:hi], rows/2)
			dxs[k] = reps[k].Backward(dy[lo:hi])
		}(k)
	}
	wg.Wait()
	ReduceGrads(master.Params(), reps[0].Params(), reps[1].Params())
	gotY, gotDX := append(ys[0], ys[1]...), append(dxs[0], dxs[1]...)
	for i := range y {
		if math.Abs(float64(y[i]-gotY[i])) > 1e-5 || math.Abs(float64(dx[i]-gotDX[i])) > 1e-5 {
			t.Fatalf("value %d: y %g vs %g, dx %g vs %g", i, y[i], gotY[i], dx[i], gotDX[i])
		}
	}
	for j := range n {
		if math.Abs(float64(master.G.G[j]-whole.G.G[j])) > 1e-5 || master.RunMean[j] != whole.RunMean[j] {
			t.Fatalf("feature %d: gain grad %g vs %g, running mean %g vs %g", j, master.G.G[j], whole.G.G[j], master.RunMean[j], whole.RunMean[j])
		}
	}
	// Evaluation uses the running statistics.
	whole.Training = false
	if got := whole.Forward(x, rows); got[0] == y[0] {
		t.Error("evaluation mode used batch statistics")
	}
}

// TestBatchNormFewerRowsThanReplicas: a step with one row for two
// replicas runs on the first alone (ParallelStep) and the statistics do
// not wait for the idle one; the running mean is the one-row batch's.
func TestBatchNormFewerRowsThanReplicas(t *testing.T) {
	const n = 3
	master := NewBatchNorm(n)
	reps := master.Replicas(2)
	x := []float32{1, 2, 3}
	ps := [][]*Param{reps[0].Params(), reps[1].Params()}
	ran := make([]bool, 2)
	for range 2 { // twice: the barrier is reusable after a short step
		reps[0].SetActive(1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			ParallelStep(master.Params(), ps, []int{0}, func(w int, rows []int) float64 {
				ran[w] = true
				reps[w].Forward(x, len(rows))
				reps[w].Backward([]float32{1, 1, 1})
				return 0
			})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a one-row step on two replicas deadlocked")
		}
	}
	if !ran[0] || ran[1] {
		t.Errorf("replicas that ran: %v, want the first only", ran)
	}
	if want := float32(0.9*(0.9*0+0.1*1) + 0.1*1); math.Abs(float64(master.RunMean[0]-want)) > 1e-7 {
		t.Errorf("running mean %g after two steps of 1, want %g", master.RunMean[0], want)
	}
	reps[0].SetActive(2)
	defer func() {
		if recover() == nil {
			t.Error("SetActive(3) on two replicas accepted")
		}
	}()
	reps[0].SetActive(3)
}

func TestActivationAndDropoutGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	d := NewDense(r, 3, 4)
	x := randSlice(r, 5*3, 1)
	w := randSlice(r, 5*4, 1)
	for name, act := range map[string]interface {
		Forward([]float32) []float32
		Backward([]float32) []float32
	}{"relu": &ReLU{}, "tanh": &Tanh{}, "sigmoid": &Sigmoid{}} {
		loss := func() float64 { return weighted(act.Forward(d.Forward(x, 5)), w) }
		checkGrads(t, name, d.Params(), x, func() []float32 {
			ZeroGrad(d.Params())
			act.Forward(d.Forward(x, 5))
			return d.Backward(act.Backward(w))
		}, loss)
	}
	drop := &Dropout{P: 0.5, Training: true, R: rand.New(rand.NewPCG(1, 1))}
	ones := make([]float32, 10000)
	for i := range ones {
		ones[i] = 1
	}
	y := drop.Forward(ones)
	var sum float32
	for _, v := range y {
		sum += v
	}
	if math.Abs(float64(sum)/10000-1) > 0.05 {
		t.Errorf("inverted dropout mean %g, want 1", sum/10000)
	}
	drop.Training = false
	if y := drop.Forward(ones); &y[0] != &ones[0] {
		t.Error("evaluation dropout is not the identity")
	}
}

// Worked values: BCE of logit 0 is ln 2 for either label; PyTorch's
// CrossEntropyLoss(weight=[1, 3]) on logits [[2, 0], [0, 1]] with classes
// [0, 1] is (1*0.126928 + 3*0.313262)/4 = 0.266678.
func TestClassificationLosses(t *testing.T) {
	g := make([]float32, 2)
	if l := BCEWithLogits([]float32{0, 0}, []float32{0, 1}, g, 1, 1); math.Abs(l-math.Ln2) > 1e-12 {
		t.Errorf("bce %g", l)
	}
	g4 := make([]float32, 4)
	l := SoftmaxCE([]float32{2, 0, 0, 1}, 2, 2, []int{0, 1}, []float64{1, 3}, g4, 1)
	want := (math.Log1p(math.Exp(-2)) + 3*math.Log1p(math.Exp(-1))) / 4
	if math.Abs(l-want) > 1e-9 || math.Abs(want-0.266678) > 1e-6 {
		t.Errorf("softmax ce %g, want %g", l, want)
	}
	r := rand.New(rand.NewPCG(29, 30))
	d := NewDense(r, 3, 2)
	x := randSlice(r, 4*3, 1)
	y01 := []float32{0, 1, 1, 0, 1, 0, 0, 1}
	cls := []int{0, 1, 1, 0}
	grad := make([]float32, 8)
	for name, loss := range map[string]func() float64{
		"bce":        func() float64 { return BCEWithLogits(d.Forward(x, 4), y01, grad, 2.5, 1) },
		"softmax-ce": func() float64 { return SoftmaxCE(d.Forward(x, 4), 4, 2, cls, []float64{1, 2}, grad, 1) },
	} {
		checkGrads(t, name, d.Params(), nil, func() []float32 {
			ZeroGrad(d.Params())
			loss()
			return d.Backward(grad)
		}, loss)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	p := newParam("w", 1)
	var e EarlyStopping
	e.Patience = 2
	for epoch, score := range []float64{3, 2, 2.5, 2.6} {
		p.W[0] = float32(epoch)
		if stop := e.Observe(epoch, score, []*Param{p}); stop != (epoch == 3) {
			t.Fatalf("epoch %d: stop %v", epoch, stop)
		}
	}
	e.Restore([]*Param{p})
	if p.W[0] != 1 || e.BestEpoch != 1 {
		t.Errorf("restored %g from epoch %d", p.W[0], e.BestEpoch)
	}
}
