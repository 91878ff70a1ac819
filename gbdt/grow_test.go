package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refTree grows the tree grow should grow, the slow and obvious way: every
// level, each row's node is looked up and its quantised derivatives added to
// (node, feature, bin) sums directly, with no partition, no subtraction and
// no threads. Where grow's choice differs from the reference's, its gain
// must tie; the reference then follows grow's choice so the levels below
// are compared on the same nodes.
func refTree(t *testing.T, tr *trainer, rows []int32, feats []int, g grown) {
	t.Helper()
	D := tr.cfg.Depth
	node := make([]int, tr.n) // the row's node index within its level
	for level := 0; level < D; level++ {
		nodes := 1 << level
		sums := make([][]int64, nodes*tr.F) // [node][feature] → per-bin cell sums
		for i := range sums {
			sums[i] = make([]int64, stride)
		}
		for _, r := range rows {
			for _, f := range feats {
				sums[node[r]*tr.F+f][tr.bins[f*tr.n+int(r)]] += tr.q[r]
			}
		}
		gainOf := func(p, f, s int) (float64, bool) {
			var all, left int64
			for b, c := range sums[p*tr.F+f] {
				all += c
				if b <= s {
					left += c
				}
			}
			G, H := tr.decode(all)
			GL, HL := tr.decode(left)
			ok := tr.cfg.Growth == Oblivious || (HL >= tr.cfg.MinChildWeight && H-HL >= tr.cfg.MinChildWeight)
			l2 := tr.cfg.L2
			return score(GL, HL, l2) + score(G-GL, H-HL, l2) - score(G, H, l2), ok
		}
		// The candidates of one decision: all nodes together (oblivious) or
		// each node alone (depthwise).
		decide := func(ps []int, k int) {
			total := func(f, s int) (float64, bool) {
				var sum float64
				for _, p := range ps {
					gn, ok := gainOf(p, f, s)
					if !ok {
						return 0, false
					}
					sum += gn
				}
				return sum, true
			}
			best := 0.0
			for _, f := range feats {
				for s := 0; s < tr.nb[f]-1; s++ {
					if gn, ok := total(f, s); ok && gn > best {
						best = gn
					}
				}
			}
			if g.split[k] == allLeft {
				if best > 1e-9 {
					t.Fatalf("level %d node key %d: grow did not split; the reference finds gain %v", level, k, best)
				}
				return
			}
			got, _ := total(int(g.feat[k]), g.split[k])
			if got < best*(1-1e-9) {
				t.Fatalf("level %d node key %d: grow split feature %d at bin %d, gain %v; the reference finds %v", level, k, g.feat[k], g.split[k], got, best)
			}
		}
		if tr.cfg.Growth == Oblivious {
			all := make([]int, nodes)
			for p := range all {
				all[p] = p
			}
			decide(all, level)
		} else {
			for p := 0; p < nodes; p++ {
				decide([]int{p}, tr.nodeKey(level, p))
			}
		}
		for _, r := range rows {
			k := tr.nodeKey(level, node[r])
			bit := 0
			if int(tr.bins[int(g.feat[k])*tr.n+int(r)]) > g.split[k] {
				bit = 1
			}
			node[r] = node[r]<<1 | bit
		}
	}
	G, H := make([]float64, 1<<D), make([]float64, 1<<D)
	for _, r := range rows {
		if int(g.leafOf[r]) != node[r] {
			t.Fatalf("row %d: grow put it in leaf %d, the reference in %d", r, g.leafOf[r], node[r])
		}
		G[node[r]] += tr.gh[2*r]
		H[node[r]] += tr.gh[2*r+1]
	}
	for p := range G {
		if want := tr.leafValue(G[p], H[p]); math.Abs(g.leaf[p]-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Fatalf("leaf %d: value %v, the reference %v", p, g.leaf[p], want)
		}
	}
}

// TestGrowMatchesReference checks grown trees against refTree on enough
// rows that histograms, partitions and leaf sums take their multi-threaded
// paths, with every row (leaves from the partition) and with a subsample
// (leaves from routing), for both growth policies and several thread
// counts, over a few rounds so later trees start from uneven derivatives.
// bigNode is lowered so a level's large nodes split their rows between
// threads too, not only the root.
func TestGrowMatchesReference(t *testing.T) {
	defer func(b int) { bigNode = b }(bigNode)
	bigNode = 8192
	d, y := synthetic(70_000, 7, 5)
	for _, growth := range []Growth{Oblivious, Depthwise} {
		for _, subsample := range []float64{1, 0.6} {
			for _, threads := range []int{1, 3} {
				cfg := DefaultConfig()
				cfg.Growth, cfg.Subsample, cfg.ColSample, cfg.Threads, cfg.Depth = growth, subsample, 0.8, threads, 5
				all := make([]int, d.Rows)
				for i := range all {
					all[i] = i
				}
				bd := make([]borders, d.Cols)
				for f := range bd {
					bd[f] = fitBorders(d.X, d.Rows, d.Cols, f, cfg.Bins, all)
				}
				tr := newTrainer(cfg, binMatrix(d.X, d.Rows, d.Cols, bd, threads), d.Rows, d.Cols, bd)
				margin := make([]float64, d.Rows)
				rng := rand.New(rand.NewPCG(1, 2))
				gain := make([]float64, d.Cols)
				for round := 0; round < 2; round++ {
					gradients(cfg, y, margin, tr.gh, 1, 0)
					rows := tr.sampleRows(rng)
					feats := tr.sampleFeatures(rng)
					tr.loadOutput(0, 1)
					g := tr.grow(rows, feats, gain)
					refTree(t, tr, rows, feats, g)
					for i, p := range g.leafOf {
						margin[i] += g.leaf[p]
					}
				}
			}
		}
	}
}
