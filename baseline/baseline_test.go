package baseline

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

// arc is a vertical track with altitude alt(t) sampled every 0.5 s.
func arc(n int, alt func(t float64) float64) *dataset.Track {
	tr := &dataset.Track{ID: "arc", DT: 0.5}
	for k := range n {
		t := 0.5 * float64(k)
		tr.T = append(tr.T, t)
		tr.X = append(tr.X, 0)
		tr.Y = append(tr.Y, 0)
		tr.Z = append(tr.Z, alt(t))
		tr.Alt = append(tr.Alt, alt(t))
	}
	return tr
}

// Up at 2 km/s from 30 km, apogee at t=200 s, then down through 40 km.
func parabola(t float64) float64 { return 30000 + 2000*t - 5*t*t }

func crossing(h float64) float64 {
	// Second root of parabola(t) = h.
	a, b, c := -5.0, 2000.0, 30000-h
	return (-b - math.Sqrt(b*b-4*a*c)) / (2 * a)
}

func TestFitMeanAltitude(t *testing.T) {
	m, err := FitMeanAltitude([]dataset.TrackLabel{
		{Reenters: true, ReentryAltitude: 30000},
		{Reenters: true, ReentryAltitude: 40000},
		{Reenters: false, ReentryAltitude: math.NaN()},
	})
	if err != nil || m.Altitude != 35000 || m.Tracks != 2 {
		t.Errorf("got %+v, %v", m, err)
	}
	if _, err := FitMeanAltitude([]dataset.TrackLabel{{Reenters: false}}); err == nil {
		t.Error("fitted on no reentering labels")
	}
}

func TestPredictInterpolatesCrossing(t *testing.T) {
	m := MeanAltitude{Altitude: 40000}
	got, err := m.Predict(arc(800, parabola))
	if err != nil {
		t.Fatal(err)
	}
	// Linear interpolation between rows 0.5 s apart on a curve with
	// |alt''| = 10 m/s^2 errs by at most ~ 10*0.25/8 / sink rate.
	if want := crossing(40000); math.Abs(got-want) > 1e-3 {
		t.Errorf("predicted %.5f, want %.5f", got, want)
	}
}

// Spec §7 row 7: a single outlier that drops a row 1.5 s before the
// crossing below h-bar does not fire the crossing early.
func TestPredictIgnoresOutlier(t *testing.T) {
	tr := arc(800, parabola)
	m := MeanAltitude{Altitude: 40000}
	k := int(math.Ceil(crossing(40000)/0.5)) - 3 // three rows, ~1.5 s, before the crossing
	if tr.Alt[k] < 40000 || tr.Alt[k] > 40000+3500 {
		t.Fatalf("setup: row %d at %.0f m", k, tr.Alt[k])
	}
	tr.Alt[k] = 40000 - 300 // an outlier ~3 km low
	got, err := m.Predict(tr)
	if err != nil || math.Abs(got-crossing(40000)) > 1e-3 {
		t.Errorf("got %.3f, %v; exact %.3f", got, err, crossing(40000))
	}
	if got < tr.T[k] {
		t.Errorf("crossing fired on the outlier row (t=%.1f)", tr.T[k])
	}
}

// Spec §7 row 9: a track that starts descending (no apogee visible) works.
func TestPredictWithoutAscent(t *testing.T) {
	full := arc(800, parabola)
	start := 500 // t = 250 s, past apogee at 200 s
	tr := &dataset.Track{ID: "desc", T: full.T[start:], X: full.X[start:], Y: full.Y[start:], Z: full.Z[start:], Alt: full.Alt[start:]}
	got, err := MeanAltitude{Altitude: 40000}.Predict(tr)
	if err != nil || math.Abs(got-crossing(40000)) > 1e-3 {
		t.Errorf("got %.3f, %v", got, err)
	}
}

func TestPredictExtrapolatesAndRefuses(t *testing.T) {
	// The test arc falls with 10 m/s^2 in a flat world; the extrapolation
	// uses real gravity over a sphere, so it only has to land near it.
	tr := arc(700, parabola) // ends at t = 349.5 s, about 154 km up, falling
	last := tr.Alt[len(tr.Alt)-1]
	m := MeanAltitude{Altitude: last - 1000}
	got, err := m.Predict(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !(got > tr.T[len(tr.T)-1]) || math.Abs(got-crossing(m.Altitude)) > 0.05 {
		t.Errorf("extrapolated %.3f, exact %.3f", got, crossing(m.Altitude))
	}
	// Cut while still climbing (spec §7 row 12): flown on over the apogee.
	up := arc(100, parabola)
	if got, err := (MeanAltitude{Altitude: 1000}).Predict(up); err != nil || !(got > up.T[99]+100) {
		t.Errorf("climbing track: %g, %v", got, err)
	}
	// Too short to smooth and not descending: no crossing to extrapolate.
	if _, err := (MeanAltitude{Altitude: 1000}).Predict(arc(5, parabola)); err == nil {
		t.Error("extrapolated a crossing from five climbing rows")
	}
	if _, err := (MeanAltitude{Altitude: 1000}).Predict(arc(1, parabola)); !errors.Is(err, dataset.ErrInsufficientData) {
		t.Errorf("one row: %v", err)
	}
}

func TestMeanAltitudeArtifact(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.rkm")
	if err := model.Save(p, &MeanAltitude{Altitude: 35123.5, Tracks: 72}); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.(*MeanAltitude)
	if !ok || got.Altitude != 35123.5 || got.Tracks != 72 || m.Kind() != Kind {
		t.Errorf("loaded %#v", m)
	}
}
