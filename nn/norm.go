package nn

import (
	"fmt"
	"math"
	"sync"
)

// LayerNorm normalises each row over its features: y = g*(x-mean)/sd + b.
type LayerNorm struct {
	N    int
	G, B *Param
	Eps  float32
	xhat []float32
	isd  []float32
	rows int
}

// NewLayerNorm starts with gain 1 and bias 0, as PyTorch does.
func NewLayerNorm(n int) *LayerNorm {
	l := &LayerNorm{N: n, G: newParam("layernorm.g", n), B: newParam("layernorm.b", n), Eps: 1e-5}
	for i := range l.G.W {
		l.G.W[i] = 1
	}
	return l
}

func (l *LayerNorm) Params() []*Param { return []*Param{l.G, l.B} }

// Replicate shares l's weights with fresh gradients.
func (l *LayerNorm) Replicate() *LayerNorm {
	return &LayerNorm{N: l.N, G: l.G.replica(), B: l.B.replica(), Eps: l.Eps}
}

func (l *LayerNorm) Forward(x []float32, rows int) []float32 {
	n := l.N
	if len(x) != rows*n {
		panic(fmt.Sprintf("nn: LayerNorm got %d values for %d rows of %d", len(x), rows, n))
	}
	l.rows = rows
	l.xhat = grow(l.xhat, rows*n)
	l.isd = grow(l.isd, rows)
	y := make([]float32, rows*n)
	for r := range rows {
		row := x[r*n : (r+1)*n]
		var m, v float64
		for _, a := range row {
			m += float64(a)
		}
		m /= float64(n)
		for _, a := range row {
			v += (float64(a) - m) * (float64(a) - m)
		}
		isd := float32(1 / math.Sqrt(v/float64(n)+float64(l.Eps)))
		l.isd[r] = isd
		for j, a := range row {
			h := (a - float32(m)) * isd
			l.xhat[r*n+j] = h
			y[r*n+j] = l.G.W[j]*h + l.B.W[j]
		}
	}
	return y
}

func (l *LayerNorm) Backward(dy []float32) []float32 {
	n := l.N
	dx := make([]float32, len(dy))
	for r := range l.rows {
		var s1, s2 float32 // sum of dxhat, sum of dxhat*xhat
		for j := range n {
			i := r*n + j
			l.G.G[j] += dy[i] * l.xhat[i]
			l.B.G[j] += dy[i]
			dh := dy[i] * l.G.W[j]
			s1 += dh
			s2 += dh * l.xhat[i]
		}
		for j := range n {
			i := r*n + j
			dh := dy[i] * l.G.W[j]
			dx[i] = l.isd[r] / float32(n) * (float32(n)*dh - s1 - l.xhat[i]*s2)
		}
	}
	return dx
}

// BatchNorm normalises each feature over the batch in training and with
// running statistics in evaluation. Replicas made for data-parallel
// training share a sync group, so the statistics are those of the whole
// mini-batch however it is split (what PyTorch's SyncBatchNorm does across
// GPUs), summed in replica order so results repeat.
//
// The running statistics are float32, updated in float64 and rounded once
// a step, so a model file or a training checkpoint stores them exactly.
type BatchNorm struct {
	N             int
	G, B          *Param
	Eps, Momentum float64
	RunMean       []float32
	RunVar        []float32
	Training      bool

	sync *bnSync
	slot int
	xhat []float32
	isd  []float64
	rows int
}

// NewBatchNorm makes a layer for n features in training mode.
func NewBatchNorm(n int) *BatchNorm {
	b := &BatchNorm{N: n, G: newParam("batchnorm.g", n), B: newParam("batchnorm.b", n), Eps: 1e-5, Momentum: 0.1,
		RunMean: make([]float32, n), RunVar: make([]float32, n), Training: true}
	for i := range b.G.W {
		b.G.W[i] = 1
	}
	for i := range b.RunVar {
		b.RunVar[i] = 1
	}
	b.sync = newBNSync(1, n)
	return b
}

func (b *BatchNorm) Params() []*Param { return []*Param{b.G, b.B} }

// Stats are the running mean and variance as tensors that share b's
// storage: not trained, but saved and restored with the weights.
func (b *BatchNorm) Stats() []*Param {
	return []*Param{{Name: "batchnorm.mean", Shape: []int{b.N}, W: b.RunMean}, {Name: "batchnorm.var", Shape: []int{b.N}, W: b.RunVar}}
}

// Replicate is an evaluation-mode layer sharing b's weights and running
// statistics, with buffers of its own (one per goroutine predicting).
func (b *BatchNorm) Replicate() *BatchNorm {
	return &BatchNorm{N: b.N, G: b.G.replica(), B: b.B.replica(), Eps: b.Eps, Momentum: b.Momentum,
		RunMean: b.RunMean, RunVar: b.RunVar, sync: newBNSync(1, b.N)}
}

// SetActive says how many of the replicas (the first k) take part in the
// next step: a mini-batch smaller than the worker count leaves the rest
// idle, and the statistics must not wait for them. Call it between steps.
func (b *BatchNorm) SetActive(k int) {
	if k < 1 || k > b.sync.k {
		panic(fmt.Sprintf("nn: BatchNorm.SetActive(%d) with %d replicas", k, b.sync.k))
	}
	b.sync.active = k
}

// Replicas returns k layers for k data-parallel workers: shared weights,
// separate gradients, one statistics group. Replica 0 updates the running
// statistics of b.
func (b *BatchNorm) Replicas(k int) []*BatchNorm {
	s := newBNSync(k, b.N)
	out := make([]*BatchNorm, k)
	for i := range out {
		out[i] = &BatchNorm{N: b.N, G: b.G.replica(), B: b.B.replica(), Eps: b.Eps, Momentum: b.Momentum,
			RunMean: b.RunMean, RunVar: b.RunVar, Training: true, sync: s, slot: i}
	}
	return out
}

func (b *BatchNorm) Forward(x []float32, rows int) []float32 {
	n := b.N
	b.rows = rows
	y := make([]float32, rows*n)
	if !b.Training {
		for r := range rows {
			for j := range n {
				i := r*n + j
				h := (float64(x[i]) - float64(b.RunMean[j])) / math.Sqrt(float64(b.RunVar[j])+b.Eps)
				y[i] = b.G.W[j]*float32(h) + b.B.W[j]
			}
		}
		return y
	}
	// Partial sums of this replica, then the group's totals.
	part := make([]float64, 2*n+1)
	for r := range rows {
		for j := range n {
			v := float64(x[r*n+j])
			part[j] += v
			part[n+j] += v * v
		}
	}
	part[2*n] = float64(rows)
	tot := b.sync.reduce(b.slot, part)
	total := tot[2*n]
	b.xhat = grow(b.xhat, rows*n)
	if len(b.isd) != n {
		b.isd = make([]float64, n)
	}
	for j := range n {
		mean := tot[j] / total
		v := math.Max(tot[n+j]/total-mean*mean, 0)
		b.isd[j] = 1 / math.Sqrt(v+b.Eps)
		for r := range rows {
			i := r*n + j
			h := float32((float64(x[i]) - mean) * b.isd[j])
			b.xhat[i] = h
			y[i] = b.G.W[j]*h + b.B.W[j]
		}
		if b.slot == 0 {
			unbiased := v * total / math.Max(total-1, 1)
			b.RunMean[j] = float32((1-b.Momentum)*float64(b.RunMean[j]) + b.Momentum*mean)
			b.RunVar[j] = float32((1-b.Momentum)*float64(b.RunVar[j]) + b.Momentum*unbiased)
		}
	}
	return y
}

func (b *BatchNorm) Backward(dy []float32) []float32 {
	n, rows := b.N, b.rows
	part := make([]float64, 2*n+1)
	for r := range rows {
		for j := range n {
			i := r*n + j
			dh := float64(dy[i] * b.G.W[j])
			part[j] += dh
			part[n+j] += dh * float64(b.xhat[i])
			b.G.G[j] += dy[i] * b.xhat[i]
			b.B.G[j] += dy[i]
		}
	}
	part[2*n] = float64(rows)
	tot := b.sync.reduce(b.slot, part)
	total := tot[2*n]
	dx := make([]float32, len(dy))
	for r := range rows {
		for j := range n {
			i := r*n + j
			dh := float64(dy[i] * b.G.W[j])
			dx[i] = float32(b.isd[j] / total * (total*dh - tot[j] - float64(b.xhat[i])*tot[n+j]))
		}
	}
	return dx
}

// bnSync is a reusable barrier that sums the workers' partial vectors in
// slot order and hands every worker the same total. Only the first active
// slots take part (all k unless SetActive said fewer).
type bnSync struct {
	k      int
	active int
	mu     sync.Mutex
	cond   *sync.Cond
	parts  [][]float64
	got    int
	gen    int
	total  []float64
}

func newBNSync(k, n int) *bnSync {
	s := &bnSync{k: k, active: k, parts: make([][]float64, k)}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *bnSync) reduce(slot int, part []float64) []float64 {
	if s.active == 1 {
		return part
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gen := s.gen
	s.parts[slot] = part
	s.got++
	if s.got == s.active {
		tot := make([]float64, len(part))
		for _, p := range s.parts[:s.active] {
			for i, v := range p {
				tot[i] += v
			}
		}
		s.total, s.got = tot, 0
		s.gen++
		s.cond.Broadcast()
		return tot
	}
	for gen == s.gen {
		s.cond.Wait()
	}
	return s.total
}
