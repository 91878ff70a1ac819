package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// checkGrads compares analytic gradients with central finite differences of
// loss() for every listed parameter (and the input, when given). loss must
// run the forward pass from scratch; backward must run forward then
// backward and leave the gradients in the params.
func checkGrads(t *testing.T, name string, params []*Param, input []float32, inputGrad func() []float32, loss func() float64) {
	t.Helper()
	const eps = 1e-2
	check := func(what string, w []float32, analytic []float32) {
		for j := range w {
			orig := w[j]
			w[j] = orig + eps
			lp := loss()
			w[j] = orig - eps
			lm := loss()
			w[j] = orig
			fd := (lp - lm) / (2 * eps)
			a := float64(analytic[j])
			if diff := math.Abs(fd - a); diff > 2e-3+2e-2*math.Abs(fd) {
				t.Errorf("%s %s[%d]: analytic %.6g, finite difference %.6g", name, what, j, a, fd)
				return
			}
		}
	}
	dx := inputGrad() // runs forward + backward, fills param grads
	for _, p := range params {
		g := append([]float32(nil), p.G...)
		check(p.Name, p.W, g)
	}
	if input != nil {
		check("input", input, dx)
	}
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

// weighted is a loss with a random but fixed weight per output, so every
// output's gradient is exercised.
func weighted(out, w []float32) float64 {
	var s float64
	for i, v := range out {
		s += float64(v) * float64(w[i])
	}
	return s
}

func TestDenseGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := NewDense(r, 5, 3)
	x := randSlice(r, 4*5, 1)
	w := randSlice(r, 4*3, 1)
	loss := func() float64 { return weighted(d.Forward(x, 4), w) }
	checkGrads(t, "dense", d.Params(), x, func() []float32 {
		ZeroGrad(d.Params())
		d.Forward(x, 4)
		return d.Backward(w)
	}, loss)
}

func TestLSTMGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const T, B, In, H = 5, 3, 4, 6
	l := NewLSTM(r, In, H)
	x := randSlice(r, T*B*In, 1)
	w := randSlice(r, T*B*H, 1)
	loss := func() float64 { return weighted(l.Forward(x, T, B), w) }
	checkGrads(t, "lstm", l.Params(), x, func() []float32 {
		ZeroGrad(l.Params())
		l.Forward(x, T, B)
		return l.Backward(w)
	}, loss)
}

// Two stacked LSTMs and a dense head on the last step, trained with MSE:
// the exact shape of the LSTM benchmark.
func TestStackedLSTMWithHeadGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const T, B, In, H = 4, 2, 3, 5
	l1, l2, head := NewLSTM(r, In, H), NewLSTM(r, H, H), NewDense(r, H, 1)
	x := randSlice(r, T*B*In, 1)
	target := randSlice(r, B, 1)
	grad := make([]float32, B)
	params := append(append(l1.Params(), l2.Params()...), head.Params()...)
	forward := func() []float32 {
		h2 := l2.Forward(l1.Forward(x, T, B), T, B)
		return head.Forward(h2[(T-1)*B*H:], B)
	}
	loss := func() float64 { return MSE(forward(), target, grad, 1) }
	checkGrads(t, "stack", params, x, func() []float32 {
		ZeroGrad(params)
		MSE(forward(), target, grad, 1)
		dlast := head.Backward(grad)
		dh2 := make([]float32, T*B*H)
		copy(dh2[(T-1)*B*H:], dlast)
		return l1.Backward(l2.Backward(dh2))
	}, loss)
}

func TestActivationsAgainstMath(t *testing.T) {
	for x := -100.0; x <= 100; x += 0.01 {
		f := float32(x)
		if want := math.Exp(float64(f)); want < math.MaxFloat32 {
			got := float64(exp32(f))
			if math.Abs(got-want) > 3e-7*want+2e-38 { // flushed to 0 below e^-87.3
				t.Fatalf("exp32(%g) = %g, want %g", f, got, want)
			}
		}
		if got, want := float64(sigmoid32(f)), 1/(1+math.Exp(-float64(f))); math.Abs(got-want) > 1e-7 {
			t.Fatalf("sigmoid32(%g) = %g, want %g", f, got, want)
		}
		if got, want := float64(tanh32(f)), math.Tanh(float64(f)); math.Abs(got-want) > 2e-7 {
			t.Fatalf("tanh32(%g) = %.9g, want %.9g", f, got, want)
		}
	}
}

func TestReduceGradsOrderAndClip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d := NewDense(r, 2, 2)
	a, b := d.Replicate(), d.Replicate()
	if &a.W.W[0] != &d.W.W[0] {
		t.Fatal("replica does not share weights")
	}
	a.W.G[0], b.W.G[0] = 1, 2
	ReduceGrads(d.Params(), a.Params(), b.Params())
	if d.W.G[0] != 3 {
		t.Errorf("reduced %g, want 3", d.W.G[0])
	}
	ZeroGrad(d.Params())
	d.W.G[0], d.W.G[1] = 3, 4
	if n := ClipGradNorm(d.Params(), 1); n != 5 || math.Abs(GradNorm(d.Params())-1) > 1e-5 {
		t.Errorf("norm before %g, after %g", n, GradNorm(d.Params()))
	}
}

// Adam's first step moves every weight by lr against the sign of its
// gradient (bias correction makes m/sqrt(v) = g/|g|), as PyTorch's does.
func TestAdamFirstStep(t *testing.T) {
	p := newParam("p", 3)
	p.W = []float32{1, 1, 1}
	p.G = []float32{0.5, -2, 1e-3}
	NewAdam(0.01).Step([]*Param{p})
	for i, want := range []float32{0.99, 1.01, 0.99} {
		if math.Abs(float64(p.W[i]-want)) > 1e-5 {
			t.Errorf("w[%d] = %g, want %g", i, p.W[i], want)
		}
	}
}

func TestBiLSTMGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const T, B, In, H = 4, 2, 3, 4
	l := NewBiLSTM(r, In, H)
	x := randSlice(r, T*B*In, 1)
	w := randSlice(r, T*B*2*H, 1)
	loss := func() float64 { return weighted(l.Forward(x, T, B), w) }
	checkGrads(t, "bilstm", l.Params(), x, func() []float32 {
		ZeroGrad(l.Params())
		l.Forward(x, T, B)
		return l.Backward(w)
	}, loss)
}

// The losses' gradients against finite differences of the losses
// themselves, through a Dense layer so the check runs on parameters.
func TestLossGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const T, B = 5, 3
	d := NewDense(r, 2, 1)
	x := randSlice(r, T*B*2, 2)
	target := randSlice(r, T*B, 1)
	grad := make([]float32, T*B)
	probs := make([]float32, T*B)
	soft := make([]float32, T*B) // a soft target: two neighbouring steps per sequence
	for b := range B {
		soft[(1+b)*B+b], soft[(2+b)*B+b] = 0.3, 0.7
	}
	losses := map[string]func() float64{
		"huber":   func() float64 { return Huber(d.Forward(x, T*B), target, grad, 0.5, 1) },
		"mse":     func() float64 { return MSE(d.Forward(x, T*B), target, grad, 1) },
		"softmax": func() float64 { return SoftmaxOverTime(d.Forward(x, T*B), soft, grad, probs, T, B, 1) },
	}
	for name, loss := range losses {
		checkGrads(t, name, d.Params(), nil, func() []float32 {
			ZeroGrad(d.Params())
			loss()
			return d.Backward(grad)
		}, loss)
	}
}

// BackwardParams must leave exactly the gradients Backward leaves.
func TestBackwardParamsMatchesBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const T, B, In, H = 6, 7, 3, 5
	l := NewLSTM(r, In, H)
	bi := NewBiLSTM(r, In, H)
	x := randSlice(r, T*B*In, 1)
	w := randSlice(r, T*B*H, 1)
	wb := randSlice(r, T*B*2*H, 1)
	for _, c := range []struct {
		name       string
		params     []*Param
		full       func()
		onlyParams func()
	}{
		{"lstm", l.Params(), func() { l.Forward(x, T, B); l.Backward(w) }, func() { l.Forward(x, T, B); l.BackwardParams(w) }},
		{"bilstm", bi.Params(), func() { bi.Forward(x, T, B); bi.Backward(wb) }, func() { bi.Forward(x, T, B); bi.BackwardParams(wb) }},
	} {
		ZeroGrad(c.params)
		c.full()
		var want [][]float32
		for _, p := range c.params {
			want = append(want, append([]float32(nil), p.G...))
		}
		ZeroGrad(c.params)
		c.onlyParams()
		for i, p := range c.params {
			for j := range p.G {
				if math.Float32bits(p.G[j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s %s[%d]: %g from BackwardParams, %g from Backward", c.name, p.Name, j, p.G[j], want[i][j])
				}
			}
		}
	}
}

// The vector kernels (products, activations, the backward step) must give
// the portable Go code's bits: same outputs, same gradients.
func TestLSTMVectorKernelsMatchPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const T, B, In, H = 7, 5, 11, 21 // H: two vectors of 8 and a tail of 5
	l := NewLSTM(r, In, H)
	x := randSlice(r, T*B*In, 1)
	w := randSlice(r, T*B*H, 1)
	run := func(portable bool) (out, dx []float32, grads [][]float32) {
		UsePortable(portable)
		defer UsePortable(false)
		ZeroGrad(l.Params())
		out = append([]float32(nil), l.Forward(x, T, B)...)
		dx = l.Backward(w)
		for _, p := range l.Params() {
			grads = append(grads, append([]float32(nil), p.G...))
		}
		return out, dx, grads
	}
	o1, d1, g1 := run(false)
	o2, d2, g2 := run(true)
	same := func(what string, a, b []float32) {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %g with vector kernels, %g portable", what, i, a[i], b[i])
			}
		}
	}
	same("output", o1, o2)
	same("dx", d1, d2)
	for i := range g1 {
		same(l.Params()[i].Name, g1[i], g2[i])
	}
}
