package gbdt

import (
	"fmt"
	"math"
	"runtime"
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
