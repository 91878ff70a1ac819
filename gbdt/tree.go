package gbdt

import (
	"math"
	"math/rand/v2"
	"sync"
)

// gh is one histogram cell: sums of first and second derivatives.
type gh struct{ g, h float64 }

// trainer holds the binned training matrix and the scratch space of tree
// growing. Bins are stored column by column: a histogram pass walks one
// column and one 4 KB histogram at a time, both in L1 (row-major was 2x
// slower: 30 features' histograms do not fit in L1). Histograms are laid out feature after feature, 256 cells each
// (off[f] = 256·f), so the cell of a byte needs no table lookup; bin 0 is
// the missing values.
type trainer struct {
	cfg   Config
	bins  []uint8 // F × n, column-major
	n, F  int
	bd    []borders
	nb    []int // bins per feature, missing bin included
	off   []int
	cells int

	gh []float64 // [n][K][2] derivatives of every output
	// cur holds the derivatives of the output being fitted as float32
	// pairs ([n][2]): half the memory traffic of the histogram passes, and
	// float32 keeps 7 digits of each row's gradient (LightGBM's choice
	// too); the histograms sum them in float64.
	cur   []float32
	part  []int32 // rows, grouped by node
	tmp   []int32
	right []int32
	free  [][]gh
}

func newTrainer(cfg Config, bins []uint8, n, F int, bd []borders) *trainer {
	t := &trainer{cfg: cfg, bins: bins, n: n, F: F, bd: bd, nb: make([]int, F), off: make([]int, F)}
	for f := range bd {
		t.nb[f] = len(bd[f]) + 2
		t.off[f] = t.cells
		t.cells += stride
	}
	K := cfg.outputs()
	t.gh = make([]float64, n*K*2)
	t.cur = make([]float32, 2*n)
	t.part = make([]int32, n)
	t.tmp = make([]int32, n)
	t.right = make([]int32, n)
	return t
}

func (t *trainer) loadOutput(k, K int) {
	for i := 0; i < t.n; i++ {
		t.cur[2*i] = float32(t.gh[(i*K+k)*2])
		t.cur[2*i+1] = float32(t.gh[(i*K+k)*2+1])
	}
}

// sampleRows draws the rows of one round (all when Subsample is 1).
func (t *trainer) sampleRows(rng *rand.Rand) []int32 {
	rows := t.tmp[:0]
	for i := 0; i < t.n; i++ {
		if t.cfg.Subsample >= 1 || rng.Float64() < t.cfg.Subsample {
			rows = append(rows, int32(i))
		}
	}
	if len(rows) == 0 {
		rows = append(rows, int32(rng.IntN(t.n)))
	}
	return append([]int32(nil), rows...)
}

// sampleFeatures draws the features one round may split on.
func (t *trainer) sampleFeatures(rng *rand.Rand) []int {
	all := make([]int, t.F)
	for f := range all {
		all[f] = f
	}
	if t.cfg.ColSample >= 1 {
		return all
	}
	k := max(1, int(math.Round(t.cfg.ColSample*float64(t.F))))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	all = all[:k]
	// Sorted, so ties between equal gains resolve the same way as without
	// sampling.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j] < all[j-1]; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	return all
}

func (t *trainer) hist() []gh {
	if k := len(t.free); k > 0 {
		h := t.free[k-1]
		t.free = t.free[:k-1]
		// Only a feature's first nb cells are ever written.
		for f := 0; f < t.F; f++ {
			clear(h[f*stride : f*stride+t.nb[f]])
		}
		return h
	}
	return make([]gh, t.cells)
}

func (t *trainer) release(h []gh) { t.free = append(t.free, h) }

// build sums the derivatives of rows into h, features split between
// threads so each cell is summed in row order whatever the thread count.
func (t *trainer) build(rows []int32, h []gh) {
	T := t.cfg.Threads
	if T > t.F {
		T = t.F
	}
	if T <= 1 || len(rows) < 2048 {
		t.buildRange(rows, h, 0, t.F)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < T; w++ {
		f0, f1 := w*t.F/T, (w+1)*t.F/T
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.buildRange(rows, h, f0, f1)
		}()
	}
	wg.Wait()
}

const stride = 256

func (t *trainer) buildRange(rows []int32, h []gh, f0, f1 int) {
	n, cur := t.n, t.cur
	f := f0
	// Four columns per pass over the rows: the row index and its
	// derivatives are loaded once for four histogram updates, and the four
	// 4 KB histograms still sit in L1.
	for ; f+4 <= f1; f += 4 {
		c0, c1, c2, c3 := t.bins[f*n:(f+1)*n], t.bins[(f+1)*n:(f+2)*n], t.bins[(f+2)*n:(f+3)*n], t.bins[(f+3)*n:(f+4)*n]
		h0 := (*[stride]gh)(h[f*stride:])
		h1 := (*[stride]gh)(h[(f+1)*stride:])
		h2 := (*[stride]gh)(h[(f+2)*stride:])
		h3 := (*[stride]gh)(h[(f+3)*stride:])
		if len(rows) == n {
			// Every row, in order (the root without subsampling): no index
			// gathers, and bounds checks hoisted.
			c0, c1, c2, c3, cur := c0[:n], c1[:n], c2[:n], c3[:n], cur[:2*n]
			for r := range c0 {
				g, hh := float64(cur[2*r]), float64(cur[2*r+1])
				p := &h0[c0[r]]
				p.g += g
				p.h += hh
				p = &h1[c1[r]]
				p.g += g
				p.h += hh
				p = &h2[c2[r]]
				p.g += g
				p.h += hh
				p = &h3[c3[r]]
				p.g += g
				p.h += hh
			}
			continue
		}
		for _, r := range rows {
			g, hh := float64(cur[2*r]), float64(cur[2*r+1])
			p := &h0[c0[r]]
			p.g += g
			p.h += hh
			p = &h1[c1[r]]
			p.g += g
			p.h += hh
			p = &h2[c2[r]]
			p.g += g
			p.h += hh
			p = &h3[c3[r]]
			p.g += g
			p.h += hh
		}
	}
	for ; f < f1; f++ {
		col := t.bins[f*n : (f+1)*n]
		hf := (*[stride]gh)(h[f*stride:])
		for _, r := range rows {
			p := &hf[col[r]]
			p.g += float64(cur[2*r])
			p.h += float64(cur[2*r+1])
		}
	}
}

// grown is a tree in bin space: level l of a row's path tests
// bin(feat[k]) > split[k]; split 255 sends everything left.
type grown struct {
	feat  []int32
	split []int
	leaf  []float64
	// rows grouped by leaf: leaf p holds rows[seg[p]:seg[p+1]].
	rows []int32
	seg  []int
}

const allLeft = 255

func (t *trainer) nodeKey(level, idx int) int {
	if t.cfg.Growth == Oblivious {
		return level
	}
	return 1<<level - 1 + idx
}

// grow fits one tree to t.cur on rows, adding split gains to gain.
func (t *trainer) grow(rows []int32, feats []int, gain []float64) grown {
	D := t.cfg.Depth
	part, tmp := t.part[:len(rows)], t.tmp[:len(rows)]
	copy(part, rows)
	seg := []int{0, len(rows)}
	root := t.hist()
	t.build(part, root)
	hists := [][]gh{root}
	var g grown
	if t.cfg.Growth == Oblivious {
		g.feat, g.split = make([]int32, D), make([]int, D)
	} else {
		g.feat, g.split = make([]int32, 1<<D-1), make([]int, 1<<D-1)
	}
	for level := 0; level < D; level++ {
		nodes := len(seg) - 1
		if t.cfg.Growth == Oblivious {
			f, s, gn := t.bestOblivious(hists, feats)
			if gn > 0 {
				g.feat[level], g.split[level] = int32(f), s
				gain[f] += gn
			} else {
				g.split[level] = allLeft
			}
		} else {
			for p := 0; p < nodes; p++ {
				k := t.nodeKey(level, p)
				f, s, gn := t.bestNode(hists[p], feats)
				if gn > 0 {
					g.feat[k], g.split[k] = int32(f), s
					gain[f] += gn
				} else {
					g.split[k] = allLeft
				}
			}
		}
		// Partition every node's rows, left then right, keeping row order,
		// without branches: each row is written to both sides and only the
		// side it belongs to advances.
		next := make([]int, 0, 2*nodes+1)
		next = append(next, 0)
		for p := 0; p < nodes; p++ {
			k := t.nodeKey(level, p)
			f, s := int(g.feat[k]), g.split[k]
			a, b := seg[p], seg[p+1]
			col := t.bins[f*t.n : (f+1)*t.n]
			left, right := tmp[a:b], t.right[:b-a]
			nl, nr := 0, 0
			for _, row := range part[a:b] {
				bit := 0
				if int(col[row]) > s {
					bit = 1
				}
				left[nl] = row
				right[nr] = row
				nl += 1 - bit
				nr += bit
			}
			copy(left[nl:], right[:nr])
			next = append(next, a+nl, b)
		}
		part, tmp = tmp, part
		g.rows, g.seg = part, next
		seg = next
		if level+1 == D {
			// Leaf sums come from the last level's histograms: the split
			// feature's bins up to the split are the left child.
			g.leaf = make([]float64, 2*nodes)
			for p, h := range hists {
				k := t.nodeKey(level, p)
				f, s := int(g.feat[k]), g.split[k]
				var GL, HL, G, H float64
				for b, c := range h[f*stride : f*stride+t.nb[f]] {
					if b <= s {
						GL += c.g
						HL += c.h
					}
					G += c.g
					H += c.h
				}
				g.leaf[2*p] = t.leafValue(GL, HL)
				g.leaf[2*p+1] = t.leafValue(G-GL, H-HL)
				t.release(h)
			}
			break
		}
		// Child histograms: build the smaller child, subtract for the other.
		child := make([][]gh, 2*nodes)
		for p := 0; p < nodes; p++ {
			a, m, b := seg[2*p], seg[2*p+1], seg[2*p+2]
			parent := hists[p]
			small, big := 2*p, 2*p+1
			if m-a > b-m {
				small, big = big, small
			}
			hs := t.hist()
			t.build(part[seg[small]:seg[small+1]], hs)
			for f := 0; f < t.F; f++ {
				ps, ss := parent[f*stride:f*stride+t.nb[f]], hs[f*stride:f*stride+t.nb[f]]
				for i := range ps {
					ps[i].g -= ss[i].g
					ps[i].h -= ss[i].h
				}
			}
			child[small], child[big] = hs, parent
		}
		hists = child
	}
	return g
}

// leafValue is the Newton step −G/(H+λ), shrunk by the learning rate; an
// empty leaf (H = 0 with λ = 0) gets 0.
func (t *trainer) leafValue(G, H float64) float64 {
	if H+t.cfg.L2 <= 0 {
		return 0
	}
	return -G / (H + t.cfg.L2) * t.cfg.LearningRate
}

func score(G, H, l2 float64) float64 {
	if H+l2 <= 0 {
		return 0
	}
	return G * G / (H + l2)
}

// bestOblivious finds the (feature, split) with the largest gain summed over
// all nodes of the level.
func (t *trainer) bestOblivious(hists [][]gh, feats []int) (int, int, float64) {
	l2 := t.cfg.L2
	bestF, bestS, best := -1, 0, 0.0
	tot := make([]gh, len(hists))
	f0 := feats[0]
	for p, h := range hists {
		for _, c := range h[t.off[f0] : t.off[f0]+t.nb[f0]] {
			tot[p].g += c.g
			tot[p].h += c.h
		}
	}
	var parent, all float64
	for _, tp := range tot {
		parent += score(tp.g, tp.h, l2)
		all += tp.h
	}
	eps := 1e-12 * all
	acc := make([]float64, MaxBins+2)
	for _, f := range feats {
		nb := t.nb[f]
		clear(acc[:nb])
		for p, h := range hists {
			var GL, HL, last float64
			cells := h[t.off[f] : t.off[f]+nb]
			for s := 0; s < nb-1; s++ {
				// An empty bin moves nothing across the split: reuse the
				// previous split's score (most bins of a small node are empty).
				// Histogram subtraction leaves rounding residue in empty
				// bins, hence "negligible" rather than zero.
				c := cells[s]
				GL += c.g
				HL += c.h
				if c.h > eps || c.h < -eps || s == 0 {
					last = score(GL, HL, l2) + score(tot[p].g-GL, tot[p].h-HL, l2)
				}
				acc[s] += last
			}
		}
		for s := 0; s < nb-1; s++ {
			if gn := acc[s] - parent; gn > best+1e-12*math.Abs(best) && gn > 1e-12 {
				bestF, bestS, best = f, s, gn
			}
		}
	}
	if bestF < 0 {
		return 0, allLeft, 0
	}
	return bestF, bestS, best / 2
}

// bestNode finds one node's best split under the minimum child weight.
func (t *trainer) bestNode(h []gh, feats []int) (int, int, float64) {
	l2, mcw := t.cfg.L2, t.cfg.MinChildWeight
	var G, H float64
	f0 := feats[0]
	for _, c := range h[t.off[f0] : t.off[f0]+t.nb[f0]] {
		G += c.g
		H += c.h
	}
	parent := score(G, H, l2)
	eps := 1e-12 * H
	bestF, bestS, best := -1, 0, 0.0
	for _, f := range feats {
		nb := t.nb[f]
		var GL, HL float64
		cells := h[t.off[f] : t.off[f]+nb]
		for s := 0; s < nb-1; s++ {
			GL += cells[s].g
			HL += cells[s].h
			if c := cells[s]; c.h < eps && c.h > -eps {
				continue // nothing moved across: same gain as the split before
			}
			if HL < mcw || H-HL < mcw {
				continue
			}
			if gn := score(GL, HL, l2) + score(G-GL, H-HL, l2) - parent; gn > best+1e-12*math.Abs(best) && gn > 1e-12 {
				bestF, bestS, best = f, s, gn
			}
		}
	}
	if bestF < 0 {
		return 0, allLeft, 0
	}
	return bestF, bestS, best / 2
}

// route writes each row's leaf index using binned data (column-major, n
// rows).
func (t *trainer) route(g *grown, bins []uint8, n int, out []int32) {
	D := t.cfg.Depth
	clear(out[:n])
	for l := 0; l < D; l++ {
		if t.cfg.Growth == Oblivious {
			col, s := bins[int(g.feat[l])*n:(int(g.feat[l])+1)*n], g.split[l]
			for i := range out[:n] {
				bit := int32(0)
				if int(col[i]) > s {
					bit = 1
				}
				out[i] = out[i]<<1 | bit
			}
			continue
		}
		for i := range out[:n] {
			k := 1<<l - 1 + int(out[i])
			bit := int32(0)
			if int(bins[int(g.feat[k])*n+i]) > g.split[k] {
				bit = 1
			}
			out[i] = out[i]<<1 | bit
		}
	}
}

// export turns a bin-space tree into thresholds on the internal columns.
func (t *trainer) export(g grown) Tree {
	tr := Tree{Feature: g.feat, Threshold: make([]float64, len(g.split)), Leaf: g.leaf}
	for k, s := range g.split {
		switch {
		case s == allLeft:
			tr.Threshold[k] = noSplit
		case s == 0:
			tr.Threshold[k] = -math.MaxFloat64
		default:
			tr.Threshold[k] = t.bd[g.feat[k]].threshold(s)
		}
	}
	return tr
}
