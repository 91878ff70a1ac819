package physics

import (
	"math"
	"testing"
)

// Reference densities from the published US Standard Atmosphere 1976 table
// (NOAA-S/T 76-1562, geometric altitude), as quoted in the spec §1.3.
func TestDensityMatchesUS76Table(t *testing.T) {
	cases := []struct {
		h, rho float64
	}{
		{0, 1.2250},
		{20000, 0.08891},
		{30000, 0.018410},
		{40000, 0.0039957},
		{50000, 0.0010269},
		{60000, 3.0968e-4},
		{86000, 6.958e-6},
	}
	for _, c := range cases {
		got := Density(c.h)
		if rel := math.Abs(got-c.rho) / c.rho; rel > 2e-3 {
			t.Errorf("Density(%g) = %.6g, table %.6g (rel err %.2g)", c.h, got, c.rho, rel)
		}
	}
	// The tail is continuous at 86 km and gives ~5.97e-7 at 100 km (§1.3).
	if got := Density(100000); math.Abs(got-5.97e-7)/5.97e-7 > 5e-3 {
		t.Errorf("Density(100 km) = %.4g, want ~5.97e-7", got)
	}
	below, above := Density(tailBase-1e-6), Density(tailBase)
	if math.Abs(below-above)/above > 1e-3 {
		t.Errorf("tail discontinuity at 86 km: %.6g vs %.6g", below, above)
	}
}

func TestDensityMonotone(t *testing.T) {
	prev := math.Inf(1)
	for h := -500.0; h < 300000; h += 250 {
		d := Density(h)
		if !(d < prev) || d <= 0 {
			t.Fatalf("density not strictly decreasing and positive at h=%g: %g after %g", h, d, prev)
		}
		prev = d
	}
}
