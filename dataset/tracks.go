package dataset

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/physics"
)

// Track is one object's time-ordered positions, in metres (ENU, spec §1.1)
// and seconds on the track's own time base.
type Track struct {
	ID         string
	T, X, Y, Z []float64
	Alt        []float64 // always recomputed from x, y, z (spec §7 row 5)
	Rdot       []float64 // nil unless the file has an rdot column
	DT         float64   // median positive time step
}

// Len is the number of samples.
func (t *Track) Len() int { return len(t.T) }

// TrackLabel is one row of labels.csv. Numbers that are absent are NaN.
type TrackLabel struct {
	TrackID         string
	Reenters        bool
	ReentryTime     float64
	ReentryIndex    int // -1 when absent
	ReentryAltitude float64
	Beta            float64
	Horizon         float64 // variant B, scoring only
	TCut            float64 // variant B, scoring only
	SourceTrack     string  // variant B: the flight the cut came from
	Line            int
}

// Group is the key that keeps related tracks on one side of a split: the
// source flight for forecast cuts, the track itself otherwise.
func (l *TrackLabel) Group() string {
	if l.SourceTrack != "" {
		return l.SourceTrack
	}
	return l.TrackID
}

// ErrInsufficientData marks a track too short to predict from (spec §7 row 2).
var ErrInsufficientData = errors.New("insufficient data")

// ErrUnits marks data whose magnitudes suggest the wrong unit or frame
// (spec §7 row 10). It is never auto-converted.
var ErrUnits = errors.New("suspicious units")

// TrackProblem is a track that could not be used, with the reason.
type TrackProblem struct {
	TrackID string `json:"track_id"`
	Err     error  `json:"-"`
	Reason  string `json:"reason"`
}

// TrackReport counts everything the loader changed or rejected, so nothing
// happens silently.
type TrackReport struct {
	Rows               int            `json:"rows"`
	RowsMoved          int            `json:"rows_moved"`           // rows that came before an earlier time of their track
	Interleaved        bool           `json:"interleaved"`          // a track's rows were not contiguous
	DuplicatesDropped  int            `json:"duplicates_dropped"`   // repeated t within a track
	DuplicateConflicts int            `json:"duplicate_conflicts"`  // ... whose positions differ by > 5 sigma
	RowsDropped        int            `json:"rows_dropped"`         // non-finite or unparsable t, x, y, z
	AltRecomputed      int            `json:"alt_recomputed"`       // missing alt
	AltDisagree        int            `json:"alt_disagree"`         // alt off by > 1 m from x, y, z
	DT                 float64        `json:"dt_s"`                 // median of the tracks' time steps
	Missing            map[string]int `json:"missing"`              // empty, NA or NaN cells per known column
	LabelsWithoutTrack []string       `json:"labels_without_track"` // ignored
	TracksWithoutLabel []string       `json:"tracks_without_label"`
	Warnings           []string       `json:"warnings"`
	Dropped            []string       `json:"dropped_examples"` // where rows were dropped, first few
	BadRows            []BadRow       `json:"-"`                // every dropped row
}

// TrackSet is a loaded tracks.csv with its labels.csv, when present.
type TrackSet struct {
	TracksPath, LabelsPath string
	Tracks                 []Track // usable tracks, sorted by id
	Labels                 map[string]TrackLabel
	Problems               []TrackProblem // tracks that are not in Tracks, and why
	Report                 TrackReport
}

// TrackOptions configures LoadTracks.
type TrackOptions struct {
	// RequireLabels makes a track without a label an error (evaluation);
	// otherwise it is reported and kept (training skips it).
	RequireLabels bool
	// SigmaPos is the expected position noise (m) for the duplicate check;
	// 0 means 20.
	SigmaPos float64
	// NominalDT is the expected sampling step; 0 means 0.5 s.
	NominalDT float64
	// MinRows and MinSpan bound "insufficient data"; 0 means 10 rows, 5 s.
	MinRows int
	MinSpan float64
	// RejectBadRows rejects a whole track (a TrackProblem) when any of its
	// rows is malformed, instead of dropping the row: what batch
	// prediction wants, where a damaged record must be reported, not
	// quietly repaired. Malformed lines that name no track stay in
	// Report.BadRows.
	RejectBadRows bool
}

// BadRow is a row of tracks.csv the loader could not use.
type BadRow struct {
	Line    int    `json:"line"`
	TrackID string `json:"track_id"` // "" when the line names none
	Reason  string `json:"reason"`
}

// Spec constants used by the loader's checks (reentry-spec.md §7).
const (
	maxPosition    = 10_000e3
	minAlt, maxAlt = -1e3, 5000e3
	maxSpeed       = 10e3
	minDT, maxDT   = 0.01, 10.0
	maxExamples    = 20
)

// PublishingMarker, inside a track set's directory, says a writer (reckon
// data gen) is moving a complete set into place: until it is gone the
// directory may hold some of the set's files and not others.
const PublishingMarker = ".reckon-partial/publishing"

// CheckPublished refuses a directory whose set is half published.
func CheckPublished(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, PublishingMarker)); err == nil {
		return fmt.Errorf("%s: an interrupted reckon data gen left this set half published (%s): run the same data gen command again to finish it", dir, PublishingMarker)
	}
	return nil
}

// LoadTracks reads a track set. path is a directory holding tracks.csv (and
// usually labels.csv), or the tracks CSV itself, with labels.csv looked for
// beside it.
func LoadTracks(path string, opt TrackOptions) (*TrackSet, error) {
	tracksPath, labelsPath := path, ""
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.IsDir() {
		if err := CheckPublished(path); err != nil {
			return nil, err
		}
		tracksPath = filepath.Join(path, "tracks.csv")
		labelsPath = filepath.Join(path, "labels.csv")
	} else {
		if err := CheckPublished(filepath.Dir(path)); err != nil {
			return nil, err
		}
		labelsPath = filepath.Join(filepath.Dir(path), "labels.csv")
	}
	f, err := os.Open(tracksPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lr io.Reader
	if lf, err := os.Open(labelsPath); err == nil {
		defer lf.Close()
		lr = lf
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	} else {
		labelsPath = ""
	}
	ts, err := ReadTracks(tracksPath, f, labelsPath, lr, opt)
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// ReadTracks is LoadTracks on readers; labels may be nil.
func ReadTracks(tracksName string, tracks io.Reader, labelsName string, labels io.Reader, opt TrackOptions) (*TrackSet, error) {
	if opt.SigmaPos == 0 {
		opt.SigmaPos = 20
	}
	if opt.NominalDT == 0 {
		opt.NominalDT = 0.5
	}
	if opt.MinRows == 0 {
		opt.MinRows = 10
	}
	if opt.MinSpan == 0 {
		opt.MinSpan = 5
	}
	ts := &TrackSet{TracksPath: tracksName, LabelsPath: labelsName}
	raw, order, err := readTrackRows(tracksName, tracks, &ts.Report)
	if err != nil {
		return nil, err
	}
	if labels != nil {
		if ts.Labels, err = readLabels(labelsName, labels); err != nil {
			return nil, err
		}
	}

	bad := map[string]string{}
	if opt.RejectBadRows {
		for _, b := range ts.Report.BadRows {
			if _, seen := bad[b.TrackID]; b.TrackID != "" && !seen {
				bad[b.TrackID] = b.Reason
			}
		}
	}
	var dts []float64
	for _, id := range order {
		if reason, ok := bad[id]; ok {
			ts.Problems = append(ts.Problems, TrackProblem{TrackID: id, Reason: "malformed row: " + reason})
			continue
		}
		tr, problem, err := finishTrack(id, raw[id], opt, &ts.Report)
		if err != nil {
			return nil, err
		}
		if problem != nil {
			ts.Problems = append(ts.Problems, *problem)
			continue
		}
		ts.Tracks = append(ts.Tracks, tr)
		dts = append(dts, tr.DT)
	}
	slices.SortFunc(ts.Tracks, func(a, b Track) int { return compareIDs(a.ID, b.ID) })
	if len(dts) > 0 {
		ts.Report.DT = median(dts)
		if math.Abs(ts.Report.DT-opt.NominalDT) > 1e-6 {
			ts.warnf("median sampling step is %g s, not the nominal %g s: a model trained at %g s must resample or refuse", ts.Report.DT, opt.NominalDT, opt.NominalDT)
		}
	}

	if ts.Labels != nil {
		for id := range ts.Labels {
			if _, ok := raw[id]; !ok {
				ts.Report.LabelsWithoutTrack = append(ts.Report.LabelsWithoutTrack, id)
			}
		}
		slices.SortFunc(ts.Report.LabelsWithoutTrack, compareIDs)
		for _, id := range order {
			if _, ok := ts.Labels[id]; !ok {
				ts.Report.TracksWithoutLabel = append(ts.Report.TracksWithoutLabel, id)
			}
		}
		slices.SortFunc(ts.Report.TracksWithoutLabel, compareIDs)
		if n := len(ts.Report.LabelsWithoutTrack); n > 0 {
			ts.warnf("%s: %d label(s) for track ids not in %s, ignored (first: %s)", labelsName, n, tracksName, ts.Report.LabelsWithoutTrack[0])
		}
		if n := len(ts.Report.TracksWithoutLabel); n > 0 {
			if opt.RequireLabels {
				return nil, fmt.Errorf("%s: no label for %d track(s) of %s (first: %s); evaluation needs every label", labelsName, n, tracksName, ts.Report.TracksWithoutLabel[0])
			}
			ts.warnf("%d track(s) have no label and will be skipped in training (first: %s)", n, ts.Report.TracksWithoutLabel[0])
		}
	} else if opt.RequireLabels {
		return nil, fmt.Errorf("%s: no labels.csv beside it; evaluation needs labels", tracksName)
	}
	if len(ts.Tracks) == 0 {
		if len(ts.Problems) > 0 && opt.RejectBadRows {
			return ts, nil // every track is reported to the caller, one by one
		}
		if len(ts.Problems) > 0 {
			p := ts.Problems[0]
			return nil, fmt.Errorf("%s: no usable track (%d rejected; first: track %q: %s)", tracksName, len(ts.Problems), p.TrackID, p.Reason)
		}
		return nil, fmt.Errorf("%s: no data rows (header only)", tracksName)
	}
	return ts, nil
}

func (ts *TrackSet) warnf(format string, args ...any) {
	ts.Report.Warnings = append(ts.Report.Warnings, fmt.Sprintf(format, args...))
}

// ByID indexes the usable tracks by id.
func (ts *TrackSet) ByID() map[string]*Track {
	m := make(map[string]*Track, len(ts.Tracks))
	for i := range ts.Tracks {
		m[ts.Tracks[i].ID] = &ts.Tracks[i]
	}
	return m
}

// Labelled returns the usable tracks that have a label, in id order, with
// their labels.
func (ts *TrackSet) Labelled() ([]Track, []TrackLabel) {
	var tr []Track
	var ls []TrackLabel
	for _, t := range ts.Tracks {
		if l, ok := ts.Labels[t.ID]; ok {
			tr = append(tr, t)
			ls = append(ls, l)
		}
	}
	return tr, ls
}

type rawRow struct {
	t, x, y, z, rdot float64
	seq              int // position in the file, for "rows moved"
}

// readTrackRows parses tracks.csv into rows grouped by track id, in order of
// first appearance. Rows with a missing, non-finite or unparsable t, x, y or
// z are dropped and counted (spec §7 row 5).
func readTrackRows(name string, r io.Reader, rep *TrackReport) (map[string][]rawRow, []string, error) {
	cr, header, col, err := readHeader(name, r, "the header track_id,t,x,y,z", false)
	if err != nil {
		return nil, nil, err
	}
	if err := requireColumns(name, header, col, "track_id", "t", "x", "y", "z"); err != nil {
		return nil, nil, err
	}
	iID, iT, iX, iY, iZ := col["track_id"], col["t"], col["x"], col["y"], col["z"]
	iAlt, hasAlt := col["alt"]
	iRdot, hasRdot := col["rdot"]

	known := []string{"track_id", "t", "x", "y", "z"}
	if hasAlt {
		known = append(known, "alt")
	}
	if hasRdot {
		known = append(known, "rdot")
	}
	rep.Missing = map[string]int{}
	for _, k := range known {
		rep.Missing[k] = 0
	}
	groups := map[string][]rawRow{}
	var order []string
	last, seq := "", 0
	drop := func(line int, id, column, text, reason string) {
		rep.RowsDropped++
		e := &CellError{File: name, Line: line, Column: column, Text: text, Reason: reason}
		rep.BadRows = append(rep.BadRows, BadRow{Line: line, TrackID: id, Reason: e.Error()})
		if len(rep.Dropped) < maxExamples {
			e.Reason += "; row dropped"
			rep.Dropped = append(rep.Dropped, e.Error())
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				drop(pe.Line, "", "", "", pe.Err.Error())
				continue
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			id := ""
			if iID < len(rec) {
				id = strings.TrimSpace(rec[iID])
			}
			drop(line, id, "", "", fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header)))
			continue
		}
		for _, k := range known {
			switch strings.TrimSpace(rec[col[k]]) {
			case "", "NA", "NaN", "nan":
				rep.Missing[k]++
			}
		}
		id := strings.TrimSpace(rec[iID])
		if id == "" {
			drop(line, "", "track_id", rec[iID], "empty track id")
			continue
		}
		if _, seen := groups[id]; !seen {
			// Registered before its values are checked, so a track whose
			// every row is dropped is still reported by name (spec §7 row 1).
			groups[id] = nil
			order = append(order, id)
		} else if id != last {
			rep.Interleaved = true
		}
		last = id
		var row rawRow
		ok := true
		for _, c := range []struct {
			i   int
			dst *float64
		}{{iT, &row.t}, {iX, &row.x}, {iY, &row.y}, {iZ, &row.z}} {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[c.i]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				reason := "not a finite number"
				if strings.TrimSpace(rec[c.i]) == "" {
					reason = "empty"
				}
				drop(line, id, header[c.i], rec[c.i], reason)
				ok = false
				break
			}
			*c.dst = v
		}
		if !ok {
			continue
		}
		rep.Rows++
		alt := physics.Altitude(row.x, row.y, row.z)
		if hasAlt {
			a, err := strconv.ParseFloat(strings.TrimSpace(rec[iAlt]), 64)
			switch {
			case err != nil || math.IsNaN(a) || math.IsInf(a, 0):
				rep.AltRecomputed++
			case math.Abs(a-alt) > 1:
				rep.AltDisagree++
			}
		}
		row.rdot = math.NaN()
		if hasRdot {
			if v, err := strconv.ParseFloat(strings.TrimSpace(rec[iRdot]), 64); err == nil {
				row.rdot = v
			}
		}
		row.seq = seq
		seq++
		groups[id] = append(groups[id], row)
	}
	if rep.Rows == 0 && rep.RowsDropped == 0 {
		return nil, nil, fmt.Errorf("%s: header only, no data rows", name)
	}
	if rep.AltDisagree > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: alt disagrees with x, y, z by more than 1 m on %d row(s); x, y, z win", name, rep.AltDisagree))
	}
	if rep.RowsDropped > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: dropped %d row(s) with a missing or unparsable t, x, y or z (first: %s)", name, rep.RowsDropped, rep.Dropped[0]))
	}
	return groups, order, nil
}

// finishTrack sorts, de-duplicates and checks one track. A track that is
// merely too short is a problem (reported, skipped); a unit mistake is an
// error for the whole load.
func finishTrack(id string, rows []rawRow, opt TrackOptions, rep *TrackReport) (Track, *TrackProblem, error) {
	if len(rows) == 0 {
		return Track{}, &TrackProblem{TrackID: id, Err: ErrInsufficientData, Reason: "no valid rows"}, nil
	}
	slices.SortStableFunc(rows, func(a, b rawRow) int { return cmp.Compare(a.t, b.t) })
	for i := 1; i < len(rows); i++ {
		if rows[i].seq < rows[i-1].seq {
			rep.RowsMoved++
		}
	}
	tr := Track{ID: id}
	hasRdot := false
	for i, r := range rows {
		if i > 0 && r.t == rows[i-1].t {
			rep.DuplicatesDropped++
			p := rows[i-1]
			lim := 5 * opt.SigmaPos
			if math.Abs(r.x-p.x) > lim || math.Abs(r.y-p.y) > lim || math.Abs(r.z-p.z) > lim {
				rep.DuplicateConflicts++
				if rep.DuplicateConflicts <= maxExamples { // the count tells the rest
					rep.Warnings = append(rep.Warnings, fmt.Sprintf("track %q: duplicate t=%g with positions more than 5 sigma apart; kept the first", id, r.t))
				}
			}
			continue
		}
		tr.T = append(tr.T, r.t)
		tr.X = append(tr.X, r.x)
		tr.Y = append(tr.Y, r.y)
		tr.Z = append(tr.Z, r.z)
		tr.Alt = append(tr.Alt, physics.Altitude(r.x, r.y, r.z))
		tr.Rdot = append(tr.Rdot, r.rdot)
		hasRdot = hasRdot || !math.IsNaN(r.rdot)
	}
	if !hasRdot {
		tr.Rdot = nil
	}
	n := tr.Len()
	if n < 2 {
		return Track{}, &TrackProblem{TrackID: id, Err: ErrInsufficientData, Reason: fmt.Sprintf("insufficient data: %d row(s)", n)}, nil
	}
	var diffs []float64
	for i := 1; i < n; i++ {
		diffs = append(diffs, tr.T[i]-tr.T[i-1])
	}
	tr.DT = median(diffs)
	if err := checkUnits(&tr); err != nil {
		return Track{}, nil, err
	}
	if span := tr.T[n-1] - tr.T[0]; n < opt.MinRows || span < opt.MinSpan {
		return Track{}, &TrackProblem{TrackID: id, Err: ErrInsufficientData,
			Reason: fmt.Sprintf("insufficient data: %d rows spanning %g s (need >= %d rows and >= %g s)", n, span, opt.MinRows, opt.MinSpan)}, nil
	}
	return tr, nil, nil
}

// checkUnits applies the sanity checks of spec §7 row 10 and names the unit
// or frame the data most likely uses. It never converts.
func checkUnits(tr *Track) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("track %q: %w: %s", tr.ID, ErrUnits, fmt.Sprintf(format, args...))
	}
	n := tr.Len()
	if tr.DT > maxDT {
		return fail("median time step is %g, far above %g s: is t in milliseconds? reckon expects seconds", tr.DT, maxDT)
	}
	if tr.DT < minDT {
		return fail("median time step is %g, below %g s: is t in minutes or hours? reckon expects seconds", tr.DT, minDT)
	}
	latLon := true
	var maxP, lo, hi float64 = 0, math.Inf(1), math.Inf(-1)
	zlo, zhi := math.Inf(1), math.Inf(-1)
	for i := range n {
		maxP = math.Max(maxP, math.Sqrt(tr.X[i]*tr.X[i]+tr.Y[i]*tr.Y[i]+tr.Z[i]*tr.Z[i]))
		lo, hi = math.Min(lo, tr.Alt[i]), math.Max(hi, tr.Alt[i])
		zlo, zhi = math.Min(zlo, tr.Z[i]), math.Max(zhi, tr.Z[i])
		if math.Abs(tr.X[i]) > 180 || math.Abs(tr.Y[i]) > 90 {
			latLon = false
		}
	}
	if latLon && zhi-zlo > 1000 {
		return fail("x and y stay within ±180 and ±90 while z spans %.0f: they look like longitude/latitude in degrees; reckon expects x, y, z in metres in the launch-point ENU frame (spec §1.1)", zhi-zlo)
	}
	if maxP > maxPosition {
		return fail("position magnitude reaches %.4g m, beyond 10 000 km: are x, y, z in millimetres, centimetres or feet? reckon expects metres", maxP)
	}
	// Noise and outliers can push a few samples near the ground below -1 km
	// (radar cross-range error at launch is ~R*sigma_angle); wrong units or
	// frames move them all. So the check is on the bulk of the rows.
	outside := 0
	for _, a := range tr.Alt {
		if a < minAlt || a > maxAlt {
			outside++
		}
	}
	if med := median(tr.Alt); med < minAlt || med > maxAlt || outside > n/20 {
		return fail("%d of %d altitudes lie outside [-1, 5000] km (range [%.4g, %.4g] m): wrong frame or units?", outside, n, lo, hi)
	}
	var speeds []float64
	for i := 1; i < n; i++ {
		dt := tr.T[i] - tr.T[i-1]
		dx, dy, dz := tr.X[i]-tr.X[i-1], tr.Y[i]-tr.Y[i-1], tr.Z[i]-tr.Z[i-1]
		speeds = append(speeds, math.Sqrt(dx*dx+dy*dy+dz*dz)/dt)
	}
	if len(speeds) >= 10 {
		slices.Sort(speeds)
		p95 := speeds[len(speeds)*95/100]
		if p95 > maxSpeed {
			return fail("implied speed %.4g m/s (95th percentile) exceeds 10 km/s: are positions in feet, or t in minutes? reckon expects metres and seconds", p95)
		}
		if p95 < 20 && hi < 2000 {
			return fail("implied speed is only %.3g m/s and altitude stays below %.0f: are positions in kilometres? reckon expects metres", p95, hi)
		}
	}
	return nil
}

// readLabels parses labels.csv. A duplicate track id or an unparsable value
// is an error naming the line; labels are small and must be right.
func readLabels(name string, r io.Reader) (map[string]TrackLabel, error) {
	cr, header, col, err := readHeader(name, r, "a header with track_id", false)
	if err != nil {
		return nil, err
	}
	if err := requireColumns(name, header, col, "track_id"); err != nil {
		return nil, err
	}
	_, hasTime := col["reentry_time"]
	_, hasReenters := col["reenters"]
	if !hasTime && !hasReenters {
		return nil, fmt.Errorf("%s:1: needs a reentry_time or reenters column (have: %s)", name, strings.Join(header, ", "))
	}
	out := map[string]TrackLabel{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &CellError{File: name, Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))}
		}
		get := func(c string) (string, bool) {
			j, ok := col[c]
			if !ok {
				return "", false
			}
			return strings.TrimSpace(rec[j]), true
		}
		num := func(c string) (float64, error) {
			s, ok := get(c)
			if !ok || s == "" || s == "NA" || s == "NaN" {
				return math.NaN(), nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(v, 0) {
				return 0, &CellError{File: name, Line: line, Column: c, Text: s, Reason: "not a finite number"}
			}
			return v, nil
		}
		l := TrackLabel{Line: line, ReentryIndex: -1}
		l.TrackID, _ = get("track_id")
		if l.TrackID == "" {
			return nil, &CellError{File: name, Line: line, Column: "track_id", Reason: "empty track id"}
		}
		if prev, dup := out[l.TrackID]; dup {
			return nil, &CellError{File: name, Line: line, Column: "track_id", Text: l.TrackID, Reason: fmt.Sprintf("duplicate label row (first on line %d)", prev.Line)}
		}
		var errs []error
		var err1 error
		l.ReentryTime, err1 = num("reentry_time")
		errs = append(errs, err1)
		l.ReentryAltitude, err1 = num("reentry_altitude")
		errs = append(errs, err1)
		l.Beta, err1 = num("beta")
		errs = append(errs, err1)
		l.Horizon, err1 = num("horizon")
		errs = append(errs, err1)
		l.TCut, err1 = num("t_cut")
		errs = append(errs, err1)
		idx, err1 := num("reentry_index")
		errs = append(errs, err1)
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if !math.IsNaN(idx) {
			l.ReentryIndex = int(idx)
		}
		l.Reenters = !math.IsNaN(l.ReentryTime)
		if s, ok := get("reenters"); ok {
			switch s {
			case "1", "true", "True":
				l.Reenters = true
			case "0", "false", "False":
				l.Reenters = false
			default:
				return nil, &CellError{File: name, Line: line, Column: "reenters", Text: s, Reason: "want 0 or 1"}
			}
		}
		if l.Reenters && math.IsNaN(l.ReentryTime) && hasTime {
			return nil, &CellError{File: name, Line: line, Column: "reentry_time", Reason: "reenters is 1 but reentry_time is empty"}
		}
		if !l.Reenters {
			l.ReentryTime = math.NaN()
		}
		l.SourceTrack, _ = get("source_track")
		out[l.TrackID] = l
	}
	return out, nil
}

// compareIDs orders track ids numerically when both are integers, as text
// otherwise, so "2" sorts before "10".
func compareIDs(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		return cmp.Compare(ai, bi)
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// CompareTrackIDs is the order of track ids in a TrackSet ("2" before "10").
func CompareTrackIDs(a, b string) int { return compareIDs(a, b) }

// Subset returns the tracks with these ids that the set holds, with their
// labels, in ids' order (what a model trains on after a split).
func (ts *TrackSet) Subset(ids []string) ([]*Track, []TrackLabel) {
	byID := ts.ByID()
	var tracks []*Track
	var labels []TrackLabel
	for _, id := range ids {
		if tr := byID[id]; tr != nil {
			tracks = append(tracks, tr)
			labels = append(labels, ts.Labels[id])
		}
	}
	return tracks, labels
}
