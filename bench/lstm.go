package bench

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/nn"
	"github.com/reckon-ml/reckon/sgemm"
)

// LSTMConfig is the anchor's `train` shape (lstm_anchor.py defaults).
type LSTMConfig struct {
	Hidden, Layers, Batch, Epochs, Threads int
	LR                                     float64
	Seed                                   uint64
}

// DefaultLSTMConfig matches lstm_anchor.py train's defaults.
func DefaultLSTMConfig() LSTMConfig {
	return LSTMConfig{Hidden: 64, Layers: 2, Batch: 32, Epochs: 5, Threads: 2, LR: 1e-3}
}

// LSTMResult has the anchor's JSON keys.
type LSTMResult struct {
	Engine          string    `json:"engine"`
	Threads         int       `json:"threads"`
	N               int       `json:"n"`
	T               int       `json:"t"`
	F               int       `json:"f"`
	Hidden          int       `json:"hidden"`
	Layers          int       `json:"layers"`
	Batch           int       `json:"batch"`
	MedianSPerEpoch float64   `json:"median_s_per_epoch"`
	SPerEpoch       []float64 `json:"s_per_epoch"`
	LossPerEpoch    []float64 `json:"loss_per_epoch"`
	Load1           float64   `json:"load1"`
}

// lstmNet is stacked LSTM layers with a linear head on the last step.
type lstmNet struct {
	layers []*nn.LSTM
	head   *nn.Dense
}

func (m *lstmNet) params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range m.layers {
		ps = append(ps, l.Params()...)
	}
	return append(ps, m.head.Params()...)
}

func (m *lstmNet) replicate() *lstmNet {
	r := &lstmNet{head: m.head.Replicate()}
	for _, l := range m.layers {
		r.layers = append(r.layers, l.Replicate())
	}
	return r
}

// step runs forward and backward on one chunk (time-major x of T×B×F) and
// returns its summed squared error. scale is the chunk's share of the batch.
func (m *lstmNet) step(x, y []float32, T, B int, scale float32) float64 {
	h := x
	for _, l := range m.layers {
		h = l.Forward(h, T, B)
	}
	H := m.head.In
	pred := m.head.Forward(h[(T-1)*B*H:], B)
	grad := make([]float32, B)
	loss := nn.MSE(pred, y, grad, scale)
	dlast := m.head.Backward(grad)
	dh := make([]float32, T*B*H)
	copy(dh[(T-1)*B*H:], dlast)
	for i := len(m.layers) - 1; i > 0; i-- {
		dh = m.layers[i].Backward(dh)
	}
	m.layers[0].BackwardParams(dh) // the data needs no gradient
	return loss * float64(B)
}

// TrainLSTM trains the anchor's model on s with Adam and MSE, dropping the
// last partial batch, and times every epoch after one untimed warm-up.
// Each batch is split over cfg.Threads workers whose gradients are summed in
// worker order, so the result is repeatable for a seed and thread count.
func TrainLSTM(ctx context.Context, s *Seqbin, cfg LSTMConfig, progress func(epoch int, loss float64)) (LSTMResult, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x1575))
	net := &lstmNet{}
	in := s.F
	for range cfg.Layers {
		net.layers = append(net.layers, nn.NewLSTM(r, in, cfg.Hidden))
		in = cfg.Hidden
	}
	net.head = nn.NewDense(r, cfg.Hidden, 1)
	params := net.params()
	workers := max(1, min(cfg.Threads, cfg.Batch))
	replicas := make([]*lstmNet, workers)
	repParams := make([][]*nn.Param, workers)
	for w := range replicas {
		replicas[w] = net.replicate()
		repParams[w] = replicas[w].params()
	}
	opt := nn.NewAdam(cfg.LR)
	nb := s.N / cfg.Batch
	T, F := s.T, s.F

	epoch := func() (float64, error) {
		perm := r.Perm(s.N)
		var total float64
		for b := range nb {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			idx := perm[b*cfg.Batch : (b+1)*cfg.Batch]
			losses := nn.ParallelStep(params, repParams, idx, func(w int, rows []int) float64 {
				B := len(rows)
				x := make([]float32, T*B*F)
				y := make([]float32, B)
				for j, n := range rows {
					y[j] = s.Y[n]
					for t := range T {
						copy(x[(t*B+j)*F:(t*B+j+1)*F], s.X[(n*T+t)*F:(n*T+t+1)*F])
					}
				}
				return replicas[w].step(x, y, T, B, float32(B)/float32(cfg.Batch))
			})
			opt.Step(params)
			var l float64
			for _, v := range losses {
				l += v
			}
			total += l / float64(cfg.Batch)
		}
		return total / float64(nb), nil
	}

	res := LSTMResult{Engine: "reckon nn (Go " + runtime.Version() + ", " + sgemm.Kernel() + " kernel)", Threads: workers, N: s.N, T: s.T, F: s.F,
		Hidden: cfg.Hidden, Layers: cfg.Layers, Batch: cfg.Batch}
	if _, err := epoch(); err != nil { // warm-up, not timed
		return res, err
	}
	for e := range cfg.Epochs {
		t0 := time.Now()
		l, err := epoch()
		if err != nil {
			return res, err
		}
		res.SPerEpoch = append(res.SPerEpoch, round(time.Since(t0).Seconds(), 3))
		res.LossPerEpoch = append(res.LossPerEpoch, round(l, 5))
		if progress != nil {
			progress(e+1, l)
		}
	}
	sorted := slices.Clone(res.SPerEpoch)
	slices.Sort(sorted)
	res.MedianSPerEpoch = sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		res.MedianSPerEpoch = round((sorted[len(sorted)/2-1]+sorted[len(sorted)/2])/2, 3)
	}
	res.Load1 = load1()
	return res, nil
}

func round(v float64, digits int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return p
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
