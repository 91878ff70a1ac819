package drift

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// TestTrackDrift (issue 15): generator tracks with twice the noise, or
// with a ballistic coefficient range moved up, drift from the default
// settings' tracks; tracks of the same settings and another seed do not.
// Each case names the feature that must carry it.
func TestTrackDrift(t *testing.T) {
	count := 80 // the fit of beta costs about 15 ms a track
	gen := func(name string, seed uint64, edit func(*reentry.Config)) string {
		dir := filepath.Join(t.TempDir(), name)
		cfg := reentry.DefaultConfig()
		cfg.Count, cfg.Seed = count, seed
		if edit != nil {
			edit(&cfg)
		}
		if _, err := reentry.WriteDir(context.Background(), dir, cfg, reentry.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	ref, err := LoadReference(gen("ref", 1, nil), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		set   string
		drift string // "" for none
	}{
		{"another seed", gen("seed", 2, nil), ""},
		{"another seed again", gen("seed3", 3, nil), ""},
		{"noise x2", gen("noise", 4, func(c *reentry.Config) { c.NoiseScale = 2 }), "noise_m"},
		{"beta x3", gen("beta", 5, func(c *reentry.Config) { c.BetaMin, c.BetaMax = 3*c.BetaMin, 3*c.BetaMax }), "ln_beta"},
	} {
		rep, err := Check(context.Background(), ref, []string{tc.set}, monitor.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var flagged []string
		for _, c := range rep.Columns {
			if c.Drift {
				flagged = append(flagged, c.Column)
			}
		}
		if rep.DatasetDrift != (tc.drift != "") || tc.drift != "" && !contains(flagged, tc.drift) {
			t.Errorf("%s: dataset drift %v, drifted %v; want %q", tc.name, rep.DatasetDrift, flagged, tc.drift)
		}
		t.Logf("%s: %v %v", tc.name, rep.DatasetDrift, flagged)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
