package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ParseTypes reads column type overrides written COLUMN=TYPE (float, int,
// categorical).
func ParseTypes(kvs []string) (map[string]Type, error) {
	types := map[string]Type{}
	for _, kv := range kvs {
		col, typ, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want COLUMN=TYPE", kv)
		}
		t, err := ParseType(typ)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", kv, err)
		}
		types[col] = t
	}
	return types, nil
}

// ReadCSVFile reads the CSV table at path. With opt.OnError SetAside the
// bad rows go to errorsPath (opt.ErrorsTo is ignored), written only once
// the read succeeded, so a failed read never leaves a misleading errors
// file; the returned path is "" when no row was set aside.
func ReadCSVFile(path string, opt ReadOptions, errorsPath string) (*Table, *ReadReport, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	var errBuf bytes.Buffer
	if opt.OnError == SetAside {
		if errorsPath == "" {
			return nil, nil, "", fmt.Errorf("%s: setting bad rows aside needs an errors file", path)
		}
		opt.ErrorsTo = &errBuf
	}
	t, rep, err := ReadCSV(path, f, opt)
	if err != nil {
		return nil, nil, "", err
	}
	if rep.SetAside == 0 {
		if t.Rows() == 0 {
			return nil, nil, "", fmt.Errorf("%s: no records after the header row", path)
		}
		return t, rep, "", nil
	}
	if err := os.MkdirAll(filepath.Dir(errorsPath), 0o755); err != nil {
		return nil, nil, "", err
	}
	if err := os.WriteFile(errorsPath, errBuf.Bytes(), 0o644); err != nil {
		return nil, nil, "", err
	}
	if t.Rows() == 0 {
		return nil, nil, "", fmt.Errorf("%s: no usable records: all %d were set aside (see %s)", path, rep.SetAside, errorsPath)
	}
	return t, rep, errorsPath, nil
}

// IsTrackSet says whether path holds a track set rather than a table: a
// directory, a file named tracks.csv, or a CSV whose header starts a
// long-format track file (track_id, t, ...).
func IsTrackSet(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		return true
	}
	if filepath.Base(path) == "tracks.csv" {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(NewTextReader(path, f, DefaultLimits)).ReadString('\n')
	h := strings.Split(strings.TrimSpace(line), ",")
	return len(h) >= 5 && h[0] == "track_id" && h[1] == "t"
}
