package gbdt

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// block is the number of rows predicted together: each tree's few values
// stay in registers while a block's rows walk it.
const block = 64

// Margins returns the raw scores, Rows × outputs, of d's rows using threads
// goroutines (0: all cores).
func (m *Model) Margins(d *Data, threads int) ([]float64, error) {
	if d.Cols != m.Cols || len(d.X) != d.Rows*d.Cols {
		return nil, fmt.Errorf("gbdt: model expects %d columns, data has %d", m.Cols, d.Cols)
	}
	x := m.encodeCTR(d)
	K := m.Config.outputs()
	out := make([]float64, d.Rows*K)
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	blocks := (d.Rows + block - 1) / block
	threads = min(threads, blocks)
	if threads <= 1 {
		m.marginRange(x, out, 0, d.Rows)
		return out, nil
	}
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		r0, r1 := w*blocks/threads*block, min((w+1)*blocks/threads*block, d.Rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.marginRange(x, out, r0, r1)
		}()
	}
	wg.Wait()
	return out, nil
}

func (m *Model) marginRange(x, out []float64, r0, r1 int) {
	if m.Config.Growth == Oblivious {
		m.fast().marginRange(m, x, out, r0, r1)
		return
	}
	K, F, D := m.Config.outputs(), m.Internal, m.Config.Depth
	var idx [block]int32
	oblivious := m.Config.Growth == Oblivious
	for b0 := r0; b0 < r1; b0 += block {
		nb := min(block, r1-b0)
		for i := 0; i < nb; i++ {
			copy(out[(b0+i)*K:(b0+i+1)*K], m.Base)
		}
		for t := range m.Trees {
			tr := &m.Trees[t]
			ids := idx[:nb]
			clear(ids)
			if oblivious {
				for l := 0; l < D; l++ {
					f, thr := int(tr.Feature[l]), tr.Threshold[l]
					xs := x[b0*F+f:]
					for i := range ids {
						v := int32(0)
						if xs[i*F] > thr {
							v = 1
						}
						ids[i] = ids[i]<<1 | v
					}
				}
			} else {
				for i := range ids {
					row := x[(b0+i)*F : (b0+i+1)*F]
					k := int32(0)
					for l := 0; l < D; l++ {
						n := int32(1)<<l - 1 + k
						v := int32(0)
						if row[tr.Feature[n]] > tr.Threshold[n] {
							v = 1
						}
						k = k<<1 | v
					}
					ids[i] = k
				}
			}
			o := out[b0*K+tr.Output:]
			for i, k := range ids {
				o[i*K] += tr.Leaf[k]
			}
		}
	}
}

// Proba returns class probabilities, Rows × classes (two columns for
// logloss: P(0), P(1)). For RMSE it returns the predictions.
func (m *Model) Proba(d *Data, threads int) ([]float64, error) {
	z, err := m.Margins(d, threads)
	if err != nil {
		return nil, err
	}
	switch m.Config.Loss {
	case LogLoss:
		p := make([]float64, 2*d.Rows)
		for i, v := range z {
			q := 1 / (1 + math.Exp(-v))
			p[2*i], p[2*i+1] = 1-q, q
		}
		return p, nil
	case Multiclass:
		K := m.Config.Classes
		for i := 0; i < d.Rows; i++ {
			softmax(z[i*K:(i+1)*K], z[i*K:(i+1)*K])
		}
	}
	return z, nil
}

// swar is the oblivious-tree predictor: inputs are first coded per feature
// as the number of the model's thresholds below the value (so x > t_j is
// code > j), four rows' 16-bit codes share a uint64, and one add, mask and
// shift tests a tree level for four rows at once.
type swar struct {
	thr   [][]float64 // per internal feature: the distinct thresholds, sorted
	feat  [][]int32   // per tree, per level
	add   [][]uint64  // per tree, per level: 0x8000 − (j+1) in every lane
	leaf  [][]float64
	out   []int
	depth int
	// leaf64 holds every tree's leaves padded to 64 when no tree is deeper
	// than 6 (the default depth): a fixed-size table needs no bounds
	// check, and four rows' leaves are read straight from one word.
	leaf64 []*[64]float64
	// narrow: every feature has fewer than 128 thresholds and no tree is
	// deeper than 6, so codes and leaf ids fit 8-bit lanes: eight rows per
	// word instead of four. add8 is add with 0x80 − (j+1) per lane.
	narrow bool
	add8   [][]uint64
}

const lanes8 = 0x0101_0101_0101_0101

const lanes = 0x0001_0001_0001_0001

func (m *Model) fast() *swar {
	m.swarOnce.Do(func() {
		s := &swar{thr: make([][]float64, m.Internal), depth: m.Config.Depth}
		for _, t := range m.Trees {
			for l, f := range t.Feature {
				s.thr[f] = append(s.thr[f], t.Threshold[l])
			}
		}
		for f := range s.thr {
			slices.Sort(s.thr[f])
			s.thr[f] = slices.Compact(s.thr[f])
		}
		for _, t := range m.Trees {
			add := make([]uint64, len(t.Feature))
			for l, f := range t.Feature {
				j, _ := slices.BinarySearch(s.thr[f], t.Threshold[l])
				add[l] = uint64(0x8000-(j+1)) * lanes
			}
			s.feat = append(s.feat, t.Feature)
			s.add = append(s.add, add)
			s.leaf = append(s.leaf, t.Leaf)
			s.out = append(s.out, t.Output)
		}
		if m.Config.Depth <= 6 {
			for _, t := range m.Trees {
				var l [64]float64
				copy(l[:], t.Leaf)
				s.leaf64 = append(s.leaf64, &l)
			}
			s.narrow = m.Config.outputs() == 1
			for _, thr := range s.thr {
				s.narrow = s.narrow && len(thr) < 128
			}
			for t := range s.add {
				a8 := make([]uint64, len(s.add[t]))
				for l, a := range s.add[t] {
					j := 0x8000 - int(a&0xffff) - 1
					a8[l] = uint64(0x80-(j+1)) * lanes8
				}
				s.add8 = append(s.add8, a8)
			}
		}
		m.swarModel = s
	})
	return m.swarModel
}

func (s *swar) marginRange(m *Model, x, out []float64, r0, r1 int) {
	if s.narrow {
		s.marginRange8(m, x, out, r0, r1)
		return
	}
	K, F := m.Config.outputs(), m.Internal
	const words = block / 4
	codes := make([]uint64, F*words)
	var ids [words]uint64
	for b0 := r0; b0 < r1; b0 += block {
		nb := min(block, r1-b0)
		clear(codes)
		for f, thr := range s.thr {
			if len(thr) == 0 {
				continue
			}
			c := codes[f*words : (f+1)*words]
			i := 0
			// Four searches in lockstep: independent chains of loads and
			// compares the core overlaps, where one search waits on itself.
			for ; i+4 <= nb; i += 4 {
				r := x[(b0+i)*F+f:]
				a0, a1, a2, a3 := countBelow4(thr, r[0], r[F], r[2*F], r[3*F])
				c[i>>2] = uint64(a0) | uint64(a1)<<16 | uint64(a2)<<32 | uint64(a3)<<48
			}
			for ; i < nb; i++ {
				c[i>>2] |= uint64(countBelow(thr, x[(b0+i)*F+f])) << (16 * (i & 3))
			}
		}
		for i := 0; i < nb; i++ {
			copy(out[(b0+i)*K:(b0+i+1)*K], m.Base)
		}
		for t, feat := range s.feat {
			clear(ids[:])
			add := s.add[t]
			for l, f := range feat {
				c := (*[words]uint64)(codes[int(f)*words:])
				a := add[l]
				for w := range ids {
					ids[w] = ids[w]<<1 | (c[w]+a)>>15&lanes
				}
			}
			if K == 1 && s.leaf64 != nil {
				lf, o := s.leaf64[t], out[b0:b0+nb]
				i := 0
				for ; i+4 <= nb; i += 4 {
					v, o4 := ids[i>>2], o[i:i+4:i+4]
					o4[0] += lf[v&63]
					o4[1] += lf[v>>16&63]
					o4[2] += lf[v>>32&63]
					o4[3] += lf[v>>48&63]
				}
				for ; i < nb; i++ {
					o[i] += lf[ids[i>>2]>>(16*(i&3))&63]
				}
				continue
			}
			leaf, o := s.leaf[t], out[b0*K+s.out[t]:]
			for i := 0; i < nb; i++ {
				o[i*K] += leaf[ids[i>>2]>>(16*(i&3))&0xffff]
			}
		}
	}
}

// marginRange8 is marginRange with eight rows per word (s.narrow: one
// output, depth <= 6, fewer than 128 thresholds per feature).
func (s *swar) marginRange8(m *Model, x, out []float64, r0, r1 int) {
	F := m.Internal
	const words = block / 8
	codes := make([]uint64, F*words)
	var ids [words]uint64
	for b0 := r0; b0 < r1; b0 += block {
		nb := min(block, r1-b0)
		clear(codes)
		for f, thr := range s.thr {
			if len(thr) == 0 {
				continue
			}
			c := codes[f*words : (f+1)*words]
			i := 0
			for ; i+8 <= nb; i += 8 {
				r := x[(b0+i)*F+f:]
				a0, a1, a2, a3 := countBelow4(thr, r[0], r[F], r[2*F], r[3*F])
				a4, a5, a6, a7 := countBelow4(thr, r[4*F], r[5*F], r[6*F], r[7*F])
				c[i>>3] = uint64(a0) | uint64(a1)<<8 | uint64(a2)<<16 | uint64(a3)<<24 |
					uint64(a4)<<32 | uint64(a5)<<40 | uint64(a6)<<48 | uint64(a7)<<56
			}
			for ; i < nb; i++ {
				c[i>>3] |= uint64(countBelow(thr, x[(b0+i)*F+f])) << (8 * (i & 7))
			}
		}
		o := out[b0 : b0+nb]
		for i := range o {
			o[i] = m.Base[0]
		}
		for t, feat := range s.feat {
			clear(ids[:])
			add := s.add8[t]
			for l, f := range feat {
				c := (*[words]uint64)(codes[int(f)*words:])
				a := add[l]
				for w := range ids {
					ids[w] = ids[w]<<1 | (c[w]+a)>>7&lanes8
				}
			}
			lf := s.leaf64[t]
			i := 0
			for ; i+8 <= nb; i += 8 {
				v, o8 := ids[i>>3], o[i:i+8:i+8]
				o8[0] += lf[v&63]
				o8[1] += lf[v>>8&63]
				o8[2] += lf[v>>16&63]
				o8[3] += lf[v>>24&63]
				o8[4] += lf[v>>32&63]
				o8[5] += lf[v>>40&63]
				o8[6] += lf[v>>48&63]
				o8[7] += lf[v>>56&63]
			}
			for ; i < nb; i++ {
				o[i] += lf[ids[i>>3]>>(8*(i&7))&63]
			}
		}
	}
}

// countBelow4 is countBelow for four values (thr not empty). NaN needs no
// test: every comparison with it is false, so it counts 0.
func countBelow4(thr []float64, v0, v1, v2, v3 float64) (int, int, int, int) {
	b0, b1, b2, b3, n := 0, 0, 0, 0, len(thr)
	lt := func(t, v float64) int {
		if t < v {
			return 1
		}
		return 0
	}
	for n > 1 {
		half := n / 2
		b0 += half * lt(thr[b0+half], v0)
		b1 += half * lt(thr[b1+half], v1)
		b2 += half * lt(thr[b2+half], v2)
		b3 += half * lt(thr[b3+half], v3)
		n -= half
	}
	return b0 + lt(thr[b0], v0), b1 + lt(thr[b1], v1), b2 + lt(thr[b2], v2), b3 + lt(thr[b3], v3)
}

// countBelow is the number of thresholds < v (0 for NaN), branch-free.
func countBelow(thr []float64, v float64) int {
	if v != v || len(thr) == 0 {
		return 0
	}
	base, n := 0, len(thr)
	for n > 1 {
		half := n / 2
		// A 0/1 from a comparison compiles to SETcc: no branch to mispredict.
		lt := 0
		if thr[base+half] < v {
			lt = 1
		}
		base += half * lt
		n -= half
	}
	lt := 0
	if thr[base] < v {
		lt = 1
	}
	return base + lt
}
