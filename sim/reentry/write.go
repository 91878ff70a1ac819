package reentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/physics"
)

// Output file names inside a generated directory (spec §6).
const (
	TracksFile = "tracks.csv"
	LabelsFile = "labels.csv"
	TruthFile  = "truth.csv"
	MetaFile   = "meta.json"
)

// Summary is what WriteDir reports.
type Summary struct {
	Dir        string  `json:"dir"`
	Flights    int     `json:"flights"`
	Tracks     int     `json:"tracks"`
	Reentering int     `json:"reentering"`
	Rows       int     `json:"rows"`
	Resumed    int     `json:"resumed_from"` // flights taken from an interrupted run's checkpoint
	Seconds    float64 `json:"seconds"`
}

// Meta is the content of meta.json.
type Meta struct {
	Generator string            `json:"generator"`
	Version   string            `json:"version"`
	Config    Config            `json:"parameters"`
	Constants map[string]any    `json:"constants"`
	Frame     string            `json:"frame"`
	Columns   map[string]string `json:"columns"`
	Split     map[string]any    `json:"split"`
}

func newMeta(c Config) Meta {
	return Meta{
		Generator: "reckon sim/reentry",
		Version:   Version,
		Config:    c,
		Constants: map[string]any{
			"R_E_m": physics.RE, "mu_m3_s2": physics.Mu, "g0_m_s2": physics.G0, "dt_s": DT, "rk4_h_s": H,
			"threshold_g": c.ThresholdG, "omega_E_rad_s": physics.OmegaE,
			"atmosphere": "US Standard Atmosphere 1976 to 86 km, exponential tail above (H = 5.7 km)",
		},
		Frame: "Earth-fixed local tangent plane at the launch point: x East, y North, z Up (m); " +
			"origin on the sphere of radius R_E; altitude = |(x, y, z + R_E)| - R_E",
		Columns: map[string]string{
			"track_id": "string", "t": "s, k*dt on the track's own base (0 = first nominal sample)",
			"x": "m", "y": "m", "z": "m", "alt": "m, from the noisy x, y, z", "rdot": "m/s, radar mode only",
			"reentry_time":  "s, first time after apogee with drag >= threshold_g*g0 (from truth)",
			"reentry_index": "ceil(reentry_time/dt)", "beta": "kg/m^2", "reentry_altitude": "m",
			"reentry_speed": "m/s", "reentry_gamma_deg": "deg", "ground_range": "m", "max_drag_g": "g0",
			"horizon": "s, variant B only; never a model input", "t_cut": "s, variant B only",
		},
		Split: map[string]any{
			"recommended": "group split by track id (by source_track for variant B), 80/20, seeded",
			"train_frac":  0.8,
		},
	}
}

// PartialDir is where WriteDir keeps an unfinished set inside the output
// directory, with the checkpoint that lets a re-run resume it.
const PartialDir = ".reckon-partial"

const checkpointFile = "checkpoint.json"

// publishHook, when set (tests), runs before each rename of the publish,
// standing in for a kill between two renames.
var publishHook func(name string) error

// checkpoint records how far a generation got: the files in PartialDir are
// valid up to Offsets, which hold exactly the first Done flights.
type checkpoint struct {
	Version string           `json:"version"`
	Config  Config           `json:"config"`
	Done    int              `json:"done"`
	Offsets map[string]int64 `json:"offsets"`
	Summary Summary          `json:"summary"`
}

// WriteOptions controls WriteDir.
type WriteOptions struct {
	Overwrite bool           // replace an existing set in the directory
	Progress  func(done int) // called after each flight, when not nil
	Every     time.Duration  // checkpoint interval; 0 means 2 s
}

// InterruptedError says a generation stopped early and what was kept.
type InterruptedError struct {
	Done, Count int
	Dir         string
	Err         error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("stopped after %d of %d flights; they are kept in %s: run the same command again to resume",
		e.Done, e.Count, filepath.Join(e.Dir, PartialDir))
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// WriteDir generates cfg into dir. Files grow in dir/.reckon-partial with a
// checkpoint every few seconds and are renamed into place only once
// complete, so an interrupted run never leaves a set that looks whole. A
// later run with the same configuration resumes from the checkpoint (even
// after kill -9: bytes past it are cut) and writes exactly the bytes of an
// uninterrupted run. An existing set in dir is refused unless overwriting.
func WriteDir(ctx context.Context, dir string, cfg Config, opt WriteOptions) (Summary, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return Summary{Dir: dir}, err
	}
	if opt.Every == 0 {
		opt.Every = 2 * time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{Dir: dir}, err
	}
	names := []string{TracksFile, LabelsFile}
	if cfg.WriteTruth {
		names = append(names, TruthFile)
	}
	part := filepath.Join(dir, PartialDir)
	// A publish that a kill cut between two renames: the same command
	// finishes it; another one may replace it only with --force.
	if _, err := os.Stat(filepath.Join(dir, dataset.PublishingMarker)); err == nil {
		var cp checkpoint
		b, err := os.ReadFile(filepath.Join(part, checkpointFile))
		if err == nil && json.Unmarshal(b, &cp) == nil && cp.Version == Version && sameConfig(cp.Config, cfg) {
			if err := publish(dir, part, names, cfg); err != nil {
				return Summary{Dir: dir}, err
			}
			sum := cp.Summary
			sum.Dir, sum.Resumed, sum.Seconds = dir, cp.Done, time.Since(start).Seconds()
			return sum, nil
		}
		if !opt.Overwrite {
			return Summary{Dir: dir}, fmt.Errorf("%s holds a set an interrupted data gen of another configuration was publishing: run that command again to finish it, or pass --force to replace it", dir)
		}
		if err := os.RemoveAll(part); err != nil {
			return Summary{Dir: dir}, err
		}
	}
	if !opt.Overwrite {
		for _, n := range []string{TracksFile, LabelsFile, MetaFile, TruthFile} {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return Summary{Dir: dir}, fmt.Errorf("%s already exists; choose another --out or pass --force to replace it", filepath.Join(dir, n))
			}
		}
	}
	cp, files, err := openPartial(part, cfg, names)
	if err != nil {
		return Summary{Dir: dir}, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	sum := cp.Summary
	sum.Dir, sum.Resumed = dir, cp.Done

	radar := cfg.NoiseModel == NoiseRadar
	variantB := cfg.Variant == "B"
	lines := map[string]*csvLine{}
	for _, n := range names {
		lines[n] = &csvLine{w: files[n]}
	}
	tw, lw := lines[TracksFile], lines[LabelsFile]
	uw := lines[TruthFile]
	if uw == nil {
		uw = &csvLine{w: io.Discard}
	}
	if cp.Done == 0 {
		tw.header(trackHeader(radar))
		lw.header(labelHeader(variantB))
		uw.header([]string{"track_id", "t", "x", "y", "z", "vx", "vy", "vz", "alt", "drag"})
	}

	// save flushes every file and records the checkpoint atomically.
	save := func() error {
		for _, n := range names {
			if err := lines[n].flush(); err != nil {
				return err
			}
			if err := files[n].Sync(); err != nil {
				return err
			}
			off, err := files[n].Seek(0, io.SeekCurrent)
			if err != nil {
				return err
			}
			cp.Offsets[n] = off
		}
		cp.Summary = sum
		b, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		return atomicfile.Write(filepath.Join(part, checkpointFile), b)
	}
	lastSave := time.Now()
	err = Generate(ctx, cfg, cp.Done, func(ts []Track) error {
		sum.Flights++
		for i := range ts {
			tr := &ts[i]
			sum.Tracks++
			sum.Rows += len(tr.Rows)
			if tr.Label.Reenters {
				sum.Reentering++
			}
			writeTrack(tw, tr, radar)
			writeLabel(lw, &tr.Label, variantB)
			writeTruth(uw, tr)
		}
		cp.Done++
		if err := errors.Join(tw.err, lw.err, uw.err); err != nil {
			return err
		}
		if time.Since(lastSave) >= opt.Every {
			lastSave = time.Now()
			return save()
		}
		return nil
	}, opt.Progress)
	if err != nil {
		if ctx.Err() != nil && cp.Done > 0 {
			if serr := save(); serr != nil {
				return sum, errors.Join(err, serr)
			}
			return sum, &InterruptedError{Done: cp.Done, Count: cfg.Count, Dir: dir, Err: err}
		}
		if sum.Resumed == 0 {
			os.RemoveAll(part) // nothing worth resuming
		}
		return sum, err
	}
	if err := save(); err != nil {
		return sum, err
	}
	meta, err := json.MarshalIndent(newMeta(cfg), "", "  ")
	if err != nil {
		return sum, err
	}
	if err := atomicfile.Write(filepath.Join(part, MetaFile), append(meta, '\n')); err != nil {
		return sum, err
	}
	for _, f := range files {
		f.Close()
	}
	// From here the set is complete in part; the marker says so to a
	// re-run (which finishes the renames) and to readers (which refuse a
	// set whose files are half moved).
	if err := atomicfile.Write(filepath.Join(dir, dataset.PublishingMarker), nil); err != nil {
		return sum, err
	}
	if err := publish(dir, part, names, cfg); err != nil {
		return sum, err
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// publish moves the complete set from part into dir, skipping files an
// earlier, interrupted publish already moved, and removes part, its
// marker last.
func publish(dir, part string, names []string, cfg Config) error {
	for _, n := range append(names, MetaFile) {
		if publishHook != nil {
			if err := publishHook(n); err != nil {
				return err
			}
		}
		err := os.Rename(filepath.Join(part, n), filepath.Join(dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(filepath.Join(dir, n)); serr == nil {
				continue // moved before the interruption
			}
		}
		if err != nil {
			return err
		}
	}
	if !cfg.WriteTruth {
		os.Remove(filepath.Join(dir, TruthFile)) // a stale truth.csv would not match
	}
	if err := os.Remove(filepath.Join(part, checkpointFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(filepath.Join(dir, dataset.PublishingMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(part)
}

// openPartial resumes the partial set in part when its checkpoint was made
// with the same generator version and configuration, cutting every file back
// to the checkpoint; otherwise it starts a fresh one.
func openPartial(part string, cfg Config, names []string) (*checkpoint, map[string]*os.File, error) {
	fresh := &checkpoint{Version: Version, Config: cfg, Offsets: map[string]int64{}}
	var old checkpoint
	b, err := os.ReadFile(filepath.Join(part, checkpointFile))
	resume := err == nil && json.Unmarshal(b, &old) == nil && old.Version == Version &&
		sameConfig(old.Config, cfg) && old.Done > 0 && old.Done <= cfg.Count
	if !resume {
		if err := os.RemoveAll(part); err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(part, 0o755); err != nil {
			return nil, nil, err
		}
	}
	files := map[string]*os.File{}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, n := range names {
		p := filepath.Join(part, n)
		if !resume {
			f, err := os.Create(p)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			files[n] = f
			continue
		}
		off, ok := old.Offsets[n]
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err == nil && ok {
			if st, serr := f.Stat(); serr != nil || st.Size() < off {
				err = fmt.Errorf("%s is shorter than its checkpoint", p)
			} else if err = f.Truncate(off); err == nil {
				_, err = f.Seek(off, io.SeekStart)
			}
		} else if err == nil {
			err = fmt.Errorf("checkpoint has no offset for %s", n)
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			closeAll()
			// A damaged partial set is not worth keeping: start over.
			if rerr := os.RemoveAll(part); rerr != nil {
				return nil, nil, rerr
			}
			return openPartial(part, cfg, names)
		}
		files[n] = f
	}
	if resume {
		old.Config = cfg
		return &old, files, nil
	}
	return fresh, files, nil
}

// sameConfig compares everything that shapes the output (not Workers).
func sameConfig(a, b Config) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func trackHeader(radar bool) []string {
	h := []string{"track_id", "t", "x", "y", "z", "alt"}
	if radar {
		h = append(h, "rdot")
	}
	return h
}

func labelHeader(variantB bool) []string {
	h := []string{"track_id", "reenters", "reentry_time", "reentry_index", "reentry_altitude",
		"reentry_speed", "reentry_gamma_deg", "beta", "threshold_g",
		"t_launch", "t_burnout", "burnout_speed", "burnout_alt", "burnout_gamma_deg",
		"apogee_time", "apogee_alt", "impact_time", "ground_range", "track_end_time",
		"n_samples", "max_drag_g"}
	if variantB {
		h = append(h, "horizon", "t_cut", "source_track")
	}
	return h
}

func writeTrack(w *csvLine, tr *Track, radar bool) {
	for _, r := range tr.Rows {
		w.str(tr.ID)
		w.num(r.T, 1)
		w.num(r.X, 2)
		w.num(r.Y, 2)
		w.num(r.Z, 2)
		w.num(r.Alt, 2)
		if radar {
			w.num(r.Rdot, 2)
		}
		w.end()
	}
}

func writeLabel(w *csvLine, l *Label, variantB bool) {
	w.str(l.TrackID)
	if l.Reenters {
		w.str("1")
	} else {
		w.str("0")
	}
	w.num(l.ReentryTime, 4)
	if l.ReentryIndex >= 0 {
		w.str(strconv.Itoa(l.ReentryIndex))
	} else {
		w.str("")
	}
	w.num(l.ReentryAltitude, 1)
	w.num(l.ReentrySpeed, 2)
	w.num(l.ReentryGammaDeg, 3)
	w.num(l.Beta, 2)
	w.str(strconv.FormatFloat(l.ThresholdG, 'g', -1, 64))
	w.num(l.TLaunch, 2)
	w.num(l.TBurnout, 2)
	w.num(l.BurnoutSpeed, 2)
	w.num(l.BurnoutAlt, 1)
	w.num(l.BurnoutGammaDeg, 3)
	w.num(l.ApogeeTime, 3)
	w.num(l.ApogeeAlt, 1)
	w.num(l.ImpactTime, 3)
	w.num(l.GroundRange, 1)
	w.num(l.TrackEndTime, 1)
	w.str(strconv.Itoa(l.NSamples))
	w.num(l.MaxDragG, 3)
	if variantB {
		w.num(l.Horizon, 3)
		w.num(l.TCut, 1)
		w.str(l.SourceTrack)
	}
	w.end()
}

func writeTruth(w *csvLine, tr *Track) {
	for _, r := range tr.Truth {
		w.str(tr.ID)
		w.num(r.T, 1)
		for _, v := range []float64{r.X, r.Y, r.Z, r.VX, r.VY, r.VZ, r.Alt} {
			w.num(v, 3)
		}
		w.str(strconv.FormatFloat(r.Drag, 'g', 8, 64))
		w.end()
	}
}

// csvLine writes fixed-precision CSV without reflection or per-cell
// allocation; track ids from the generator never need quoting.
type csvLine struct {
	w     io.Writer
	buf   []byte
	first bool
	err   error
}

func (c *csvLine) header(cols []string) {
	for _, h := range cols {
		c.str(h)
	}
	c.end()
}

func (c *csvLine) sep() {
	if c.first {
		c.buf = append(c.buf, ',')
	}
	c.first = true
}

func (c *csvLine) str(s string) {
	c.sep()
	c.buf = append(c.buf, s...)
}

// num writes v with prec decimals; NaN is an empty cell and -0 prints as 0
// so output does not depend on the sign of a rounded zero.
func (c *csvLine) num(v float64, prec int) {
	c.sep()
	if math.IsNaN(v) {
		return
	}
	n := len(c.buf)
	c.buf = strconv.AppendFloat(c.buf, v, 'f', prec, 64)
	if c.buf[n] == '-' {
		allZero := true
		for _, b := range c.buf[n+1:] {
			if b != '0' && b != '.' {
				allZero = false
				break
			}
		}
		if allZero {
			c.buf = append(c.buf[:n], c.buf[n+1:]...)
		}
	}
}

func (c *csvLine) end() {
	c.buf = append(c.buf, '\n')
	c.first = false
	if c.err == nil && len(c.buf) >= 64<<10 {
		_, c.err = c.w.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

func (c *csvLine) flush() error {
	if c.err == nil && len(c.buf) > 0 {
		_, c.err = c.w.Write(c.buf)
		c.buf = c.buf[:0]
	}
	return c.err
}
