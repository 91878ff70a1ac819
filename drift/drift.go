// Package drift runs drift checks over files: a reference from a profile
// file or a table, current data streamed from CSV files, a report. The
// statistics live in monitor; this package reads and writes.
package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/monitor"
)

// ProfileKind marks a drift profile file.
const ProfileKind = "reckon drift profile"

// File is a drift profile file as written: the summary of a reference
// table, which a check reads instead of the table.
type File struct {
	Kind    string           `json:"kind"`
	Format  int              `json:"format"`
	Source  string           `json:"source,omitempty"` // the table it summarises
	Profile *monitor.Profile `json:"profile"`
}

// WriteProfile writes p (the profile of source) to path atomically.
func WriteProfile(path, source string, p *monitor.Profile) error {
	b, err := json.Marshal(File{Kind: ProfileKind, Format: 1, Source: source, Profile: p})
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// ProfileTable streams a reference table into its profile (skip: columns
// left out, such as ids and the target; see monitor.ProfileCSV).
func ProfileTable(path string, skip []string, psiBins int) (*monitor.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return monitor.ProfileCSV(context.Background(), path, f, skip, psiBins, 0)
}

// LoadReference is the reference at path: a profile file (from WriteProfile)
// as it is, a CSV table, profiled, or a track set, whose per-track
// features are profiled (TrackFeatures).
func LoadReference(path string, skip []string, psiBins int) (*monitor.Profile, error) {
	if IsTrackSet(path) {
		p, err := ProfileTracks(path)
		if err != nil {
			return nil, err
		}
		return monitor.Without(p, skip)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 1)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if !bytes.Equal(head, []byte("{")) {
		return ProfileTable(path, skip, psiBins)
	}
	p, err := ReadProfile(path)
	if err != nil {
		return nil, err
	}
	return monitor.Without(p, skip)
}

// ReadProfile reads a drift profile file.
func ReadProfile(path string) (*monitor.Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a drift profile: %w", path, err)
	}
	if f.Kind != ProfileKind || f.Profile == nil {
		return nil, fmt.Errorf("%s: not a drift profile (kind %q; write one with reckon monitor profile)", path, f.Kind)
	}
	if f.Format > 1 {
		return nil, fmt.Errorf("%s: drift profile format %d, this reckon reads 1; upgrade reckon", path, f.Format)
	}
	return f.Profile, nil
}

// Progress hears the bytes read of all the inputs (nil: nobody).
type Progress func(done, total int64)

// counting reports what is read through it.
type counting struct {
	r           io.Reader
	done, total *int64
	report      Progress
}

func (c *counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	*c.done += int64(n)
	if c.report != nil {
		c.report(*c.done, *c.total)
	}
	return n, err
}

// SketchFiles streams every CSV file (or track set) into one current side
// of ref.
func SketchFiles(ctx context.Context, paths []string, ref *monitor.Profile, progress Progress) (*monitor.Profile, error) {
	if len(paths) > 0 && IsTrackSet(paths[0]) {
		return SketchTracks(paths, ref)
	}
	var done, total int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	var out *monitor.Profile
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		s, err := monitor.SketchCSV(ctx, p, &counting{r: f, done: &done, total: &total, report: progress}, ref, 0)
		f.Close()
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = s
		} else if out, err = monitor.Merge(out, s); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return nil, errors.New("no input files")
	}
	return out, nil
}

// Check compares the files with the reference.
func Check(ctx context.Context, ref *monitor.Profile, inputs []string, o monitor.Options, progress Progress) (*monitor.Report, error) {
	cur, err := SketchFiles(ctx, inputs, ref, progress)
	if err != nil {
		return nil, err
	}
	return monitor.CompareProfiles(ref, cur, nil, o)
}
