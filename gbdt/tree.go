package gbdt

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// A histogram cell packs the sums of the quantised first and second
// derivatives of its rows into one int64: G in the high 32 bits (signed),
// H in the low 32 (never negative). Quantisation (see quantise) bounds
// |ΣG| < 2^31 and ΣH < 2^32 over all rows, so adding packed cells never
// carries between the halves, sums are exact integers whatever the order,
// and histogram subtraction leaves no rounding residue. One integer add per
// row and feature instead of two float adds made histogram building the
// cheaper half of training.
type cell = int64

func (t *trainer) decode(c cell) (G, H float64) {
	return float64(c>>32) * t.gUnit, float64(uint32(c)) * t.hUnit
}

// trainer holds the binned training matrix and the scratch space of tree
// growing. Bins are stored column by column: a histogram pass walks a few
// columns and their 2 KB histograms at a time, all in L1. Row-major was 2x
// slower (30 features' histograms do not fit in L1), and packing eight
// features' bins into one word per row 1.7x slower at a million rows: a
// node's rows, gathered from words, touch cache lines the prefetcher
// cannot foresee, where in byte columns they fall on lines it streams.
// Histograms are laid out feature after feature, 256 cells each
// (off[f] = 256·f), so the cell of a byte needs no table lookup; bin 0 is
// the missing values.
type trainer struct {
	cfg   Config
	bins  []uint8 // F × n, column-major
	n, F  int
	bd    []borders
	nb    []int // bins per feature, missing bin included
	cells int

	gh []float64 // [n][K][2] derivatives of every output
	// q holds the quantised derivatives of the output being fitted, one
	// packed cell per row; gUnit and hUnit are the value of one quantum.
	// Split finding uses them; leaf values use the exact derivatives.
	q            []cell
	gUnit, hUnit float64
	k, K         int
	part         []int32 // rows, grouped by node
	// qp holds q of part's rows, in part's order, so histogram passes over
	// a node's rows read their derivatives in sequence instead of
	// gathering them (the gather was the largest single cost of training
	// at a million rows).
	qp      []cell
	leafOf  []int32
	active  []int // features of the tree being grown, sorted
	scratch [][]cell
	all     []int32 // 0..n-1, the rows of every round without subsampling
	tmp     []int32
	tmpq    []cell
	free    [][]cell
}

func newTrainer(cfg Config, bins []uint8, n, F int, bd []borders) *trainer {
	t := &trainer{cfg: cfg, bins: bins, n: n, F: F, bd: bd, nb: make([]int, F)}

	for f := range bd {
		t.nb[f] = len(bd[f]) + 2
		t.cells += stride
	}
	K := cfg.outputs()
	t.gh = make([]float64, n*K*2)
	t.q = make([]cell, n)
	t.part = make([]int32, n)
	t.tmp = make([]int32, n)
	t.qp = make([]cell, n)
	t.tmpq = make([]cell, n)
	t.leafOf = make([]int32, n)
	return t
}

// loadOutput quantises output k's derivatives: g to integers in
// [−Sg, Sg] and h to [0, Sh], rounded to nearest, with Sg = ⌊(2^31−1)/n⌋
// and Sh = ⌊(2^32−1)/n⌋ so no sum over rows can overflow its half. That is
// 11 bits of resolution at a million rows and more below, far finer than
// the 2-4 bits LightGBM's quantised training shows to be enough.
func (t *trainer) loadOutput(k, K int) {
	t.k, t.K = k, K
	// The largest |g| and h, per chunk and then overall: a maximum does not
	// depend on how the rows were split.
	T := 1
	if t.n >= 1<<14 {
		T = max(t.cfg.Threads, 1)
	}
	mgs, mhs := make([]float64, T), make([]float64, T)
	parallelN(T, t.n, func(w, lo, hi int) {
		var mg, mh float64
		for i := lo; i < hi; i++ {
			if g := t.gh[(i*K+k)*2]; g > mg {
				mg = g
			} else if -g > mg {
				mg = -g
			}
			if h := t.gh[(i*K+k)*2+1]; h > mh {
				mh = h
			}
		}
		mgs[w], mhs[w] = mg, mh
	})
	mg, mh := slices.Max(mgs), slices.Max(mhs)
	sg := float64((1<<31 - 1) / t.n)
	sh := float64((1<<32 - 1) / t.n)
	if mg == 0 {
		mg = 1
	}
	if mh == 0 {
		mh = 1
	}
	t.gUnit, t.hUnit = mg/sg, mh/sh
	ig, ih := sg/mg, sh/mh
	parallel(t.cfg.Threads, t.n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			qg := int64(math.Floor(t.gh[(i*K+k)*2]*ig + 0.5))
			qh := int64(t.gh[(i*K+k)*2+1]*ih + 0.5)
			t.q[i] = qg<<32 + qh
		}
	})
}

// sampleRows draws the rows of one round (all when Subsample is 1).
func (t *trainer) sampleRows(rng *rand.Rand) []int32 {
	if t.cfg.Subsample >= 1 {
		if t.all == nil {
			t.all = make([]int32, t.n)
			for i := range t.all {
				t.all[i] = int32(i)
			}
		}
		return t.all
	}
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

func (t *trainer) hist() []cell {
	if k := len(t.free); k > 0 {
		h := t.free[k-1]
		t.free = t.free[:k-1]
		// Only a feature's first nb cells are ever written, and only the
		// features of the tree being grown are read.
		for _, f := range t.active {
			clear(h[f*stride : f*stride+t.nb[f]])
		}
		return h
	}
	return make([]cell, t.cells)
}

func (t *trainer) release(h []cell) { t.free = append(t.free, h) }

// build sums the derivatives qs of rows into h. With several threads the
// rows are split between them; cells are integers, so the sum is exact and
// the model does not depend on the thread count.
func (t *trainer) build(rows []int32, qs []cell, h []cell, T int) {
	fs := t.active
	identity := len(rows) == t.n // every row, in order
	if T <= 1 || len(rows) < 4096 {
		if identity {
			t.buildRange(nil, qs, 0, h, fs)
		} else {
			t.buildRange(rows, qs, 0, h, fs)
		}
		return
	}
	// Rows are split between threads, each summing into its own histogram,
	// then added up. Cells are integers, so the sum is exact and the model
	// does not depend on the thread count.
	for len(t.scratch) < T-1 {
		t.scratch = append(t.scratch, make([]cell, t.cells))
	}
	var wg sync.WaitGroup
	for w := 0; w < T; w++ {
		dst := h
		if w > 0 {
			dst = t.scratch[w-1]
			for _, f := range fs {
				clear(dst[f*stride : f*stride+t.nb[f]])
			}
		}
		lo, hi := w*len(rows)/T, (w+1)*len(rows)/T
		wg.Add(1)
		go func() {
			defer wg.Done()
			if identity {
				t.buildRange(nil, qs[lo:hi], lo, dst, fs)
			} else {
				t.buildRange(rows[lo:hi], qs[lo:hi], 0, dst, fs)
			}
		}()
	}
	wg.Wait()
	for _, sc := range t.scratch[:T-1] {
		for _, f := range fs {
			d, s := h[f*stride:f*stride+t.nb[f]], sc[f*stride:f*stride+t.nb[f]]
			for i := range d {
				d[i] += s[i]
			}
		}
	}
}

const stride = 256

// buildRange sums qs into the histograms of features fs (only the
// features a tree may split on are built): qs[j] belongs to row rows[j],
// or with rows nil to row lo+j.
func (t *trainer) buildRange(rows []int32, qs []cell, lo int, h []cell, fs []int) {
	n := t.n
	col := func(f int) []uint8 { return t.bins[f*n : (f+1)*n] }
	hist := func(f int) *[stride]cell { return (*[stride]cell)(h[f*stride:]) }
	if rows != nil {
		qs = qs[:len(rows)]
	}
	i := 0
	// Six columns per pass over the rows: the row index and its
	// derivatives are loaded once for six histogram updates, and the six
	// 2 KB histograms sit in L1.
	for ; i+6 <= len(fs); i += 6 {
		c0, c1, c2, c3, c4, c5 := col(fs[i]), col(fs[i+1]), col(fs[i+2]), col(fs[i+3]), col(fs[i+4]), col(fs[i+5])
		h0, h1, h2, h3, h4, h5 := hist(fs[i]), hist(fs[i+1]), hist(fs[i+2]), hist(fs[i+3]), hist(fs[i+4]), hist(fs[i+5])
		if rows == nil {
			// A range of rows in order (the root without subsampling): no
			// index gathers, and bounds checks hoisted.
			m := len(qs)
			c0, c1, c2, c3, c4, c5 := c0[lo:lo+m], c1[lo : lo+m][:m], c2[lo : lo+m][:m], c3[lo : lo+m][:m], c4[lo : lo+m][:m], c5[lo : lo+m][:m]
			for r, v := range qs {
				h0[c0[r]] += v
				h1[c1[r]] += v
				h2[c2[r]] += v
				h3[c3[r]] += v
				h4[c4[r]] += v
				h5[c5[r]] += v
			}
			continue
		}
		for j, r := range rows {
			v := qs[j]
			h0[c0[r]] += v
			h1[c1[r]] += v
			h2[c2[r]] += v
			h3[c3[r]] += v
			h4[c4[r]] += v
			h5[c5[r]] += v
		}
	}
	if rows == nil && i < len(fs) {
		all := make([]int32, len(qs))
		for j := range all {
			all[j] = int32(lo + j)
		}
		rows = all
	}
	for ; i+2 <= len(fs); i += 2 {
		c0, c1 := col(fs[i]), col(fs[i+1])
		h0, h1 := hist(fs[i]), hist(fs[i+1])
		for j, r := range rows {
			v := qs[j]
			h0[c0[r]] += v
			h1[c1[r]] += v
		}
	}
	for ; i < len(fs); i++ {
		c0, h0 := col(fs[i]), hist(fs[i])
		for j, r := range rows {
			h0[c0[r]] += qs[j]
		}
	}
}

// grown is a tree in bin space: level l of a row's path tests
// bin(feat[k]) > split[k]; split 255 sends everything left.
type grown struct {
	feat  []int32
	split []int
	leaf  []float64
	// leafOf is every training row's leaf (valid until the next grow).
	leafOf []int32
}

const allLeft = 255

func (t *trainer) nodeKey(level, idx int) int {
	if t.cfg.Growth == Oblivious {
		return level
	}
	return 1<<level - 1 + idx
}

// grow fits one tree to the loaded output on rows, adding split gains to
// gain.
func (t *trainer) grow(rows []int32, feats []int, gain []float64) grown {
	D := t.cfg.Depth
	// part holds the rows grouped by node, qp their derivatives in the same
	// order; each partition writes into the spare pair. With every row in
	// the tree the first level reads the rows in order and t.q as they are.
	n := len(rows)
	part, qp := rows, t.q
	if n != t.n {
		qp = t.qp[:n]
		parallel(t.cfg.Threads, n, func(lo, hi int) {
			for j, r := range rows[lo:hi] {
				qp[lo+j] = t.q[r]
			}
		})
	}
	tmp, tmpq := t.tmp[:n], t.tmpq[:n]
	spare, spareq := t.part[:n], t.qp[:n]
	t.active = feats
	seg := []int{0, len(rows)}
	root := t.hist()
	t.build(part, qp, root, t.cfg.Threads)
	hists := [][]cell{root}
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
			type split struct {
				f, s int
				gn   float64
			}
			per := make([]split, nodes)
			T := 1
			if nodes >= 4 {
				T = t.cfg.Threads
			}
			parallelN(T, nodes, func(_, lo, hi int) {
				for p := lo; p < hi; p++ {
					f, s, gn := t.bestNode(hists[p], feats)
					per[p] = split{f, s, gn}
				}
			})
			for p, c := range per {
				k := t.nodeKey(level, p)
				f, s, gn := c.f, c.s, c.gn
				if gn > 0 {
					g.feat[k], g.split[k] = int32(f), s
					gain[f] += gn
				} else {
					g.split[k] = allLeft
				}
			}
		}
		if level+1 == D {
			for _, h := range hists {
				t.release(h)
			}
			break
		}
		next := t.partitionLevel(part, qp, tmp, tmpq, seg, func(p int) (int, int) {
			k := t.nodeKey(level, p)
			return int(g.feat[k]), g.split[k]
		})
		// The rows now live in tmp; the next level writes to the other pair
		// (never to the input, which may be t.all and t.q).
		part, qp = tmp, tmpq
		tmp, tmpq, spare, spareq = spare, spareq, tmp, tmpq
		seg = next
		// Child histograms: build the smaller child, subtract for the other.
		child := make([][]cell, 2*nodes)
		smallOf := func(p int) int {
			if seg[2*p+1]-seg[2*p] > seg[2*p+2]-seg[2*p+1] {
				return 2*p + 1
			}
			return 2 * p
		}
		for p := 0; p < nodes; p++ {
			child[smallOf(p)] = t.hist()
		}
		t.eachNode(nodes, func(p int) int { c := smallOf(p); return seg[c+1] - seg[c] }, func(p int, inner int) {
			small := smallOf(p)
			big := 4*p + 1 - small // the sibling: 2p+1 for 2p and 2p for 2p+1
			a, b := seg[small], seg[small+1]
			hs, parent := child[small], hists[p]
			t.build(part[a:b], qp[a:b], hs, inner)
			for _, f := range t.active {
				ps, ss := parent[f*stride:f*stride+t.nb[f]], hs[f*stride:f*stride+t.nb[f]]
				for i := range ps {
					ps[i] -= ss[i]
				}
			}
			child[big] = parent
		})
		hists = child
	}
	// Leaf values from the exact derivatives of each leaf's rows. Every
	// training row's leaf is needed for the margins anyway; with all rows
	// in the tree the sums then run in row order instead of gathering.
	nl := 1 << D
	g.leaf = make([]float64, nl)
	g.leafOf = t.leafOf
	if n == t.n {
		// The last level's nodes hold every row: each row's leaf is its
		// node and the side of the last split, one pass instead of a walk
		// down every level.
		t.leavesOf(&g, part, seg, g.leafOf)
	} else {
		t.route(&g, t.bins, t.n, g.leafOf)
	}
	G, H := t.leafSums(rows, g.leafOf, nl)
	for p := range g.leaf {
		g.leaf[p] = t.leafValue(G[p], H[p])
	}
	return g
}

// bigNode is the fewest rows for which one node's histogram is split
// between threads; smaller nodes of a level are handed out whole. A
// variable so tests reach both paths on small data.
var bigNode = 1 << 16

// eachNode runs fn for nodes 0..nodes-1 of a level, each node's work
// sized rows(p): with one thread in order; otherwise the large nodes one
// after another, each with every thread (inner), and the others whole,
// side by side. Each node's result is computed by fn alone, so it does not
// depend on who ran it.
func (t *trainer) eachNode(nodes int, rows func(p int) int, fn func(p, inner int)) {
	T := t.cfg.Threads
	if T <= 1 {
		for p := 0; p < nodes; p++ {
			fn(p, 1)
		}
		return
	}
	var small []int
	for p := 0; p < nodes; p++ {
		if rows(p) >= bigNode {
			fn(p, T)
		} else {
			small = append(small, p)
		}
	}
	if len(small) == 0 {
		return
	}
	var next atomic.Int64
	parallelN(T, len(small), func(_, _, _ int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(small) {
				return
			}
			fn(small[i], 1)
		}
	})
}

// leafBlock is how many rows one partial leaf sum covers. The partial sums
// are added in block order, so the floating-point result is the same for
// any thread count.
const leafBlock = 1 << 15

// leafSums adds the exact derivatives of rows (all rows, in order, when
// len(rows) == n) per leaf.
func (t *trainer) leafSums(rows []int32, leafOf []int32, nl int) (G, H []float64) {
	gh, K, k := t.gh, t.K, t.k
	m := len(rows)
	blocks := (m + leafBlock - 1) / leafBlock
	part := make([]float64, blocks*nl*2)
	parallelN(t.cfg.Threads, blocks, func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			ps := part[b*nl*2 : (b+1)*nl*2]
			for j := b * leafBlock; j < min(m, (b+1)*leafBlock); j++ {
				i := j
				if m != t.n {
					i = int(rows[j])
				}
				p := leafOf[i]
				ps[2*p] += gh[(i*K+k)*2]
				ps[2*p+1] += gh[(i*K+k)*2+1]
			}
		}
	})
	G, H = make([]float64, nl), make([]float64, nl)
	for b := 0; b < blocks; b++ {
		ps := part[b*nl*2 : (b+1)*nl*2]
		for p := range G {
			G[p] += ps[2*p]
			H[p] += ps[2*p+1]
		}
	}
	return G, H
}

// partitionLevel moves every node's rows (and their derivatives) from
// part to dst, those with bin(f) <= s of the node's split first, both
// sides in their order, and returns the child segments. The whole level's
// rows are cut into one chunk per thread, whatever the nodes: each chunk
// first counts its left rows per node, which tells every chunk where its
// rows go, then writes them. The result is the same for any thread count.
func (t *trainer) partitionLevel(part []int32, qp []cell, dst []int32, dstq []cell, seg []int, split func(p int) (f, s int)) []int {
	N, nodes := seg[len(seg)-1], len(seg)-1
	C := t.cfg.Threads
	if N < 1<<15 {
		C = 1
	}
	chunk := func(w int) (int, int) { return w * N / C, (w + 1) * N / C }
	walk := func(lo, hi int, fn func(p, a, b int)) { eachSegment(seg, lo, hi, fn) }
	lefts := make([]int, C*nodes) // [chunk][node]
	forChunks := func(fn func(w, lo, hi int)) {
		if C == 1 {
			fn(0, 0, N)
			return
		}
		parallelN(C, C, func(w, _, _ int) {
			lo, hi := chunk(w)
			fn(w, lo, hi)
		})
	}
	forChunks(func(w, lo, hi int) {
		walk(lo, hi, func(p, a, b int) {
			f, s := split(p)
			col := t.bins[f*t.n : (f+1)*t.n]
			c := 0
			for _, row := range part[a:b] {
				if int(col[row]) <= s {
					c++
				}
			}
			lefts[w*nodes+p] = c
		})
	})
	// Where chunk w writes node p's rows: after the left (right) rows of
	// the chunks before it.
	leftAt, rightAt := make([]int, C*nodes), make([]int, C*nodes)
	next := make([]int, 1, 2*nodes+1)
	for p := 0; p < nodes; p++ {
		nl := 0
		for w := 0; w < C; w++ {
			nl += lefts[w*nodes+p]
		}
		l, r := seg[p], seg[p]+nl
		for w := 0; w < C; w++ {
			lo, hi := chunk(w)
			rows := max(0, min(hi, seg[p+1])-max(lo, seg[p]))
			leftAt[w*nodes+p], rightAt[w*nodes+p] = l, r
			l += lefts[w*nodes+p]
			r += rows - lefts[w*nodes+p]
		}
		next = append(next, seg[p]+nl, seg[p+1])
	}
	forChunks(func(w, lo, hi int) {
		walk(lo, hi, func(p, a, b int) {
			f, s := split(p)
			col := t.bins[f*t.n : (f+1)*t.n]
			l, r := leftAt[w*nodes+p], rightAt[w*nodes+p]
			for j, row := range part[a:b] {
				// Branch-free: a split is a coin toss the predictor loses.
				bit := 0
				if int(col[row]) > s {
					bit = 1
				}
				at := l + (r-l)*bit
				dst[at], dstq[at] = row, qp[a+j]
				l += 1 - bit
				r += bit
			}
		})
	})
	return next
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
func (t *trainer) bestOblivious(hists [][]cell, feats []int) (int, int, float64) {
	l2 := t.cfg.L2
	bestF, bestS, best := -1, 0, 0.0
	type total struct {
		c    cell
		g, h float64
	}
	tot := make([]total, len(hists))
	f0 := feats[0]
	var parent float64
	for p, h := range hists {
		for _, c := range h[f0*stride : f0*stride+t.nb[f0]] {
			tot[p].c += c
		}
		tot[p].g, tot[p].h = t.decode(tot[p].c)
		parent += score(tot[p].g, tot[p].h, l2)
	}
	// Each feature's best split on its own, features split between
	// threads, then the best of those in feature order: the same choice
	// for any thread count.
	type cand struct {
		s    int
		gain float64
	}
	per := make([]cand, len(feats))
	T := 1
	if len(hists)*len(feats) >= 64 {
		T = t.cfg.Threads
	}
	parallelN(T, len(feats), func(_, lo, hi int) {
		acc := make([]float64, MaxBins+2)
		for fi := lo; fi < hi; fi++ {
			f := feats[fi]
			nb := t.nb[f]
			clear(acc[:nb])
			for p, h := range hists {
				var left cell
				var last float64
				cells := h[f*stride : f*stride+nb]
				for s := 0; s < nb-1; s++ {
					// An empty bin moves nothing across the split: the previous
					// split's score stands (most bins of a small node are empty).
					if c := cells[s]; c != 0 || s == 0 {
						left += c
						GL, HL := t.decode(left)
						last = score(GL, HL, l2) + score(tot[p].g-GL, tot[p].h-HL, l2)
					}
					acc[s] += last
				}
			}
			c := cand{s: -1}
			for s := 0; s < nb-1; s++ {
				if gn := acc[s] - parent; better(gn, c.gain) {
					c = cand{s, gn}
				}
			}
			per[fi] = c
		}
	})
	for fi, c := range per {
		if c.s >= 0 && better(c.gain, best) {
			bestF, bestS, best = feats[fi], c.s, c.gain
		}
	}
	if bestF < 0 {
		return 0, allLeft, 0
	}
	return bestF, bestS, best / 2
}

// better says whether gain gn beats best: by more than rounding, and by
// more than nothing.
func better(gn, best float64) bool { return gn > best+1e-12*math.Abs(best) && gn > 1e-12 }

// bestNode finds one node's best split under the minimum child weight.
func (t *trainer) bestNode(h []cell, feats []int) (int, int, float64) {
	l2, mcw := t.cfg.L2, t.cfg.MinChildWeight
	var all cell
	f0 := feats[0]
	for _, c := range h[f0*stride : f0*stride+t.nb[f0]] {
		all += c
	}
	G, H := t.decode(all)
	parent := score(G, H, l2)
	bestF, bestS, best := -1, 0, 0.0
	for _, f := range feats {
		nb := t.nb[f]
		var left cell
		cells := h[f*stride : f*stride+nb]
		for s := 0; s < nb-1; s++ {
			if cells[s] == 0 {
				continue // nothing moved across: same gain as the split before
			}
			left += cells[s]
			GL, HL := t.decode(left)
			if HL < mcw || H-HL < mcw {
				continue
			}
			if gn := score(GL, HL, l2) + score(G-GL, H-HL, l2) - parent; better(gn, best) {
				bestF, bestS, best = f, s, gn
			}
		}
	}
	if bestF < 0 {
		return 0, allLeft, 0
	}
	return bestF, bestS, best / 2
}

// eachSegment calls fn(p, a, b) for each node p's share [a, b) of the
// positions [lo, hi), where node p holds positions seg[p]..seg[p+1].
func eachSegment(seg []int, lo, hi int, fn func(p, a, b int)) {
	p, _ := slices.BinarySearch(seg, lo+1) // the node holding position lo
	for p, a := p-1, lo; a < hi; p++ {
		b := min(seg[p+1], hi)
		if b > a {
			fn(p, a, b)
		}
		a = b
	}
}

// leavesOf writes the leaf of each row in part, whose nodes at the last
// level are the segments seg: the node's index, then the last split's bit.
func (t *trainer) leavesOf(g *grown, part []int32, seg []int, out []int32) {
	D := t.cfg.Depth
	parallel(t.cfg.Threads, len(part), func(lo, hi int) {
		eachSegment(seg, lo, hi, func(p, a, b int) {
			k := t.nodeKey(D-1, p)
			col, s := t.bins[int(g.feat[k])*t.n:(int(g.feat[k])+1)*t.n], g.split[k]
			base := int32(p) << 1
			for _, row := range part[a:b] {
				bit := int32(0)
				if int(col[row]) > s {
					bit = 1
				}
				out[row] = base | bit
			}
		})
	})
}

// route writes each row's leaf index using binned data (column-major, n
// rows).
func (t *trainer) route(g *grown, bins []uint8, n int, out []int32) {
	parallel(t.cfg.Threads, n, func(lo, hi int) { t.routeRange(g, bins, n, out, lo, hi) })
}

func (t *trainer) routeRange(g *grown, bins []uint8, n int, out []int32, lo, hi int) {
	D := t.cfg.Depth
	clear(out[lo:hi])
	for l := 0; l < D; l++ {
		if t.cfg.Growth == Oblivious {
			col, s := bins[int(g.feat[l])*n:(int(g.feat[l])+1)*n], g.split[l]
			for i := lo; i < hi; i++ {
				bit := int32(0)
				if int(col[i]) > s {
					bit = 1
				}
				out[i] = out[i]<<1 | bit
			}
			continue
		}
		for i := lo; i < hi; i++ {
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
