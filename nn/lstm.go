package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/reckon-ml/reckon/sgemm"
)

// LSTM is one unidirectional LSTM layer (PyTorch's gate order i, f, g, o):
//
//	i, f, o = sigmoid(x·Wx + h·Wh + b), g = tanh(...)
//	c' = f*c + i*g,  h' = o*tanh(c')
//
// The four gates are one fused 4H-wide matrix product. Inputs and outputs
// are time-major (see the package comment); the initial state is zero.
type LSTM struct {
	In, Hidden int
	Wx, Wh, B  *Param // In×4H, H×4H, 4H

	// Forward caches.
	x        []float32 // T*B*In
	t, b     int
	gates    []float32 // T*B*4H activated gates
	c, tc, h []float32 // T*B*H cell, tanh(cell), output

	// Wh packed once per pass for the T per-step products: as Wh for
	// Forward, as its transpose for Backward.
	wh, whT sgemm.PackedB
	zero    []float32 // H zeros: the cell state before the first step
}

// NewLSTM initialises every weight from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does.
func NewLSTM(r *rand.Rand, in, hidden int) *LSTM {
	l := &LSTM{In: in, Hidden: hidden,
		Wx: newParam("lstm.wx", in, 4*hidden), Wh: newParam("lstm.wh", hidden, 4*hidden), B: newParam("lstm.b", 4*hidden)}
	k := 1 / math.Sqrt(float64(hidden))
	l.Wx.uniform(r, k)
	l.Wh.uniform(r, k)
	l.B.uniform(r, k)
	return l
}

func (l *LSTM) Params() []*Param { return []*Param{l.Wx, l.Wh, l.B} }

// Replicate returns an LSTM sharing l's weights with its own gradients.
func (l *LSTM) Replicate() *LSTM {
	return &LSTM{In: l.In, Hidden: l.Hidden, Wx: l.Wx.replica(), Wh: l.Wh.replica(), B: l.B.replica()}
}

// Forward runs T steps over a batch of B sequences and returns every
// step's output h (T*B*H). x is kept for Backward.
func (l *LSTM) Forward(x []float32, T, B int) []float32 {
	H, G := l.Hidden, 4*l.Hidden
	if len(x) != T*B*l.In {
		panic(fmt.Sprintf("nn: LSTM.Forward got %d values for T=%d B=%d In=%d", len(x), T, B, l.In))
	}
	l.x, l.t, l.b = x, T, B
	l.gates = grow(l.gates, T*B*G)
	l.c = grow(l.c, T*B*H)
	l.tc = grow(l.tc, T*B*H)
	l.h = make([]float32, T*B*H) // returned to the caller: never reused

	// Input contributions for all steps at once, plus the bias.
	for r := range T * B {
		copy(l.gates[r*G:(r+1)*G], l.B.W)
	}
	gemm(false, false, T*B, G, l.In, 1, x, l.Wx.W, 1, l.gates)
	l.wh.Pack(false, G, H, l.Wh.W)
	for t := range T {
		pre := l.gates[t*B*G : (t+1)*B*G]
		if t > 0 {
			l.wh.Mul(false, B, 1, l.h[(t-1)*B*H:t*B*H], 1, pre)
		}
		for b := range B {
			g := pre[b*G : (b+1)*G]
			sigmoidSlice(g[:2*H], g[:2*H]) // i, f
			tanhSlice(g[2*H:3*H], g[2*H:3*H])
			sigmoidSlice(g[3*H:], g[3*H:]) // o
			off := (t*B + b) * H
			c, tc, h := l.c[off:off+H], l.tc[off:off+H], l.h[off:off+H]
			if t == 0 {
				for j := range H {
					c[j] = g[j] * g[2*H+j]
				}
			} else {
				cp := l.c[off-B*H : off-B*H+H]
				for j := range H {
					c[j] = g[H+j]*cp[j] + g[j]*g[2*H+j]
				}
			}
			tanhSlice(tc, c)
			for j := range H {
				h[j] = g[3*H+j] * tc[j]
			}
		}
	}
	return l.h
}

// Backward takes dL/dh for every step (T*B*H; zero where the output is not
// used), accumulates the parameter gradients and returns dL/dx.
func (l *LSTM) Backward(dh []float32) []float32 { return l.backward(dh, true) }

// BackwardParams is Backward for a first layer, whose input needs no
// gradient: it skips the product that would compute dL/dx.
func (l *LSTM) BackwardParams(dh []float32) { l.backward(dh, false) }

func (l *LSTM) backward(dh []float32, wantDx bool) []float32 {
	T, B, H, G := l.t, l.b, l.Hidden, 4*l.Hidden
	dpre := make([]float32, T*B*G)
	dhNext := make([]float32, B*H)
	dcNext := make([]float32, B*H)
	l.zero = grow(l.zero, H)
	clear(l.zero)
	l.whT.Pack(true, H, G, l.Wh.W)
	for t := T - 1; t >= 0; t-- {
		for b := range B {
			off := (t*B + b) * H
			g := l.gates[(t*B+b)*G : (t*B+b+1)*G]
			dp := dpre[(t*B+b)*G : (t*B+b+1)*G]
			tc := l.tc[off : off+H]
			dhb, dhn, dcn := dh[off:off+H], dhNext[b*H:(b+1)*H], dcNext[b*H:(b+1)*H]
			cp := l.zero // c_{-1} = 0
			if t > 0 {
				cp = l.c[off-B*H : off-B*H+H]
			}
			for j := lstmBackVec(g, dp, tc, dhb, dhn, dcn, cp, H); j < H; j++ {
				i, f, gg, o := g[j], g[H+j], g[2*H+j], g[3*H+j]
				d := dhb[j] + dhn[j]
				dc := dcn[j] + d*o*(1-tc[j]*tc[j])
				dp[j] = dc * gg * i * (1 - i)
				dp[H+j] = dc * cp[j] * f * (1 - f)
				dp[2*H+j] = dc * i * (1 - gg*gg)
				dp[3*H+j] = d * tc[j] * o * (1 - o)
				dcn[j] = dc * f
			}
		}
		if t > 0 {
			l.whT.Mul(false, B, 1, dpre[t*B*G:(t+1)*B*G], 0, dhNext)
		}
	}
	// Weight gradients for all steps at once: h_{t-1} pairs with step t.
	if T > 1 {
		gemm(true, false, H, G, (T-1)*B, 1, l.h[:(T-1)*B*H], dpre[B*G:], 1, l.Wh.G)
	}
	gemm(true, false, l.In, G, T*B, 1, l.x, dpre, 1, l.Wx.G)
	addColSums(l.B.G, dpre, T*B, G)
	if !wantDx {
		return nil
	}
	dx := make([]float32, T*B*l.In)
	gemm(false, true, T*B, l.In, G, 1, dpre, l.Wx.W, 0, dx)
	return dx
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
