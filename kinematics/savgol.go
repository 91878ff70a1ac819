package kinematics

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// SavGolWeights returns, for a window of 2m+1 samples and a polynomial of
// the given order, the least-squares weights that evaluate the fitted
// polynomial at every position of the window: w[s][i] weighs sample i for
// the value at position s (s = m is the centre, the classic coefficients).
func SavGolWeights(window, order int) [][]float64 {
	w := savGolWeights(window, order, 0)
	out := make([][]float64, len(w)) // the cached rows stay unshared
	for i, r := range w {
		out[i] = slices.Clone(r)
	}
	return out
}

// savGolWeights is SavGolWeights for the deriv-th derivative of the fitted
// polynomial, per unit of sample spacing, computed once per shape: the
// result is shared and must not be changed.
func savGolWeights(window, order, deriv int) [][]float64 {
	key := [3]int{window, order, deriv}
	if w, ok := weightCache.Load(key); ok {
		return w.([][]float64)
	}
	w := computeSavGolWeights(window, order, deriv)
	weightCache.Store(key, w)
	return w
}

// weightCache holds savGolWeights by shape; a handful of shapes are used.
var weightCache sync.Map

func computeSavGolWeights(window, order, deriv int) [][]float64 {
	if window < 1 || window%2 == 0 || order < 0 || order >= window || deriv < 0 {
		panic(fmt.Sprintf("feature: SavGol needs an odd window > order >= 0, got window %d order %d", window, order))
	}
	m := window / 2
	a := mat.NewDense(window, order+1, nil)
	for i := range window {
		x := float64(i - m)
		p := 1.0
		for j := 0; j <= order; j++ {
			a.Set(i, j, p)
			p *= x
		}
	}
	// P = (A^T A)^-1 A^T maps samples to polynomial coefficients; solving
	// via QR keeps this well conditioned for the window sizes used here.
	var qr mat.QR
	qr.Factorize(a)
	var pinv mat.Dense
	if err := qr.SolveTo(&pinv, false, eye(window)); err != nil {
		panic(err)
	}
	w := make([][]float64, window)
	for s := range window {
		w[s] = make([]float64, window)
		x := float64(s - m)
		for i := range window {
			v := 0.0
			for j := deriv; j <= order; j++ {
				// d^deriv/dx^deriv of x^j = j!/(j-deriv)! x^(j-deriv)
				c := 1.0
				for k := j - deriv + 1; k <= j; k++ {
					c *= float64(k)
				}
				v += c * math.Pow(x, float64(j-deriv)) * pinv.At(j, i)
			}
			w[s][i] = v
		}
	}
	return w
}

func eye(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := range n {
		d.Set(i, i, 1)
	}
	return d
}

// SavGol smooths src into dst (same length) with a Savitzky-Golay filter on
// the sample index. Near the ends the polynomial fitted to the first or last
// full window is evaluated (scipy's mode="interp"), so no padding invents
// data. A series shorter than the window uses the largest odd window that
// fits, and the order drops to stay below it.
func SavGol(dst, src []float64, window, order int) { SavGolDeriv(dst, src, window, order, 0, 1) }

// SavGolDeriv writes the deriv-th derivative of the Savitzky-Golay fit of
// src, for samples spaced dt apart, into dst. deriv 0 is SavGol.
func SavGolDeriv(dst, src []float64, window, order, deriv int, dt float64) {
	n := len(src)
	if len(dst) != n {
		panic(fmt.Sprintf("feature: SavGol dst has %d elements, src %d", len(dst), n))
	}
	if window > n {
		window = n
		if window%2 == 0 {
			window--
		}
	}
	order = min(order, window-1)
	if window < 3 || deriv > order {
		if deriv == 0 {
			copy(dst, src)
		} else {
			clear(dst) // not enough samples to estimate the derivative
		}
		return
	}
	w := savGolWeights(window, order, deriv)
	scale := math.Pow(dt, -float64(deriv))
	m := window / 2
	conv := func(ws []float64, start int) float64 {
		v := 0.0
		for i, c := range ws {
			v += c * src[start+i]
		}
		return v * scale
	}
	out := make([]float64, n) // dst may alias src
	for k := range n {
		switch {
		case k < m:
			out[k] = conv(w[k], 0)
		case k >= n-m:
			out[k] = conv(w[window-(n-k)], n-window)
		default:
			out[k] = conv(w[m], k-m)
		}
	}
	copy(dst, out)
}
