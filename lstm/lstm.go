// Package lstm is the learned reentry model: a bidirectional LSTM over the
// last steps of per-step track features, with two heads trained jointly —
// a per-step regression of the time to reentry, read out as a median, and a
// softmax over steps with soft sub-step targets, read out as the expected
// time near its peak. The prediction is the mean of the two readouts.
package lstm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/nn"
	"github.com/reckon-ml/reckon/physics"
)

// Kind is the registered model kind.
const Kind = "lstm"

// Config holds the architecture and training settings.
type Config struct {
	Window       int     `json:"window_steps"` // last steps of each track seen by the network
	Hidden       int     `json:"hidden"`       // per direction
	Layers       int     `json:"layers"`
	Epochs       int     `json:"epochs"`
	Batch        int     `json:"batch"`
	LR           float64 `json:"max_lr"` // OneCycle peak
	Clip         float64 `json:"clip_norm"`
	AugmentSigma float64 `json:"augment_sigma_m"` // fresh position noise per epoch (0: off)
	Shift        int     `json:"max_shift_steps"` // random trimming of the track end per epoch
	Seed         uint64  `json:"seed"`
	Readout      string  `json:"readout"` // mean, regression or softmax
	TTA          int     `json:"tta"`     // test-time average over this many end trims (1: none)
	Workers      int     `json:"workers"` // data-parallel workers: part of what fixes the bytes

	// Options off by default (the original work found they hurt here):
	Dropout     float64 `json:"dropout,omitempty"`             // between stacked layers, in training
	BatchNorm   bool    `json:"batch_norm,omitempty"`          // between stacked layers: statistics over the whole mini-batch and every step
	Patience    int     `json:"early_stop_patience,omitempty"` // epochs without a better holdout RMSE before stopping
	HoldoutFrac float64 `json:"early_stop_frac,omitempty"`     // training flights held out for early stopping (0: 0.15)

	// Forecast trains for variant B: tracks cut H seconds before reentry,
	// H unknown. The regression head learns the unclipped time to reentry
	// of every step and the prediction is read from the last steps; the
	// softmax head, which needs the reentry inside the window, is unused.
	Forecast bool `json:"forecast,omitempty"`
}

// DefaultHoldoutFrac is the share of training flights early stopping
// holds out when the config names none.
const DefaultHoldoutFrac = 0.15

// DefaultConfig is what `reckon train reentry --model lstm` uses.
func DefaultConfig() Config {
	return Config{Window: 256, Hidden: 64, Layers: 2, Epochs: 120, Batch: 8, LR: 3e-3, Clip: 1,
		AugmentSigma: 10, Shift: 8, Readout: "mean", TTA: 1, Workers: 2}
}

const (
	regScale = 30.0 // s: regression target is clip((t - t_re)/regScale, -1, 1)
	// fcScale (s) scales the forecast target (t - t_re)/fcScale: the
	// horizons run to minutes, so the target stays of order one.
	fcScale = 60.0
	// fcVotes is how many of the last observed steps vote on a forecast.
	fcVotes  = 16
	huberD   = 0.05
	ceWeight = 0.05
)

type net struct {
	layers []*nn.BiLSTM
	norms  []*nn.BatchNorm // with BatchNorm: after every layer but the last (evaluation mode but in training replicas)
	drops  []*nn.Dropout   // after every layer but the last (and its norm), in training replicas only
	reg    *nn.Dense       // per step -> time offset
	cls    *nn.Dense       // per step -> logit
}

func newNet(r *rand.Rand, cfg Config) *net {
	n := &net{}
	in := NumFeatures
	for range cfg.Layers {
		l := nn.NewBiLSTM(r, in, cfg.Hidden)
		n.layers = append(n.layers, l)
		in = l.Out()
	}
	n.reg = nn.NewDense(r, in, 1)
	n.cls = nn.NewDense(r, in, 1)
	if cfg.BatchNorm {
		for _, l := range n.layers[:cfg.Layers-1] {
			b := nn.NewBatchNorm(l.Out())
			b.Training = false
			n.norms = append(n.norms, b)
		}
	}
	return n
}

func (n *net) params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range n.layers {
		ps = append(ps, l.Params()...)
	}
	ps = append(append(ps, n.reg.Params()...), n.cls.Params()...)
	// Last, so a model without norms has the tensors it always had.
	for _, b := range n.norms {
		ps = append(ps, b.Params()...)
	}
	return ps
}

// stats are the norms' running statistics: saved and restored with the
// weights, never trained.
func (n *net) stats() []*nn.Param {
	var ps []*nn.Param
	for _, b := range n.norms {
		ps = append(ps, b.Stats()...)
	}
	return ps
}

// replicate shares n's weights with buffers of its own; its norms are in
// evaluation mode (training replaces them with a synchronised group).
func (n *net) replicate() *net {
	r := &net{reg: n.reg.Replicate(), cls: n.cls.Replicate()}
	for _, l := range n.layers {
		r.layers = append(r.layers, l.Replicate())
	}
	for _, b := range n.norms {
		r.norms = append(r.norms, b.Replicate())
	}
	return r
}

// forward returns per-step regression outputs and logits (time-major).
func (n *net) forward(x []float32, T, B int) (reg, logits []float32) {
	h := x
	for i, l := range n.layers {
		h = l.Forward(h, T, B)
		if i < len(n.norms) {
			h = n.norms[i].Forward(h, T*B)
		}
		if i < len(n.drops) {
			h = n.drops[i].Forward(h)
		}
	}
	return n.reg.Forward(h, T*B), n.cls.Forward(h, T*B)
}

func (n *net) backward(dreg, dlogits []float32) {
	dh := n.reg.Backward(dreg)
	dh2 := n.cls.Backward(dlogits)
	for i := range dh {
		dh[i] += dh2[i]
	}
	for i := len(n.layers) - 1; i > 0; i-- {
		dh = n.layers[i].Backward(dh)
		if i-1 < len(n.drops) {
			dh = n.drops[i-1].Backward(dh)
		}
		if i-1 < len(n.norms) {
			dh = n.norms[i-1].Backward(dh)
		}
	}
	n.layers[0].BackwardParams(dh)
}

// Model is a trained LSTM.
type Model struct {
	Config  Config
	Scaler  Scaler
	History []float64 // training loss per epoch
	// With early stopping: the holdout flights' reentry-time RMSE (s) per
	// epoch, and the epoch (1-based) whose weights the model has.
	Holdout       []float64
	BestEpoch     int
	HoldoutTracks int
	net           *net
}

// Progress reports one finished epoch.
type Progress struct {
	Epoch, Epochs int
	Loss          float64
	Holdout       float64 // the holdout RMSE (s) with early stopping, else NaN
	// Checkpoint returns the state after this epoch: what a periodic
	// checkpoint stores (built only when called, it copies the weights).
	Checkpoint func() (*Checkpoint, error)
}

// sample is one training window with its targets.
type sample struct {
	tr    *dataset.Track
	tre   float64
	group string // the flight: variant B's cuts of one flight share it
}

// Checkpoint is a training run at an epoch boundary: enough to continue to
// exactly the model an uninterrupted run would have produced.
type Checkpoint struct {
	Config  Config
	Epoch   int    // epochs completed
	RNG     []byte // the training generator's state
	Params  [][]float32
	Stats   [][]float32 // batch norms' running statistics
	Adam    nn.AdamState
	History []float64 // loss of the completed epochs
	Holdout []float64 // holdout RMSE of the completed epochs (early stopping)
	Stop    nn.EarlyStopping
}

// trainingWindows are the reentering tracks training uses and their
// un-augmented windows (what the feature scaler is fitted on).
func trainingWindows(tracks []*dataset.Track, labels []dataset.TrackLabel, cfg Config) ([]sample, []window, error) {
	var data []sample
	for i, tr := range tracks {
		if labels[i].Reenters && !math.IsNaN(labels[i].ReentryTime) {
			data = append(data, sample{tr: tr, tre: labels[i].ReentryTime, group: labels[i].Group()})
		}
	}
	if len(data) < 2 {
		return nil, nil, errors.New("lstm: need at least 2 reentering tracks to train")
	}
	var base []window
	for _, s := range data {
		w, err := trackWindow(s.tr, cfg.Window)
		if err != nil {
			return nil, nil, err
		}
		base = append(base, w)
	}
	return data, base, nil
}

// FromCheckpoint makes the model a checkpoint holds usable: its weights,
// with the feature scaler fitted again on the same training tracks (the
// scaler is a deterministic function of them, so it is what training
// used). This is how an earlier checkpoint of a run is registered.
func FromCheckpoint(ck *Checkpoint, tracks []*dataset.Track, labels []dataset.TrackLabel) (*Model, error) {
	_, base, err := trainingWindows(tracks, labels, ck.Config)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: ck.Config, Scaler: fitScaler(base), net: newNet(rand.New(rand.NewPCG(ck.Config.Seed, 0x157e)), ck.Config),
		History: append([]float64(nil), ck.History...)}
	if err := ck.restore(m.net); err != nil {
		return nil, err
	}
	return m, nil
}

// restore copies the checkpoint's weights and statistics into n.
func (ck *Checkpoint) restore(n *net) error {
	if err := load(n.params(), ck.Params, "parameter"); err != nil {
		return err
	}
	return load(n.stats(), ck.Stats, "batch-norm statistic")
}

// load copies vs into ps, refusing a count or a length that differs.
func load(ps []*nn.Param, vs [][]float32, what string) error {
	if len(vs) != len(ps) {
		return fmt.Errorf("lstm: checkpoint has %d %ss, the model %d", len(vs), what, len(ps))
	}
	for i, p := range ps {
		if len(vs[i]) != len(p.W) {
			return fmt.Errorf("lstm: checkpoint %s %d has %d values, want %d", what, i, len(vs[i]), len(p.W))
		}
		copy(p.W, vs[i])
	}
	return nil
}

// snapshot copies the values of ps.
func snapshot(ps []*nn.Param) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = append([]float32(nil), p.W...)
	}
	return out
}

// Train fits an LSTM on the labelled, reentering tracks, starting from
// resume when it is not nil. When ctx is cancelled it returns the
// checkpoint of the last completed epoch with ctx's error.
func Train(ctx context.Context, tracks []*dataset.Track, labels []dataset.TrackLabel, cfg Config, resume *Checkpoint, progress func(Progress)) (*Model, *Checkpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	data, base, err := trainingWindows(tracks, labels, cfg)
	if err != nil {
		return nil, nil, err
	}
	var hold []sample
	if cfg.Patience > 0 {
		if data, base, hold, err = holdOut(data, base, cfg); err != nil {
			return nil, nil, err
		}
	}
	pcg := rand.NewPCG(cfg.Seed, 0x157e)
	r := rand.New(pcg)
	m := &Model{Config: cfg, Scaler: fitScaler(base), net: newNet(r, cfg)}
	params, stats := m.net.params(), m.net.stats()
	// Early stopping keeps and restores the statistics with the weights.
	kept := append(slices.Clip(params), stats...)
	workers := cfg.Workers
	if workers <= 0 { // not stored in files: a loaded config means the default
		workers = DefaultConfig().Workers
	}
	workers = min(workers, cfg.Batch)
	reps := make([]*net, workers)
	repParams := make([][]*nn.Param, workers)
	// Each norm's training replicas form one group: its statistics are
	// those of the whole mini-batch, whatever the split.
	normGroups := make([][]*nn.BatchNorm, len(m.net.norms))
	for i, b := range m.net.norms {
		normGroups[i] = b.Replicas(workers)
	}
	for w := range reps {
		reps[w] = m.net.replicate()
		for i := range reps[w].norms {
			reps[w].norms[i] = normGroups[i][w]
		}
		repParams[w] = reps[w].params()
		if cfg.Dropout > 0 {
			for range cfg.Layers - 1 {
				reps[w].drops = append(reps[w].drops, &nn.Dropout{P: cfg.Dropout, Training: true})
			}
		}
	}
	stop := nn.EarlyStopping{Patience: cfg.Patience}
	opt := nn.NewAdam(cfg.LR)
	nb := (len(data) + cfg.Batch - 1) / cfg.Batch
	total := cfg.Epochs * nb
	T := cfg.Window
	start := 0
	if resume != nil {
		if err := resume.restore(m.net); err != nil {
			return nil, nil, err
		}
		opt.SetState(resume.Adam)
		if err := pcg.UnmarshalBinary(resume.RNG); err != nil {
			return nil, nil, fmt.Errorf("lstm: checkpoint generator state: %w", err)
		}
		start = resume.Epoch
		m.History = append([]float64(nil), resume.History...)
		m.Holdout = append([]float64(nil), resume.Holdout...)
		stop = resume.Stop
		stop.Patience = cfg.Patience
	}
	step := start * nb
	for epoch := start; epoch < cfg.Epochs; epoch++ {
		rng, err := pcg.MarshalBinary()
		if err != nil {
			return nil, nil, err
		}
		snap := &Checkpoint{Config: cfg, Epoch: epoch, RNG: rng, Params: snapshot(params), Stats: snapshot(stats), Adam: opt.State(),
			History: append([]float64(nil), m.History...), Holdout: append([]float64(nil), m.Holdout...), Stop: stop}
		// Fresh augmentation every epoch: re-noised positions and a trimmed
		// end, features recomputed, so the network never sees a track twice.
		windows := make([]window, len(data))
		for i, s := range data {
			tr := augment(r, s.tr, cfg)
			w, err := trackWindow(tr, T)
			if err != nil {
				w = base[i]
			}
			windows[i] = w
		}
		perm := r.Perm(len(data))
		var epochLoss float64
		for b := range nb {
			if err := ctx.Err(); err != nil {
				return nil, snap, err
			}
			idx := perm[b*cfg.Batch : min((b+1)*cfg.Batch, len(data))]
			opt.LR = oneCycle(step, total, cfg.LR)
			for _, g := range normGroups {
				g[0].SetActive(min(workers, len(idx)))
			}
			thisStep := uint64(step)
			step++
			losses := nn.ParallelStep(params, repParams, idx, func(w int, rows []int) float64 {
				// Dropout masks come from the seed, the step, the worker and
				// the layer: no generator state to checkpoint.
				for i, d := range reps[w].drops {
					d.R = rand.New(rand.NewPCG(cfg.Seed^0xd509, thisStep<<16|uint64(w)<<8|uint64(i)))
				}
				return m.trainChunk(reps[w], windows, data, rows, T, float32(len(rows))/float32(len(idx)))
			})
			if cfg.Clip > 0 {
				nn.ClipGradNorm(params, cfg.Clip)
			}
			opt.Step(params)
			for _, l := range losses {
				epochLoss += l
			}
		}
		m.History = append(m.History, epochLoss/float64(nb))
		holdRMSE, halt := math.NaN(), false
		if hold != nil {
			holdRMSE = m.holdoutRMSE(hold)
			m.Holdout = append(m.Holdout, holdRMSE)
			halt = stop.Observe(epoch, holdRMSE, kept)
		}
		if progress != nil {
			done := epoch + 1
			stopNow := stop
			progress(Progress{Epoch: done, Epochs: cfg.Epochs, Loss: epochLoss / float64(nb), Holdout: holdRMSE, Checkpoint: func() (*Checkpoint, error) {
				rng, err := pcg.MarshalBinary()
				if err != nil {
					return nil, err
				}
				return &Checkpoint{Config: cfg, Epoch: done, RNG: rng, Params: snapshot(params), Stats: snapshot(stats), Adam: opt.State(),
					History: append([]float64(nil), m.History...), Holdout: append([]float64(nil), m.Holdout...), Stop: stopNow}, nil
			}})
		}
		if halt {
			break
		}
	}
	if hold != nil && stop.Seen {
		stop.Restore(kept)
		m.BestEpoch, m.HoldoutTracks = stop.BestEpoch+1, len(hold)
	}
	return m, nil, nil
}

// holdOut sets aside cfg.HoldoutFrac of the training flights (drawn with
// the training seed) for early stopping: whole flights, so no cut of a
// held-out flight is trained on (with one track per flight, as in variant
// A, the draw is the one made track by track).
func holdOut(data []sample, base []window, cfg Config) ([]sample, []window, []sample, error) {
	frac := cfg.HoldoutFrac
	if frac == 0 {
		frac = DefaultHoldoutFrac
	}
	var groups []string
	index := map[string]int{}
	for _, s := range data {
		if _, ok := index[s.group]; !ok {
			index[s.group] = len(groups)
			groups = append(groups, s.group)
		}
	}
	nh := max(1, int(math.Round(frac*float64(len(groups)))))
	heldGroup := make([]bool, len(groups))
	for _, g := range rand.New(rand.NewPCG(cfg.Seed, 0xe570)).Perm(len(groups))[:min(nh, len(groups))] {
		heldGroup[g] = true
	}
	nTrain := 0
	for _, s := range data {
		if !heldGroup[index[s.group]] {
			nTrain++
		}
	}
	if nTrain < 2 {
		return nil, nil, nil, fmt.Errorf("lstm: early stopping holds out %d of %d training flights and leaves fewer than 2 tracks to train on; lower early_stop_frac or train without early stopping", nh, len(groups))
	}
	var train, hold []sample
	var tbase []window
	for i, s := range data {
		if heldGroup[index[s.group]] {
			hold = append(hold, s)
			continue
		}
		train = append(train, s)
		tbase = append(tbase, base[i])
	}
	return train, tbase, hold, nil
}

// holdoutRMSE is the RMSE (s) of the predicted reentry time on the held-out
// flights, with the current weights. A flight the model cannot score
// counts as an error of the window's length.
func (m *Model) holdoutRMSE(hold []sample) float64 {
	trs := make([]*dataset.Track, len(hold))
	for i, s := range hold {
		trs[i] = s.tr
	}
	preds, errs := m.PredictBatch(trs)
	var ss float64
	for i, s := range hold {
		e := float64(m.Config.Window) * s.tr.DT
		if errs[i] == nil && !math.IsNaN(preds[i]) {
			e = preds[i] - s.tre
		}
		ss += e * e
	}
	return math.Sqrt(ss / float64(len(hold)))
}

// trainChunk runs forward and backward for the listed windows and returns
// the chunk's loss weighted by its share of the batch.
func (m *Model) trainChunk(n *net, windows []window, data []sample, rows []int, T int, share float32) float64 {
	B := len(rows)
	x := make([]float32, T*B*NumFeatures)
	yr := make([]float32, T*B)
	yc := make([]float32, T*B)
	for j, i := range rows {
		w := windows[i]
		m.Scaler.put(x, w, j, B)
		if m.Config.Forecast {
			forecastTargets(w.times, data[i].tre, yr, j, B)
		} else {
			targets(w.times, data[i].tre, yr, yc, j, B)
		}
	}
	reg, logits := n.forward(x, T, B)
	dreg := make([]float32, T*B)
	dlog := make([]float32, T*B)
	if m.Config.Forecast {
		// The padding before a short track's first step has no time to
		// reentry: its target is the output itself, so it adds neither
		// loss nor gradient.
		for j, i := range rows {
			for t, tt := range windows[i].times {
				if math.IsNaN(tt) {
					yr[t*B+j] = reg[t*B+j]
				}
			}
		}
		l1 := nn.Huber(reg, yr, dreg, huberD, share*10)
		n.backward(dreg, dlog)
		return float64(share) * 10 * l1
	}
	probs := make([]float32, T*B)
	l1 := nn.Huber(reg, yr, dreg, huberD, share*10)
	l2 := nn.SoftmaxOverTime(logits, yc, dlog, probs, T, B, share*ceWeight)
	n.backward(dreg, dlog)
	return float64(share) * (10*l1 + ceWeight*l2)
}

// forecastTargets fills the forecast regression target of sequence b:
// (t - t_re)/fcScale at every step, unclipped, since every step of a cut
// track is before reentry by at least the unknown horizon.
func forecastTargets(times []float64, tre float64, yr []float32, b, B int) {
	for t, tt := range times {
		if !math.IsNaN(tt) {
			yr[t*B+b] = float32((tt - tre) / fcScale)
		}
	}
}

// targets fills the regression target (clipped, scaled time to reentry)
// and the soft class target (the two steps around t_re, weighted by
// proximity) for sequence b.
func targets(times []float64, tre float64, yr, yc []float32, b, B int) {
	T := len(times)
	for t, tt := range times {
		v := 1.0
		if !math.IsNaN(tt) {
			v = clip((tt-tre)/regScale, -1, 1)
		}
		yr[t*B+b] = float32(v)
	}
	for t := 0; t+1 < T; t++ {
		if times[t] <= tre && tre < times[t+1] {
			f := (tre - times[t]) / (times[t+1] - times[t])
			yc[t*B+b] = float32(1 - f)
			yc[(t+1)*B+b] = float32(f)
			return
		}
	}
	// Reentry outside the window: all mass on the nearer end.
	if tre < times[T-1] {
		yc[b] = 1
	} else {
		yc[(T-1)*B+b] = 1
	}
}

// oneCycle is the learning rate at step s of total: a linear warm-up from
// max/25 over the first 30%, then cosine annealing to max/1e4.
func oneCycle(s, total int, max float64) float64 {
	warm := int(0.3 * float64(total))
	if s < warm {
		return max/25 + (max-max/25)*float64(s)/float64(warm)
	}
	p := float64(s-warm) / float64(max1(total-warm))
	return max/1e4 + (max-max/1e4)*0.5*(1+math.Cos(math.Pi*p))
}

func max1(v int) int {
	if v < 1 {
		return 1
	}
	return v
}

// augment returns a copy of tr with extra Gaussian position noise and its
// last few samples dropped.
func augment(r *rand.Rand, tr *dataset.Track, cfg Config) *dataset.Track {
	n := tr.Len()
	cut := 0
	if cfg.Shift > 0 {
		cut = r.IntN(cfg.Shift + 1)
	}
	out := &dataset.Track{ID: tr.ID, DT: tr.DT}
	for i := range n - cut {
		x, y, z := tr.X[i], tr.Y[i], tr.Z[i]
		if cfg.AugmentSigma > 0 {
			x += r.NormFloat64() * cfg.AugmentSigma
			y += r.NormFloat64() * cfg.AugmentSigma
			z += r.NormFloat64() * cfg.AugmentSigma
		}
		out.T = append(out.T, tr.T[i])
		out.X = append(out.X, x)
		out.Y = append(out.Y, y)
		out.Z = append(out.Z, z)
		out.Alt = append(out.Alt, physics.Altitude(x, y, z))
	}
	return out
}

// Replica shares m's weights with buffers of its own: the network keeps
// activations between calls, so each goroutine predicting needs one.
func (m *Model) Replica() *Model {
	return &Model{Config: m.Config, Scaler: m.Scaler, History: m.History, net: m.net.replicate()}
}

// Predict returns the reentry time of tr: with TTA > 1, the median over
// the track and copies with its last 2, 4, ... samples trimmed, the shifts
// the network saw in training. The median, not the mean: a trim that cuts
// a short post-reentry tail can mislead one member by seconds.
func (m *Model) Predict(tr *dataset.Track) (float64, error) {
	var preds []float64
	var firstErr error
	for i := range max(m.Config.TTA, 1) {
		t := tr
		if cut := 2 * i; cut > 0 {
			if tr.Len()-cut < 2*m.Config.Window/3 {
				break
			}
			t = &dataset.Track{ID: tr.ID, DT: tr.DT, T: tr.T[:tr.Len()-cut], X: tr.X[:tr.Len()-cut], Y: tr.Y[:tr.Len()-cut], Z: tr.Z[:tr.Len()-cut], Alt: tr.Alt[:tr.Len()-cut]}
		}
		p, err := m.predictOnce(t)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		preds = append(preds, p)
	}
	if len(preds) == 0 {
		return 0, firstErr
	}
	return median(preds), nil
}

// median of v (reordered): the middle value, or the mean of the middle two.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (m *Model) predictOnce(tr *dataset.Track) (float64, error) {
	w, err := trackWindow(tr, m.Config.Window)
	if err != nil {
		return 0, err
	}
	T := m.Config.Window
	x := make([]float32, T*NumFeatures)
	m.Scaler.put(x, w, 0, 1)
	reg, logits := m.net.forward(x, T, 1)
	return m.readout(reg, logits, w.times, tr.ID)
}

// readout turns one track's per-step outputs into its reentry time.
func (m *Model) readout(reg, logits []float32, times []float64, id string) (float64, error) {
	if m.Config.Forecast {
		if v, ok := readForecast(reg, times); ok {
			return v, nil
		}
		return 0, fmt.Errorf("track %q: no observed step in the network's window", id)
	}
	a, okA := readRegression(reg, times)
	b, okB := readSoftmax(logits, times)
	switch m.Config.Readout {
	case "regression":
		okB = false
	case "softmax":
		okA = false
	}
	switch {
	case okA && okB:
		return (a + b) / 2, nil
	case okA:
		return a, nil
	case okB:
		return b, nil
	}
	return 0, fmt.Errorf("track %q: the network sees no reentry in its window", id)
}

// PredictBatch is Predict for many tracks in one forward pass (the matrix
// products then work on B rows at once, which is where batch scoring's
// speed comes from); results equal Predict's up to float32 rounding. With
// TTA > 1 it predicts track by track.
func (m *Model) PredictBatch(trs []*dataset.Track) ([]float64, []error) {
	out, errs := make([]float64, len(trs)), make([]error, len(trs))
	if m.Config.TTA > 1 {
		for i, tr := range trs {
			out[i], errs[i] = m.Predict(tr)
		}
		return out, errs
	}
	T := m.Config.Window
	var ws []window
	var at []int
	for i, tr := range trs {
		w, err := trackWindow(tr, T)
		if err != nil {
			errs[i] = err
			continue
		}
		ws, at = append(ws, w), append(at, i)
	}
	B := len(ws)
	if B == 0 {
		return out, errs
	}
	x := make([]float32, T*B*NumFeatures)
	for b, w := range ws {
		m.Scaler.put(x, w, b, B)
	}
	reg, logits := m.net.forward(x, T, B)
	r1, l1 := make([]float32, T), make([]float32, T)
	for b, w := range ws {
		for t := range T {
			r1[t], l1[t] = reg[t*B+b], logits[t*B+b]
		}
		out[at[b]], errs[at[b]] = m.readout(r1, l1, w.times, trs[at[b]].ID)
	}
	return out, errs
}

// readRegression: every step near reentry votes t - offset; the median wins.
func readRegression(reg []float32, times []float64) (float64, bool) {
	var votes []float64
	for t, v := range reg {
		off := float64(v) * regScale
		if !math.IsNaN(times[t]) && math.Abs(float64(v)) < 0.8 && math.Abs(off) < 15 {
			votes = append(votes, times[t]-off)
		}
	}
	if len(votes) == 0 {
		return 0, false
	}
	return median(votes), true
}

// readForecast: the last fcVotes steps each vote t - offset; the median
// wins. Only the last steps: they are the ones a forecast is made from
// (with a bidirectional network every step has seen the whole window, but
// the nearest steps extrapolate least).
func readForecast(reg []float32, times []float64) (float64, bool) {
	var votes []float64
	for t := len(reg) - 1; t >= 0 && len(votes) < fcVotes; t-- {
		if !math.IsNaN(times[t]) {
			votes = append(votes, times[t]-float64(reg[t])*fcScale)
		}
	}
	if len(votes) == 0 {
		return 0, false
	}
	return median(votes), true
}

// readSoftmax: the probability-weighted time over the peak and its two
// neighbours on each side.
func readSoftmax(logits []float32, times []float64) (float64, bool) {
	T := len(logits)
	peak := 0
	for t := range T {
		if !math.IsNaN(times[t]) && (math.IsNaN(times[peak]) || logits[t] > logits[peak]) {
			peak = t
		}
	}
	var sw, st float64
	for t := max(0, peak-2); t <= min(T-1, peak+2); t++ {
		if math.IsNaN(times[t]) {
			continue
		}
		w := math.Exp(float64(logits[t] - logits[peak]))
		sw += w
		st += w * times[t]
	}
	if sw == 0 {
		return 0, false
	}
	return st / sw, true
}

func (m *Model) Kind() string { return Kind }

// Artifact stores the weights as tensors, the scaler as the feature
// pipeline and the configuration as state.
func (m *Model) Artifact() (*model.Artifact, error) {
	a := &model.Artifact{}
	var err error
	// The architecture goes in State: Hyper belongs to whoever orchestrates
	// training (trackmodel stores its split there).
	if a.Header.State, err = json.Marshal(m.Config); err != nil {
		return nil, err
	}
	feat := struct {
		Names  [NumFeatures]string `json:"names"`
		Scaler Scaler              `json:"scaler"`
	}{FeatureNames, m.Scaler}
	if a.Header.Features, err = json.Marshal(feat); err != nil {
		return nil, err
	}
	if len(m.History) > 0 {
		a.Header.Curves = map[string][]float64{"train_loss": m.History}
		if len(m.Holdout) > 0 {
			a.Header.Curves["holdout_rmse_s"] = m.Holdout
		}
	}
	for i, p := range append(m.net.params(), m.net.stats()...) {
		a.Tensors = append(a.Tensors, model.Tensor{Name: fmt.Sprintf("%02d.%s", i, p.Name), Shape: p.Shape, Data: p.W})
	}
	return a, nil
}

func init() {
	model.Register(Kind, func(a *model.Artifact) (model.Model, error) {
		m := &Model{}
		if err := json.Unmarshal(a.Header.State, &m.Config); err != nil {
			return nil, err
		}
		var feat struct {
			Scaler Scaler `json:"scaler"`
		}
		if err := json.Unmarshal(a.Header.Features, &feat); err != nil {
			return nil, err
		}
		m.Scaler = feat.Scaler
		if m.Config.Layers < 1 || m.Config.Hidden < 1 || m.Config.Window < 2 {
			return nil, errors.New("implausible architecture")
		}
		m.net = newNet(rand.New(rand.NewPCG(0, 0)), m.Config)
		ps := append(m.net.params(), m.net.stats()...)
		if len(ps) != len(a.Tensors) {
			return nil, fmt.Errorf("%d tensors for %d parameters and statistics", len(a.Tensors), len(ps))
		}
		for i, p := range ps {
			if len(a.Tensors[i].Data) != len(p.W) {
				return nil, fmt.Errorf("tensor %s has %d values, want %d", a.Tensors[i].Name, len(a.Tensors[i].Data), len(p.W))
			}
			copy(p.W, a.Tensors[i].Data)
		}
		return m, nil
	})
}
