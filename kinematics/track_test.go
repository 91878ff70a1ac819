package kinematics

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/physics"
	"github.com/reckon-ml/reckon/sim/reentry"
)

func genTracks(t *testing.T, mut func(*reentry.Config)) (*dataset.TrackSet, []reentry.Track) {
	t.Helper()
	c := reentry.DefaultConfig()
	c.Count, c.Seed, c.WriteTruth = 2, 5, true
	mut(&c)
	var truth []reentry.Track
	if err := reentry.Generate(context.Background(), c, 0, func(ts []reentry.Track) error { truth = append(truth, ts...); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := reentry.WriteDir(context.Background(), dir, c, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ts, truth
}

// On noise-free tracks the smoothed drag estimate follows the true drag
// around reentry (the SG fit of a smooth trajectory is nearly exact).
func TestDragEstimateMatchesTruth(t *testing.T) {
	ts, truth := genTracks(t, func(c *reentry.Config) { c.NoiseScale, c.OutlierRate, c.Dropout, c.GapProb = 0, 0, 0, 0 })
	for i, tr := range ts.Tracks {
		g, err := Smooth(&tr, 15)
		if err != nil {
			t.Fatal(err)
		}
		d := g.Drag()
		k := truth[i].Label.ReentryIndex
		for j := k - 4; j <= k+4; j++ {
			// A 7 s cubic window lags a drag that grows ~30% a step by a
			// few percent: the bias the physics fit exists to remove.
			want := truth[i].Truth[j].Drag
			if math.Abs(d[j-g.K0]-want) > 0.02*physics.G0+0.1*want {
				t.Errorf("track %s step %d: drag %.3f, truth %.3f m/s^2", tr.ID, j, d[j], want)
			}
		}
	}
}

// Gaps are filled, outliers replaced, and the noise estimate is near the
// generator's sigma.
func TestSmoothGapsOutliersSigma(t *testing.T) {
	ts, truth := genTracks(t, func(c *reentry.Config) { c.GapProb, c.OutlierRate = 1, 0.01 })
	for i, tr := range ts.Tracks {
		g, err := Smooth(&tr, 15)
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, o := range g.Observed {
			if !o {
				missing++
			}
		}
		if missing < 4 || g.K0+g.Len() > len(truth[i].Truth) {
			t.Errorf("track %s: %d filled steps of %d (truth %d)", tr.ID, missing, g.Len(), len(truth[i].Truth))
		}
		if g.Sigma < 14 || g.Sigma > 28 {
			t.Errorf("track %s: noise estimate %.1f m, generator sigma 20 m", tr.ID, g.Sigma)
		}
		// Observed steps away from the ends: smoothing must beat the raw
		// 20 m noise despite 1% outliers at 400 m.
		var ss float64
		var n int
		for k := 10; k < g.Len()-10; k++ {
			if g.Observed[k] {
				d := g.P[2][k] - truth[i].Truth[g.K0+k].Z
				ss += d * d
				n++
			}
		}
		if rms := math.Sqrt(ss / float64(n)); rms > 20 {
			t.Errorf("track %s: smoothed z RMS error %.1f m", tr.ID, rms)
		}
	}
}

// median by selection must be the sort's middle element, duplicates and
// all.
func TestMedianMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		for _, levels := range []int{3, 1000000} { // many ties, few ties
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(r.IntN(levels)) * 0.25
			}
			s := slices.Clone(v)
			slices.Sort(s)
			want := 0.0
			if n > 0 {
				want = s[n/2]
			}
			orig := slices.Clone(v)
			if got := median(v); got != want {
				t.Fatalf("n=%d levels=%d: median %g, sorted middle %g", n, levels, got, want)
			}
			if !slices.Equal(v, orig) {
				t.Fatalf("median reordered its argument")
			}
		}
	}
	if got := median([]float64{3, math.NaN(), 1}); got != 1 {
		t.Errorf("with a NaN: %g, want the sort's middle, 1", got)
	}
}
