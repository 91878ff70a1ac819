package reentry

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/physics"
)

func collect(t testing.TB, cfg Config) []Track {
	t.Helper()
	var out []Track
	if err := Generate(context.Background(), cfg, 0, func(ts []Track) error { out = append(out, ts...); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

func small(count int) Config {
	c := DefaultConfig()
	c.Count = count
	c.Seed = 11
	return c
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range []string{TracksFile, LabelsFile, MetaFile, TruthFile} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			out[n] = b
		}
	}
	return out
}

func TestOutputIndependentOfWorkers(t *testing.T) {
	c := small(6)
	c.WriteTruth = true
	var sets []map[string][]byte
	for _, w := range []int{1, 3} {
		c.Workers = w
		dir := t.TempDir()
		if _, err := WriteDir(context.Background(), dir, c, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		sets = append(sets, readAll(t, dir))
	}
	for n, b := range sets[0] {
		if !bytes.Equal(b, sets[1][n]) {
			t.Errorf("%s differs between 1 and 3 workers", n)
		}
	}
	if len(sets[0]) != 4 {
		t.Errorf("wrote %d files, want 4", len(sets[0]))
	}
}

// Prefix stability (spec §6.5): a larger count reproduces the smaller one's
// tracks, so its tracks.csv and labels.csv start with the smaller files' bytes.
func TestPrefixStable(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := WriteDir(context.Background(), a, small(4), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(context.Background(), b, small(6), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	fa, fb := readAll(t, a), readAll(t, b)
	for _, n := range []string{TracksFile, LabelsFile} {
		if !bytes.HasPrefix(fb[n], fa[n]) {
			t.Errorf("%s of count 6 does not start with %s of count 4", n, n)
		}
		if len(fb[n]) == len(fa[n]) {
			t.Errorf("%s: count 6 wrote no more than count 4", n)
		}
	}
}

// The guarantees of spec §6.5 and the label definition of §2, checked
// against the noise-free truth.
func TestTrackGuaranteesAndLabel(t *testing.T) {
	c := small(12)
	c.WriteTruth = true
	var ends []float64
	for _, tr := range collect(t, c) {
		l := tr.Label
		if !l.Reenters {
			t.Fatalf("track %s: default config must reenter", tr.ID)
		}
		// t strictly increasing on the 0.5 s grid.
		for i, r := range tr.Rows {
			if k := r.T / DT; k != math.Round(k) {
				t.Fatalf("track %s: t=%g off the grid", tr.ID, r.T)
			}
			if i > 0 && r.T <= tr.Rows[i-1].T {
				t.Fatalf("track %s: t not increasing at row %d", tr.ID, i)
			}
		}
		first, last := tr.Rows[0].T, tr.Rows[len(tr.Rows)-1].T
		if l.ReentryTime < first || l.ReentryTime > l.TrackEndTime-5 {
			t.Errorf("track %s: t_re %.3f outside [t_first %.1f, t_end-5 %.1f]", tr.ID, l.ReentryTime, first, l.TrackEndTime-5)
		}
		if last > l.TrackEndTime || l.TrackEndTime > l.ImpactTime {
			t.Errorf("track %s: end %.1f, last row %.1f, impact %.2f", tr.ID, l.TrackEndTime, last, l.ImpactTime)
		}
		pre := 0
		for _, r := range tr.Rows {
			if r.T < l.ApogeeTime {
				pre++
			}
		}
		if pre < 2 {
			t.Errorf("track %s: %d samples before apogee", tr.ID, pre)
		}
		if want := int(math.Ceil(l.ReentryTime / DT)); l.ReentryIndex != want {
			t.Errorf("track %s: reentry_index %d, want ceil(t_re/dt) = %d", tr.ID, l.ReentryIndex, want)
		}
		// The reentry sample is the first post-apogee nominal sample whose
		// true drag is at least 1 g; the one before it is below.
		k := l.ReentryIndex
		if d := tr.Truth[k].Drag / physics.G0; d < 1 {
			t.Errorf("track %s: drag at reentry_index is %.4f g", tr.ID, d)
		}
		if d := tr.Truth[k-1].Drag / physics.G0; d >= 1 {
			t.Errorf("track %s: drag one sample before reentry_index is already %.4f g", tr.ID, d)
		}
		if l.ReentryAltitude < 15e3 || l.ReentryAltitude > 60e3 {
			t.Errorf("track %s: reentry altitude %.0f m outside the spec's 18-51 km band", tr.ID, l.ReentryAltitude)
		}
		if a := tr.Truth[k].Alt; math.Abs(a-l.ReentryAltitude) > 0.5*l.ReentrySpeed {
			t.Errorf("track %s: truth altitude at reentry sample %.0f far from label %.0f", tr.ID, a, l.ReentryAltitude)
		}
		if l.GroundRange < 250e3 || l.GroundRange > 3100e3 {
			t.Errorf("track %s: ground range %.0f km outside the target range", tr.ID, l.GroundRange/1e3)
		}
		if l.Beta < c.BetaMin || l.Beta > c.BetaMax {
			t.Errorf("track %s: beta %.0f outside [%g, %g]", tr.ID, l.Beta, c.BetaMin, c.BetaMax)
		}
		ends = append(ends, l.TrackEndTime-l.ReentryTime)
	}
	// Leakage guard (spec §3.3): the end is not t_re plus a constant.
	lo, hi := ends[0], ends[0]
	for _, e := range ends {
		lo, hi = math.Min(lo, e), math.Max(hi, e)
	}
	if hi-lo < 5 {
		t.Errorf("track end - t_re spans only %.2f s: the end leaks the label", hi-lo)
	}
}

// With outliers and dropouts off, the cartesian noise is N(0, sigma^2) per
// axis around the truth.
func TestCartesianNoiseLevel(t *testing.T) {
	c := small(3)
	c.WriteTruth, c.Dropout, c.GapProb, c.OutlierRate, c.NoiseScale = true, 0, 0, 0, 2
	var ss float64
	var n int
	for _, tr := range collect(t, c) {
		if len(tr.Rows) != len(tr.Truth) {
			t.Fatalf("track %s: %d rows for %d truth samples with no dropouts", tr.ID, len(tr.Rows), len(tr.Truth))
		}
		for i, r := range tr.Rows {
			u := tr.Truth[i]
			for _, d := range []float64{r.X - u.X, r.Y - u.Y, r.Z - u.Z} {
				ss += d * d
				n++
			}
			if a := physics.Altitude(r.X, r.Y, r.Z); math.Abs(a-r.Alt) > 1e-6 {
				t.Fatalf("alt column %.3f is not the altitude of x, y, z (%.3f)", r.Alt, a)
			}
		}
	}
	sd := math.Sqrt(ss / float64(n))
	if want := 40.0; math.Abs(sd-want)/want > 0.05 {
		t.Errorf("noise sd %.2f m, want %.0f (sigma-pos 20 x noise-scale 2)", sd, want)
	}
}

func TestDropoutsGapsOutliers(t *testing.T) {
	c := small(10)
	c.WriteTruth, c.GapProb, c.OutlierRate = true, 1, 0.01
	var nominal, kept, outliers int
	for _, tr := range collect(t, c) {
		nominal += len(tr.Truth)
		kept += len(tr.Rows)
		gap := 0.0
		for i := 1; i < len(tr.Rows); i++ {
			gap = math.Max(gap, tr.Rows[i].T-tr.Rows[i-1].T)
		}
		if gap < 2 {
			t.Errorf("track %s: gap-prob 1 but largest gap is %.1f s", tr.ID, gap)
		}
		for _, r := range tr.Rows {
			u := tr.Truth[int(math.Round(r.T/DT))]
			if math.Abs(r.X-u.X) > 6*20 || math.Abs(r.Z-u.Z) > 6*20 {
				outliers++
			}
		}
	}
	share := 1 - float64(kept)/float64(nominal)
	if share < 0.02 || share > 0.06 {
		t.Errorf("%.3f of samples missing; want the 2%% dropouts plus one 2-8 s gap per track", share)
	}
	if rate := float64(outliers) / float64(kept); rate < 0.004 || rate > 0.02 {
		t.Errorf("outlier rate %.4f, want about 0.01", rate)
	}
}

func TestVariantBCuts(t *testing.T) {
	c := small(4)
	c.Variant = "B"
	c.Horizons = []float64{2, 30, 120}
	ts := collect(t, c)
	if len(ts) != 12 {
		t.Fatalf("got %d tracks, want 4 flights x 3 horizons", len(ts))
	}
	for _, tr := range ts {
		l := tr.Label
		if !strings.HasPrefix(tr.ID, l.SourceTrack+"_") {
			t.Errorf("track %s: source_track %q", tr.ID, l.SourceTrack)
		}
		want := DT * math.Floor((l.ReentryTime-l.Horizon)/DT)
		if l.TCut != want {
			t.Errorf("track %s: t_cut %.1f, want %.1f", tr.ID, l.TCut, want)
		}
		if last := tr.Rows[len(tr.Rows)-1].T; last > l.TCut {
			t.Errorf("track %s: row at %.1f after the cut %.1f", tr.ID, last, l.TCut)
		}
		if l.NSamples != len(tr.Rows) {
			t.Errorf("track %s: n_samples %d for %d rows", tr.ID, l.NSamples, len(tr.Rows))
		}
	}
	// Drawn horizons stay inside [min, max].
	c.Horizons, c.Replicates = nil, 3
	for _, tr := range collect(t, c) {
		if h := tr.Label.Horizon; h < c.HorizonMin || h > c.HorizonMax {
			t.Errorf("horizon %.2f outside [%g, %g]", h, c.HorizonMin, c.HorizonMax)
		}
	}
}

// Sensor settings never change a trajectory: the truth comes from its own
// random stream.
func TestSensorSettingsKeepTruth(t *testing.T) {
	a := small(3)
	a.WriteTruth = true
	b := a
	b.NoiseModel, b.Dropout, b.OutlierRate = NoiseRadar, 0.1, 0
	ta, tb := collect(t, a), collect(t, b)
	for i := range ta {
		if ta[i].Label.ReentryTime != tb[i].Label.ReentryTime || ta[i].Truth[10] != tb[i].Truth[10] {
			t.Errorf("track %d: truth changed with the sensor settings", i)
		}
	}
}

func TestRadarMode(t *testing.T) {
	c := small(3)
	c.NoiseModel, c.WriteTruth, c.OutlierRate = NoiseRadar, true, 0
	for _, tr := range collect(t, c) {
		var worst, rdotSS float64
		for _, r := range tr.Rows {
			u := tr.Truth[int(math.Round(r.T/DT))]
			d := math.Sqrt((r.X-u.X)*(r.X-u.X) + (r.Y-u.Y)*(r.Y-u.Y) + (r.Z-u.Z)*(r.Z-u.Z))
			worst = math.Max(worst, d)
			rdotSS += r.Rdot * r.Rdot
		}
		// Cross-range error grows as R*sigma_angle: at most ~0.2 mrad x 3500 km.
		if worst > 5000 {
			t.Errorf("track %s: radar position error up to %.0f m", tr.ID, worst)
		}
		if rdotSS == 0 {
			t.Errorf("track %s: no range rate", tr.ID)
		}
	}
}

func TestEarthRotationChangesFlight(t *testing.T) {
	a := small(2)
	b := a
	b.EarthRotation = true
	ta, tb := collect(t, a), collect(t, b)
	for i := range ta {
		la, lb := ta[i].Label, tb[i].Label
		if !lb.Reenters || la.ReentryTime == lb.ReentryTime {
			t.Errorf("track %d: rotation did not change the flight (t_re %.3f vs %.3f)", i, la.ReentryTime, lb.ReentryTime)
		}
		// The targeting absorbs most of it: ranges stay near each other.
		if math.Abs(la.GroundRange-lb.GroundRange) > 0.1*la.GroundRange {
			t.Errorf("track %d: range %.0f vs %.0f km", i, la.GroundRange/1e3, lb.GroundRange/1e3)
		}
	}
}

func TestNonReentering(t *testing.T) {
	c := small(5)
	c.NonReenteringFrac = 1
	c.WriteTruth = true
	for _, tr := range collect(t, c) {
		l := tr.Label
		if l.Reenters || !math.IsNaN(l.ReentryTime) || l.ReentryIndex != -1 {
			t.Errorf("track %s: labelled as reentering", tr.ID)
		}
		for _, u := range tr.Truth {
			if u.T > l.ApogeeTime && u.Drag >= physics.G0 {
				t.Errorf("track %s: truth reaches 1 g at %.1f before the track ends", tr.ID, u.T)
				break
			}
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]func(*Config){
		"--count":        func(c *Config) { c.Count = 0 },
		"--variant":      func(c *Config) { c.Variant = "C" },
		"--noise-model":  func(c *Config) { c.NoiseModel = "sonar" },
		"--beta-min":     func(c *Config) { c.BetaMin = 2e4 },
		"--dropout":      func(c *Config) { c.Dropout = 1.5 },
		"--threshold-g":  func(c *Config) { c.ThresholdG = 0 },
		"--horizon-min":  func(c *Config) { c.Variant = "B"; c.HorizonMin = -1 },
		"--horizons":     func(c *Config) { c.Variant = "B"; c.Horizons = []float64{5, math.NaN()} },
		"--range-min-km": func(c *Config) { c.RangeMinKm = 10 },
	}
	for flag, mut := range cases {
		c := DefaultConfig()
		mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v, want an error naming the flag", flag, err)
		}
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

func TestWriteDirRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteDir(context.Background(), dir, small(1), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := WriteDir(context.Background(), dir, small(1), WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second write: %v, want a refusal mentioning --force", err)
	}
	if _, err := WriteDir(context.Background(), dir, small(2), WriteOptions{Overwrite: true}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

// interrupt runs WriteDir and cancels it once `after` flights are done,
// checkpointing after every flight.
func interrupt(t *testing.T, dir string, c Config, after int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := WriteDir(ctx, dir, c, WriteOptions{Every: time.Nanosecond, Progress: func(done int) {
		if done == after {
			cancel()
		}
	}})
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.Done < after {
		t.Fatalf("interrupted write returned %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, TracksFile)); !os.IsNotExist(err) {
		t.Fatal("an interrupted write left a tracks.csv that looks whole")
	}
}

// Ctrl-C keeps a checkpoint; re-running the same command resumes and ends
// with the bytes of an uninterrupted run, also after a kill -9 that left
// half-written bytes past the checkpoint.
func TestWriteDirResumes(t *testing.T) {
	c := small(9)
	c.WriteTruth = true
	want := t.TempDir()
	if _, err := WriteDir(context.Background(), want, c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	interrupt(t, dir, c, 3)
	sum, err := WriteDir(context.Background(), dir, c, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed < 3 || sum.Tracks != 9 {
		t.Errorf("resumed from %d, %d tracks", sum.Resumed, sum.Tracks)
	}
	same(t, want, dir)

	// kill -9 after the checkpoint: torn rows past the recorded offsets.
	dir2 := t.TempDir()
	interrupt(t, dir2, c, 4)
	f, err := os.OpenFile(filepath.Join(dir2, PartialDir, TracksFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("999,0.5,1.00,2.0")
	f.Close()
	if _, err := WriteDir(context.Background(), dir2, c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	same(t, want, dir2)

	// Another configuration does not resume someone else's partial set.
	dir3 := t.TempDir()
	interrupt(t, dir3, c, 2)
	other := c
	other.Seed++
	sum, err = WriteDir(context.Background(), dir3, other, WriteOptions{})
	if err != nil || sum.Resumed != 0 {
		t.Errorf("other seed: resumed from %d, %v", sum.Resumed, err)
	}
	if _, err := os.Stat(filepath.Join(dir3, PartialDir)); !os.IsNotExist(err) {
		t.Error("partial directory left behind after completion")
	}
}

func same(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := readAll(t, a), readAll(t, b)
	if len(fa) != 4 || len(fb) != 4 {
		t.Fatalf("%d and %d files", len(fa), len(fb))
	}
	for n := range fa {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs from the uninterrupted run", n)
		}
	}
}

func BenchmarkGenerateTrack(b *testing.B) {
	cfg := DefaultConfig()
	for i := 0; b.Loop(); i++ {
		if _, err := generateFlight(&cfg, i); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPublishCompletesAfterKill: a kill between the renames of the publish
// left tracks.csv in place and the rest in .reckon-partial, which readers
// took for a set without labels and the same command refused to finish
// (issue 12). Readers now refuse it, and the same command completes it
// with the bytes of an uninterrupted run.
func TestPublishCompletesAfterKill(t *testing.T) {
	c := small(5)
	c.WriteTruth = true
	want := t.TempDir()
	if _, err := WriteDir(context.Background(), want, c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	killed := errors.New("killed")
	publishHook = func(name string) error {
		if name == LabelsFile {
			return killed
		}
		return nil
	}
	_, err := WriteDir(context.Background(), dir, c, WriteOptions{})
	publishHook = nil
	if !errors.Is(err, killed) {
		t.Fatalf("publish with a kill before labels.csv: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, TracksFile)); err != nil {
		t.Fatalf("the kill came before tracks.csv moved: %v", err)
	}
	if _, err := dataset.LoadTracks(dir, dataset.TrackOptions{}); err == nil || !strings.Contains(err.Error(), "half published") {
		t.Errorf("loading a half-published set: %v", err)
	}
	if _, err := dataset.LoadTracks(filepath.Join(dir, TracksFile), dataset.TrackOptions{}); err == nil || !strings.Contains(err.Error(), "half published") {
		t.Errorf("loading a half-published set's tracks.csv: %v", err)
	}
	// Another configuration does not take it over without --force.
	other := c
	other.Seed++
	if _, err := WriteDir(context.Background(), dir, other, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("another configuration over a half-published set: %v", err)
	}
	sum, err := WriteDir(context.Background(), dir, c, WriteOptions{})
	if err != nil {
		t.Fatalf("the same command again: %v", err)
	}
	if sum.Flights != 5 || sum.Resumed != 5 {
		t.Errorf("completed summary %+v", sum)
	}
	same(t, want, dir)
	if _, err := os.Stat(filepath.Join(dir, PartialDir)); !os.IsNotExist(err) {
		t.Error("partial directory left behind after the publish completed")
	}
	if _, err := dataset.LoadTracks(dir, dataset.TrackOptions{RequireLabels: true}); err != nil {
		t.Errorf("the completed set: %v", err)
	}
}
