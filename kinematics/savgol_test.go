package kinematics

import (
	"math"
	"testing"
)

// Classic centre coefficients from Savitzky & Golay (1964), Table I, as
// also given by scipy.signal.savgol_coeffs.
func TestSavGolCentreCoefficients(t *testing.T) {
	cases := []struct {
		window, order int
		norm          float64
		coef          []float64
	}{
		{5, 2, 35, []float64{-3, 12, 17, 12, -3}},
		{7, 2, 21, []float64{-2, 3, 6, 7, 6, 3, -2}},
		{7, 3, 21, []float64{-2, 3, 6, 7, 6, 3, -2}}, // odd orders share the even one's centre weights
		{9, 2, 231, []float64{-21, 14, 39, 54, 59, 54, 39, 14, -21}},
	}
	for _, c := range cases {
		w := SavGolWeights(c.window, c.order)[c.window/2]
		for i := range w {
			if want := c.coef[i] / c.norm; math.Abs(w[i]-want) > 1e-12 {
				t.Errorf("window %d order %d: w[%d] = %.15g, want %.15g", c.window, c.order, i, w[i], want)
			}
		}
	}
}

// A least-squares polynomial filter reproduces every polynomial of its order
// exactly, at the ends too.
func TestSavGolReproducesPolynomials(t *testing.T) {
	for _, n := range []int{3, 8, 15, 40} {
		src := make([]float64, n)
		for i := range src {
			x := float64(i)
			src[i] = 2 - 0.5*x + 0.03*x*x - 0.001*x*x*x
		}
		dst := make([]float64, n)
		SavGol(dst, src, 15, 3)
		for i := range src {
			if math.Abs(dst[i]-src[i]) > 1e-9*math.Max(1, math.Abs(src[i])) {
				t.Fatalf("n=%d: dst[%d]=%g, want %g", n, i, dst[i], src[i])
			}
		}
	}
}

func TestSavGolReducesNoise(t *testing.T) {
	n := 200
	src := make([]float64, n)
	for i := range src {
		if i%2 == 0 {
			src[i] = 1
		} else {
			src[i] = -1
		}
	}
	SavGol(src, src, 15, 3) // in place
	for i := 7; i < n-7; i++ {
		if math.Abs(src[i]) > 0.2 {
			t.Fatalf("alternating noise not damped at %d: %g", i, src[i])
		}
	}
}

// Derivatives of a cubic are exact, at the ends too, and scale with dt.
func TestSavGolDerivatives(t *testing.T) {
	const dt = 0.5
	n := 30
	src := make([]float64, n)
	for i := range src {
		x := float64(i) * dt
		src[i] = 3 + 2*x - 0.7*x*x + 0.05*x*x*x
	}
	d1, d2 := make([]float64, n), make([]float64, n)
	SavGolDeriv(d1, src, 15, 3, 1, dt)
	SavGolDeriv(d2, src, 15, 3, 2, dt)
	for i := range src {
		x := float64(i) * dt
		if want := 2 - 1.4*x + 0.15*x*x; math.Abs(d1[i]-want) > 1e-8 {
			t.Fatalf("d1[%d] = %g, want %g", i, d1[i], want)
		}
		if want := -1.4 + 0.3*x; math.Abs(d2[i]-want) > 1e-8 {
			t.Fatalf("d2[%d] = %g, want %g", i, d2[i], want)
		}
	}
	// scipy.signal.savgol_coeffs(5, 2, deriv=1, use="dot") = [-0.2, -0.1, 0, 0.1, 0.2].
	w := savGolWeights(5, 2, 1)[2]
	for i, want := range []float64{-0.2, -0.1, 0, 0.1, 0.2} {
		if math.Abs(w[i]-want) > 1e-12 {
			t.Errorf("deriv weights %v", w)
			break
		}
	}
}
