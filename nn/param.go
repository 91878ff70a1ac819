package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Param is one weight tensor and its gradient.
type Param struct {
	Name  string
	Shape []int
	W     []float32
	G     []float32
}

func newParam(name string, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: shape, W: make([]float32, n), G: make([]float32, n)}
}

// uniform fills W from U(-k, k), the initialisation PyTorch uses for Linear
// and LSTM weights with k = 1/sqrt(fan).
func (p *Param) uniform(r *rand.Rand, k float64) {
	for i := range p.W {
		p.W[i] = float32((2*r.Float64() - 1) * k)
	}
}

// replica shares W with p and has its own gradient.
func (p *Param) replica() *Param {
	return &Param{Name: p.Name, Shape: p.Shape, W: p.W, G: make([]float32, len(p.G))}
}

// Layer is anything with parameters.
type Layer interface {
	Params() []*Param
}

// ZeroGrad clears the gradients of params.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		clear(p.G)
	}
}

// ReduceGrads sets each master gradient to the sum of the replicas'
// gradients, taken in replica order so the result does not depend on
// which worker finished first.
func ReduceGrads(master []*Param, replicas ...[]*Param) {
	for i, p := range master {
		clear(p.G)
		for _, r := range replicas {
			if len(r) != len(master) || len(r[i].G) != len(p.G) {
				panic(fmt.Sprintf("nn: replica parameter %d does not match %s", i, p.Name))
			}
			g := r[i].G
			for j := range p.G {
				p.G[j] += g[j]
			}
		}
	}
}

// GradNorm is the global L2 norm of the gradients, accumulated in float64.
func GradNorm(params []*Param) float64 {
	var s float64
	for _, p := range params {
		for _, g := range p.G {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients so their global norm is at most max,
// as torch.nn.utils.clip_grad_norm_ does, and returns the norm before.
func ClipGradNorm(params []*Param, max float64) float64 {
	n := GradNorm(params)
	if n > max && n > 0 {
		s := float32(max / (n + 1e-6))
		for _, p := range params {
			for j := range p.G {
				p.G[j] *= s
			}
		}
	}
	return n
}

// ParallelStep is one data-parallel training step: rows are split into
// min(len(replicas), len(rows)) contiguous chunks, step runs on each
// concurrently with that replica's gradients cleared, and the replicas'
// gradients are summed into master in replica order, so the result repeats
// bit for bit for a given number of replicas. It returns what each step
// returned (0 for a replica left idle).
func ParallelStep(master []*Param, replicas [][]*Param, rows []int, step func(w int, chunk []int) float64) []float64 {
	out := make([]float64, len(replicas))
	for _, r := range replicas {
		ZeroGrad(r)
	}
	// Fewer rows than workers: the first len(rows) work, one row each
	// (what BatchNorm.SetActive is told).
	k := min(len(replicas), len(rows))
	var wg sync.WaitGroup
	for w := range k {
		lo, hi := w*len(rows)/k, (w+1)*len(rows)/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[w] = step(w, rows[lo:hi])
		}()
	}
	wg.Wait()
	ReduceGrads(master, replicas...)
	return out
}
