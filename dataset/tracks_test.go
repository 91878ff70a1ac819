package dataset

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/physics"
)

// ballistic returns n rows of a plausible track: 1.5 km/s downrange,
// climbing then falling, every 0.5 s from t0.
func ballistic(id string, n int, t0 float64) []string {
	var rows []string
	for k := range n {
		t := t0 + 0.5*float64(k)
		rows = append(rows, fmt.Sprintf("%s,%.1f,%.2f,%.2f,%.2f", id, t, 1500*t, 200*t, 20000+1000*t-4.9*t*t))
	}
	return rows
}

func csvOf(header string, parts ...[]string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, p := range parts {
		for _, r := range p {
			b.WriteString(r + "\n")
		}
	}
	return b.String()
}

const hdr = "track_id,t,x,y,z"

func load(t *testing.T, tracks, labels string, opt TrackOptions) (*TrackSet, error) {
	t.Helper()
	var lr *strings.Reader
	if labels != "" {
		lr = strings.NewReader(labels)
		return ReadTracks("tracks.csv", strings.NewReader(tracks), "labels.csv", lr, opt)
	}
	return ReadTracks("tracks.csv", strings.NewReader(tracks), "", nil, opt)
}

func mustLoad(t *testing.T, tracks, labels string, opt TrackOptions) *TrackSet {
	t.Helper()
	ts, err := load(t, tracks, labels, opt)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func problem(ts *TrackSet, id string) *TrackProblem {
	for i := range ts.Problems {
		if ts.Problems[i].TrackID == id {
			return &ts.Problems[i]
		}
	}
	return nil
}

// One test per row of reentry-spec.md §7 that concerns the loader. Rows 7,
// 9 and 12 concern estimators: see baseline's tests.

func TestSpec7Row1EmptyInputs(t *testing.T) {
	for name, in := range map[string]string{"empty file": "", "header only": hdr + "\n"} {
		_, err := load(t, in, "", TrackOptions{})
		if err == nil || !strings.Contains(err.Error(), "tracks.csv") {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
	// A track whose every row is unusable is named and the others load.
	bad := []string{"7,NaN,1,2,3", "7,0.5,,2,3"}
	ts := mustLoad(t, csvOf(hdr, ballistic("1", 40, 0), bad), "", TrackOptions{})
	if p := problem(ts, "7"); p == nil || !errors.Is(p.Err, ErrInsufficientData) {
		t.Errorf("track 7: problem %+v", p)
	}
	if len(ts.Tracks) != 1 {
		t.Errorf("%d usable tracks, want 1", len(ts.Tracks))
	}
}

func TestSpec7Row2InsufficientData(t *testing.T) {
	in := csvOf(hdr, ballistic("ok", 40, 0), ballistic("one", 1, 0), ballistic("few", 9, 0), ballistic("short", 10, 0)[:10])
	// "short": 10 rows over 4.5 s, under the 5 s span.
	ts := mustLoad(t, in, "", TrackOptions{})
	for _, id := range []string{"one", "few", "short"} {
		p := problem(ts, id)
		if p == nil || !errors.Is(p.Err, ErrInsufficientData) || !strings.Contains(p.Reason, "insufficient data") {
			t.Errorf("track %s: problem %+v, want insufficient data", id, p)
		}
	}
	if len(ts.Tracks) != 1 || ts.Tracks[0].ID != "ok" {
		t.Errorf("usable tracks %v", ts.Tracks)
	}
}

func TestSpec7Row3UnsortedInterleaved(t *testing.T) {
	a, b := ballistic("a", 30, 0), ballistic("b", 30, 0)
	var rows []string
	for i := range a { // interleave, and reverse track a
		rows = append(rows, a[len(a)-1-i], b[i])
	}
	ts := mustLoad(t, csvOf(hdr, rows), "", TrackOptions{})
	if !ts.Report.Interleaved || ts.Report.RowsMoved != 29 {
		t.Errorf("interleaved %v, rows moved %d (want 29)", ts.Report.Interleaved, ts.Report.RowsMoved)
	}
	for _, tr := range ts.Tracks {
		for i := 1; i < tr.Len(); i++ {
			if tr.T[i] <= tr.T[i-1] {
				t.Fatalf("track %s not sorted at %d", tr.ID, i)
			}
		}
		if tr.X[10] != 1500*tr.T[10] {
			t.Errorf("track %s: x not carried with its t", tr.ID)
		}
	}
}

func TestSpec7Row4Duplicates(t *testing.T) {
	rows := ballistic("a", 30, 0)
	// An exact duplicate of t=2.5, and one of t=3.5 whose x is 500 m off.
	conflict := fmt.Sprintf("a,%.1f,%.2f,%.2f,%.2f", 3.5, 1500*3.5+500, 200*3.5, 20000+1000*3.5-4.9*3.5*3.5)
	rows = append(rows, rows[5], conflict)
	ts := mustLoad(t, csvOf(hdr, rows), "", TrackOptions{})
	r := ts.Report
	if r.DuplicatesDropped != 2 || r.DuplicateConflicts != 1 {
		t.Errorf("dropped %d conflicts %d, want 2 and 1", r.DuplicatesDropped, r.DuplicateConflicts)
	}
	tr := ts.Tracks[0]
	if tr.Len() != 30 || tr.X[7] != 1500*3.5 {
		t.Errorf("len %d, x at t=3.5 %.2f: the first row must win", tr.Len(), tr.X[7])
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "5 sigma") {
		t.Errorf("no warning for the conflicting duplicate: %v", r.Warnings)
	}
}

func TestSpec7Row5BadValuesAndAlt(t *testing.T) {
	rows := ballistic("a", 30, 0)
	bad := []string{"a,15.0,NaN,0,20000", "a,15.5,1,Inf,20000", "a,,1,2,3", "a,16.5,1,2,abc"}
	h := hdr + ",alt"
	var withAlt []string
	for i, r := range rows {
		alt := "NaN"
		if i%3 == 1 {
			alt = "12345" // wildly off: x, y, z win
		} else if i%3 == 2 {
			var x, y, z, tt float64
			fmt.Sscanf(strings.ReplaceAll(r[2:], ",", " "), "%g %g %g %g", &tt, &x, &y, &z)
			alt = fmt.Sprintf("%.2f", physics.Altitude(x, y, z))
		}
		withAlt = append(withAlt, r+","+alt)
	}
	for _, b := range bad {
		withAlt = append(withAlt, b+",1")
	}
	ts := mustLoad(t, csvOf(h, withAlt), "", TrackOptions{})
	r := ts.Report
	if r.RowsDropped != 4 || r.AltRecomputed != 10 || r.AltDisagree != 10 {
		t.Errorf("dropped %d recomputed %d disagree %d; want 4, 10, 10", r.RowsDropped, r.AltRecomputed, r.AltDisagree)
	}
	if !strings.Contains(r.Dropped[0], "tracks.csv:32") || !strings.Contains(r.Dropped[0], `column "x"`) {
		t.Errorf("first dropped row %q should name line 32 and column x", r.Dropped[0])
	}
	tr := ts.Tracks[0]
	for i := range tr.T {
		if want := physics.Altitude(tr.X[i], tr.Y[i], tr.Z[i]); tr.Alt[i] != want {
			t.Fatalf("alt[%d] = %g, want %g from x, y, z", i, tr.Alt[i], want)
		}
	}
}

func TestSpec7Row6GapsAndStep(t *testing.T) {
	rows := ballistic("a", 60, 0)
	rows = append(rows[:10], rows[25:]...) // a 7.5 s gap
	ts := mustLoad(t, csvOf(hdr, rows), "", TrackOptions{})
	if ts.Tracks[0].DT != 0.5 || ts.Report.DT != 0.5 || len(ts.Report.Warnings) != 0 {
		t.Errorf("dt %g/%g, warnings %v", ts.Tracks[0].DT, ts.Report.DT, ts.Report.Warnings)
	}
	var coarse []string
	for i, r := range ballistic("b", 60, 0) {
		if i%2 == 0 {
			coarse = append(coarse, r)
		}
	}
	ts = mustLoad(t, csvOf(hdr, coarse), "", TrackOptions{})
	if ts.Report.DT != 1 || !strings.Contains(strings.Join(ts.Report.Warnings, ""), "not the nominal 0.5 s") {
		t.Errorf("dt %g, warnings %v", ts.Report.DT, ts.Report.Warnings)
	}
}

func TestSpec7Row8NonReentering(t *testing.T) {
	labels := "track_id,reenters,reentry_time,reentry_altitude\na,0,,\nb,1,12.25,36000\n"
	ts := mustLoad(t, csvOf(hdr, ballistic("a", 30, 0), ballistic("b", 30, 0)), labels, TrackOptions{RequireLabels: true})
	if l := ts.Labels["a"]; l.Reenters || !math.IsNaN(l.ReentryTime) {
		t.Errorf("a: %+v", l)
	}
	if l := ts.Labels["b"]; !l.Reenters || l.ReentryTime != 12.25 || l.ReentryAltitude != 36000 {
		t.Errorf("b: %+v", l)
	}
	_, err := load(t, csvOf(hdr, ballistic("a", 30, 0)), "track_id,reenters,reentry_time\na,1,\n", TrackOptions{})
	if err == nil || !strings.Contains(err.Error(), "labels.csv:2") {
		t.Errorf("reenters=1 with no time: %v", err)
	}
}

func TestSpec7Row10Units(t *testing.T) {
	scale := func(rows []string, fx, ft float64) []string {
		var out []string
		for _, r := range rows {
			var id string
			var tt, x, y, z float64
			f := strings.Split(r, ",")
			id = f[0]
			fmt.Sscan(f[1], &tt)
			fmt.Sscan(f[2], &x)
			fmt.Sscan(f[3], &y)
			fmt.Sscan(f[4], &z)
			out = append(out, fmt.Sprintf("%s,%g,%g,%g,%g", id, tt*ft, x*fx, y*fx, z*fx))
		}
		return out
	}
	fast := func(id string) []string { // a 4 km/s track, so feet push it past 10 km/s
		var rows []string
		for k := range 40 {
			t := 0.5 * float64(k)
			rows = append(rows, fmt.Sprintf("%s,%.1f,%.2f,0,%.2f", id, t, 4000*t, 60000-500*t))
		}
		return rows
	}
	var latlon []string
	for k := range 40 {
		latlon = append(latlon, fmt.Sprintf("L,%.1f,%.5f,%.5f,%.1f", 0.5*float64(k), 30+0.01*float64(k), 45+0.01*float64(k), 50000-1000*float64(k)))
	}
	cases := []struct {
		name string
		rows []string
		want string
	}{
		{"kilometres", scale(ballistic("K", 40, 0), 1e-3, 1), "kilometres"},
		{"milliseconds", scale(ballistic("M", 40, 0), 1, 1000), "milliseconds"},
		{"feet", scale(fast("F"), 3.28084, 1), "feet"},
		{"millimetres", scale(fast("MM"), 1000, 1), "millimetres"},
		{"lat/lon", latlon, "longitude/latitude"},
	}
	for _, c := range cases {
		_, err := load(t, csvOf(hdr, c.rows), "", TrackOptions{})
		if !errors.Is(err, ErrUnits) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "track ") {
			t.Errorf("%s: got %v, want a units error naming %q and the track", c.name, err, c.want)
		}
	}
	if _, err := load(t, csvOf(hdr, fast("ok")), "", TrackOptions{}); err != nil {
		t.Errorf("metres and seconds rejected: %v", err)
	}
	// A few noisy samples near the ground below -1 km are noise, not units.
	noisy := fast("noisy")
	noisy[0], noisy[1] = "noisy,0.0,0,0,-1500", "noisy,0.5,2000,0,-1200"
	if _, err := load(t, csvOf(hdr, noisy), "", TrackOptions{}); err != nil {
		t.Errorf("two low outliers rejected the track: %v", err)
	}
	var deep []string
	for k := range 40 {
		deep = append(deep, fmt.Sprintf("D,%.1f,%.1f,0,%.1f", 0.5*float64(k), 1000*float64(k), -7e6+100*float64(k)))
	}
	if _, err := load(t, csvOf(hdr, deep), "", TrackOptions{}); !errors.Is(err, ErrUnits) || !strings.Contains(err.Error(), "outside [-1, 5000] km") {
		t.Errorf("track below the ground: %v", err)
	}
}

func TestSpec7Row11LabelMismatch(t *testing.T) {
	tracks := csvOf(hdr, ballistic("a", 30, 0), ballistic("b", 30, 0))
	labels := "track_id,reentry_time\na,10\nghost,5\n"
	ts := mustLoad(t, tracks, labels, TrackOptions{})
	r := ts.Report
	if len(r.LabelsWithoutTrack) != 1 || r.LabelsWithoutTrack[0] != "ghost" || len(r.TracksWithoutLabel) != 1 || r.TracksWithoutLabel[0] != "b" {
		t.Errorf("without track %v, without label %v", r.LabelsWithoutTrack, r.TracksWithoutLabel)
	}
	if tr, ls := ts.Labelled(); len(tr) != 1 || ls[0].TrackID != "a" {
		t.Errorf("labelled: %d", len(tr))
	}
	if _, err := load(t, tracks, labels, TrackOptions{RequireLabels: true}); err == nil || !strings.Contains(err.Error(), "no label for 1 track") {
		t.Errorf("evaluation with a missing label: %v", err)
	}
	_, err := load(t, tracks, "track_id,reentry_time\na,10\nb,4\na,11\n", TrackOptions{})
	if err == nil || !strings.Contains(err.Error(), "labels.csv:4") || !strings.Contains(err.Error(), "first on line 2") {
		t.Errorf("duplicate label: %v", err)
	}
}

func TestTrackIgnoresExtraColumnsAndKeepsRdot(t *testing.T) {
	var rows []string
	for _, r := range ballistic("a", 30, 0) {
		rows = append(rows, r+",-12.5,whatever")
	}
	ts := mustLoad(t, csvOf(hdr+",rdot,comment", rows), "", TrackOptions{})
	if ts.Tracks[0].Rdot == nil || ts.Tracks[0].Rdot[3] != -12.5 {
		t.Errorf("rdot %v", ts.Tracks[0].Rdot)
	}
	if _, err := load(t, "track_id,t,x,y\n1,0,0,0\n", "", TrackOptions{}); err == nil || !strings.Contains(err.Error(), "missing required column(s) z") {
		t.Errorf("missing z: %v", err)
	}
}

func TestTrackSetHashIgnoresOrder(t *testing.T) {
	a, b := ballistic("a", 30, 0), ballistic("b", 30, 0)
	labels := "track_id,reentry_time\na,10\nb,11\n"
	h1 := mustLoad(t, csvOf(hdr, a, b), labels, TrackOptions{}).Hash()
	var mixed []string
	for i := range a {
		mixed = append(mixed, b[len(b)-1-i], a[i])
	}
	h2 := mustLoad(t, csvOf(hdr, mixed), "track_id,reentry_time\nb,11\na,10.0\n", TrackOptions{}).Hash()
	if h1 != h2 {
		t.Error("row or label order changed the track set hash")
	}
	h3 := mustLoad(t, csvOf(hdr, a, b), "track_id,reentry_time\na,10\nb,11.5\n", TrackOptions{}).Hash()
	if h1 == h3 {
		t.Error("a changed label kept the hash")
	}
}
