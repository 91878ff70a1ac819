package reentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
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
			"R_E_m": RE, "mu_m3_s2": Mu, "g0_m_s2": G0, "dt_s": DT, "rk4_h_s": H,
			"threshold_g": c.ThresholdG, "omega_E_rad_s": OmegaE,
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

// WriteDir generates cfg into dir. Files are written under a temporary name
// and renamed into place only once complete, so an interrupted run never
// leaves a set that looks whole. An existing set in dir is refused unless
// overwrite is set.
func WriteDir(ctx context.Context, dir string, cfg Config, overwrite bool, progress func(done int)) (Summary, error) {
	start := time.Now()
	sum := Summary{Dir: dir}
	if err := cfg.Validate(); err != nil {
		return sum, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, err
	}
	names := []string{TracksFile, LabelsFile, MetaFile}
	if cfg.WriteTruth {
		names = append(names, TruthFile)
	}
	if !overwrite {
		for _, n := range []string{TracksFile, LabelsFile, MetaFile, TruthFile} {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return sum, fmt.Errorf("%s already exists; choose another --out or pass --force to replace it", filepath.Join(dir, n))
			}
		}
	}
	tmp, err := os.MkdirTemp(dir, ".partial-")
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(tmp)

	files := map[string]*os.File{}
	for _, n := range names {
		f, err := os.Create(filepath.Join(tmp, n))
		if err != nil {
			return sum, err
		}
		defer f.Close()
		files[n] = f
	}

	radar := cfg.NoiseModel == NoiseRadar
	tw := &csvLine{w: files[TracksFile]}
	tw.header(trackHeader(radar))
	lw := &csvLine{w: files[LabelsFile]}
	lw.header(labelHeader(cfg.Variant == "B"))
	uw := &csvLine{w: io.Discard}
	if cfg.WriteTruth {
		uw = &csvLine{w: files[TruthFile]}
		uw.header([]string{"track_id", "t", "x", "y", "z", "vx", "vy", "vz", "alt", "drag"})
	}
	err = Generate(ctx, cfg, func(ts []Track) error {
		sum.Flights++
		for i := range ts {
			tr := &ts[i]
			sum.Tracks++
			sum.Rows += len(tr.Rows)
			if tr.Label.Reenters {
				sum.Reentering++
			}
			writeTrack(tw, tr, radar)
			writeLabel(lw, &tr.Label, cfg.Variant == "B")
			writeTruth(uw, tr)
		}
		return errors.Join(tw.err, lw.err, uw.err)
	}, progress)
	if err != nil {
		return sum, err
	}
	meta, err := json.MarshalIndent(newMeta(cfg), "", "  ")
	if err != nil {
		return sum, err
	}
	if _, err := files[MetaFile].Write(append(meta, '\n')); err != nil {
		return sum, err
	}
	if err := errors.Join(tw.flush(), lw.flush(), uw.flush()); err != nil {
		return sum, err
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return sum, err
		}
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
			return sum, err
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
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
