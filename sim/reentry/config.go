package reentry

import (
	"fmt"
	"math"
	"runtime"
)

// Noise models of spec §3.1.
const (
	NoiseCartesian = "cartesian"
	NoiseRadar     = "radar"
)

// Sampling and integration (spec §1.2; the physics itself is package
// physics).
const (
	DT = 0.5  // s, sample interval
	H  = 0.01 // s, RK4 step; DT/H must be an integer

	stepsPerSample = 50
	maxFlightS     = 1200.0 // a coarse run that has not impacted by then overshoots
)

// Version identifies the generator's algorithm. Bump it whenever the bytes
// written for a given (Config, seed) change, so dataset hashes stay honest.
const Version = "1"

// Config holds every parameter of spec §6.4. The zero value is not useful:
// start from DefaultConfig.
type Config struct {
	Count int    `json:"count"`
	Seed  uint64 `json:"seed"`

	Variant    string    `json:"variant"` // "A" (labelling) or "B" (forecast)
	HorizonMin float64   `json:"horizon_min_s"`
	HorizonMax float64   `json:"horizon_max_s"`
	Horizons   []float64 `json:"horizons_s,omitempty"` // variant B: fixed horizons instead of U[min,max]
	Replicates int       `json:"replicates"`           // variant B: cuts per track when horizons are drawn

	NoiseModel  string  `json:"noise_model"`
	NoiseScale  float64 `json:"noise_scale"`
	SigmaPos    float64 `json:"sigma_pos_m"`
	Dropout     float64 `json:"dropout"`
	GapProb     float64 `json:"gap_prob"`
	OutlierRate float64 `json:"outlier_rate"`

	BetaMin    float64 `json:"beta_min"`
	BetaMax    float64 `json:"beta_max"`
	RangeMinKm float64 `json:"range_min_km"`
	RangeMaxKm float64 `json:"range_max_km"`

	ThresholdG        float64 `json:"threshold_g"`
	EarthRotation     bool    `json:"earth_rotation"`
	NonReenteringFrac float64 `json:"nonreentering_frac"`
	WriteTruth        bool    `json:"write_truth"`

	// Workers bounds parallelism; it never changes the output.
	Workers int `json:"-"`
}

// DefaultConfig returns the spec's recommended defaults (β ∈ [1500, 15000]).
func DefaultConfig() Config {
	return Config{
		Count:       90,
		Seed:        1,
		Variant:     "A",
		HorizonMin:  2,
		HorizonMax:  120,
		Replicates:  1,
		NoiseModel:  NoiseCartesian,
		NoiseScale:  1,
		SigmaPos:    20,
		Dropout:     0.02,
		GapProb:     0.1,
		OutlierRate: 0.002,
		BetaMin:     1500,
		BetaMax:     15000,
		RangeMinKm:  300,
		RangeMaxKm:  3000,
		ThresholdG:  1,
		Workers:     runtime.GOMAXPROCS(0),
	}
}

// Validate reports the first parameter that makes generation meaningless,
// naming the CLI flag so the message can be shown as is.
func (c *Config) Validate() error {
	prob := func(name string, v float64, max float64) error {
		if !(v >= 0 && v <= max) {
			return fmt.Errorf("--%s must be in [0, %g], got %g", name, max, v)
		}
		return nil
	}
	switch {
	case c.Count < 1:
		return fmt.Errorf("--count must be at least 1, got %d", c.Count)
	case c.Variant != "A" && c.Variant != "B":
		return fmt.Errorf("--variant must be A or B, got %q", c.Variant)
	case c.NoiseModel != NoiseCartesian && c.NoiseModel != NoiseRadar:
		return fmt.Errorf("--noise-model must be cartesian or radar, got %q", c.NoiseModel)
	case !(c.NoiseScale >= 0) || math.IsInf(c.NoiseScale, 0):
		return fmt.Errorf("--noise-scale must be >= 0, got %g", c.NoiseScale)
	case !(c.SigmaPos >= 0) || math.IsInf(c.SigmaPos, 0):
		return fmt.Errorf("--sigma-pos must be >= 0, got %g", c.SigmaPos)
	case !(c.BetaMin > 0 && c.BetaMax >= c.BetaMin) || math.IsInf(c.BetaMax, 0):
		return fmt.Errorf("need 0 < --beta-min <= --beta-max, got %g and %g", c.BetaMin, c.BetaMax)
	case !(c.RangeMinKm >= 50 && c.RangeMaxKm >= c.RangeMinKm && c.RangeMaxKm <= 10000):
		return fmt.Errorf("need 50 <= --range-min-km <= --range-max-km <= 10000, got %g and %g", c.RangeMinKm, c.RangeMaxKm)
	case !(c.ThresholdG > 0) || math.IsInf(c.ThresholdG, 0):
		return fmt.Errorf("--threshold-g must be > 0, got %g", c.ThresholdG)
	}
	for _, p := range []struct {
		name string
		v    float64
		max  float64
	}{{"dropout", c.Dropout, 0.9}, {"gap-prob", c.GapProb, 1}, {"outlier-rate", c.OutlierRate, 0.5}, {"nonreentering-frac", c.NonReenteringFrac, 1}} {
		if err := prob(p.name, p.v, p.max); err != nil {
			return err
		}
	}
	if c.Variant == "B" {
		if len(c.Horizons) == 0 {
			if !(c.HorizonMin > 0 && c.HorizonMax >= c.HorizonMin && c.HorizonMax <= 600) {
				return fmt.Errorf("need 0 < --horizon-min <= --horizon-max <= 600, got %g and %g", c.HorizonMin, c.HorizonMax)
			}
			if c.Replicates < 1 {
				return fmt.Errorf("--replicates must be at least 1, got %d", c.Replicates)
			}
		}
		for _, h := range c.Horizons {
			if !(h > 0 && h <= 600) {
				return fmt.Errorf("--horizons: each horizon must be in (0, 600] s, got %g", h)
			}
		}
	}
	return nil
}
