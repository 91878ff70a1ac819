package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dense is y = x·W + b for rows of x.
type Dense struct {
	In, Out int
	W, B    *Param // W is In×Out
	x       []float32
	rows    int
}

// NewDense initialises like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)).
func NewDense(r *rand.Rand, in, out int) *Dense {
	d := &Dense{In: in, Out: out, W: newParam("dense.w", in, out), B: newParam("dense.b", out)}
	k := 1 / math.Sqrt(float64(in))
	d.W.uniform(r, k)
	d.B.uniform(r, k)
	return d
}

func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }

// Replicate returns a Dense sharing d's weights with its own gradients.
func (d *Dense) Replicate() *Dense {
	return &Dense{In: d.In, Out: d.Out, W: d.W.replica(), B: d.B.replica()}
}

// Forward maps rows×In to rows×Out. x is kept for Backward.
func (d *Dense) Forward(x []float32, rows int) []float32 {
	if len(x) != rows*d.In {
		panic(fmt.Sprintf("nn: Dense.Forward got %d values for %d rows of %d", len(x), rows, d.In))
	}
	d.x, d.rows = x, rows
	y := make([]float32, rows*d.Out)
	for i := range rows {
		copy(y[i*d.Out:(i+1)*d.Out], d.B.W)
	}
	gemm(false, false, rows, d.Out, d.In, 1, x, d.W.W, 1, y)
	return y
}

// Backward accumulates the parameter gradients for dy and returns dx.
func (d *Dense) Backward(dy []float32) []float32 {
	gemm(true, false, d.In, d.Out, d.rows, 1, d.x, dy, 1, d.W.G)
	addColSums(d.B.G, dy, d.rows, d.Out)
	dx := make([]float32, d.rows*d.In)
	gemm(false, true, d.rows, d.In, d.Out, 1, dy, d.W.W, 0, dx)
	return dx
}
