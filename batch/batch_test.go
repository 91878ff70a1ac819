package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

func tumorModel(t *testing.T, kind string) *tabular.Model {
	t.Helper()
	spec := tabular.DefaultSpec(kind)
	spec.GBDT.Trees, spec.FCN.Epochs = 30, 20
	return tumorModelSpec(t, spec)
}

// tumorData is the embedded tumor table, its schema and its encoding.
func tumorData(t testing.TB) (*tabular.Schema, *tabular.Frame) {
	t.Helper()
	tb, _, err := dataset.ReadCSV("tumor.csv", bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tabular.NewSchema(tb, "diagnosis", "malignant")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := s.Encode(tb)
	if err != nil {
		t.Fatal(err)
	}
	return s, fr
}

func tumorModelSpec(t testing.TB, spec tabular.Spec) *tabular.Model {
	t.Helper()
	s, fr := tumorData(t)
	m, err := tabular.Train(context.Background(), spec, s, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// input opens a job's input afresh (a source is read once).
type input func() (Source, Scorer, []Input)

// tableIn writes data as dir/name and reads it for m.
func tableIn(t *testing.T, name string, data []byte, m *tabular.Model) input {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() (Source, Scorer, []Input) {
		src, sc, in, err := TableInput([]string{path}, "", m)
		if err != nil {
			t.Fatal(err)
		}
		return src, sc, in
	}
}

func trackIn(t *testing.T, dir string, p trackmodel.Predictor) input {
	return func() (Source, Scorer, []Input) {
		src, sc, in, err := TrackInput([]string{dir}, p)
		if err != nil {
			t.Fatal(err)
		}
		return src, sc, in
	}
}

// job runs a job with a fixed clock, so two runs name their files alike.
func job(t *testing.T, inp input, out string, mod func(*Job)) (*Manifest, error) {
	t.Helper()
	src, sc, in := inp()
	j := Job{Source: src, Scorer: sc, Model: "tumor:1", Inputs: in, Out: out, Workers: 2, Chunk: 50,
		Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }}
	if mod != nil {
		mod(&j)
	}
	return Run(context.Background(), j)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// breakLine replaces the value of a column on a given 1-based line.
func breakLine(data []byte, line int, from, to string) []byte {
	lines := strings.Split(string(data), "\n")
	lines[line-1] = strings.Replace(lines[line-1], from, to, 1)
	return []byte(strings.Join(lines, "\n"))
}

// TestMalformedLineIsOneErrorRow: one bad cell yields exactly one row in
// the errors file; every other record is predicted exactly as from the
// clean file.
func TestMalformedLineIsOneErrorRow(t *testing.T) {
	for _, kind := range []string{tabular.KindLogistic, tabular.KindGBDT, tabular.KindFCN} {
		t.Run(kind, func(t *testing.T) {
			m := tumorModel(t, kind)
			cleanOut := t.TempDir()
			cm, err := job(t, tableIn(t, "tumor.csv", examples.TumorCSV, m), cleanOut, nil)
			if err != nil || cm.Predicted != 569 || cm.Failed != 0 {
				t.Fatalf("clean: %+v %v", cm, err)
			}
			line := 37
			fields := strings.Split(strings.Split(string(examples.TumorCSV), "\n")[line-1], ",")
			bad := breakLine(examples.TumorCSV, line, fields[3], "12O4.5")
			out := t.TempDir()
			bm, err := job(t, tableIn(t, "tumor.csv", bad, m), out, nil)
			if err != nil || bm.Predicted != 568 || bm.Failed != 1 || bm.Read != 569 {
				t.Fatalf("with a bad line: %+v %v", bm, err)
			}
			errRows := strings.Split(strings.TrimSpace(read(t, filepath.Join(out, bm.Files.Errors))), "\n")
			if len(errRows) != 2 || !strings.HasPrefix(errRows[1], "tumor.csv:37,read,") || !strings.Contains(errRows[1], "12O4.5") {
				t.Errorf("errors file: %q", errRows)
			}
			var want []string
			for _, r := range strings.Split(read(t, filepath.Join(cleanOut, cm.Files.Predictions)), "\n") {
				if !strings.HasPrefix(r, "tumor.csv:37,") {
					want = append(want, r)
				}
			}
			if got := read(t, filepath.Join(out, bm.Files.Predictions)); got != strings.Join(want, "\n") {
				t.Error("the other records' predictions changed")
			}
		})
	}
}

// trackSet generates n tracks and fits the mean-altitude baseline on them.
func trackSet(t *testing.T, n int) (string, baseline.MeanAltitude) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tracks")
	cfg := reentry.DefaultConfig()
	cfg.Count, cfg.Seed = n, 11
	if _, err := reentry.WriteDir(context.Background(), dir, cfg, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var labels []dataset.TrackLabel
	for _, l := range ts.Labels {
		labels = append(labels, l)
	}
	m, err := baseline.FitMeanAltitude(labels)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// TestNaNTrackIsOneErrorRow: NaN positions in one track fail that track,
// once, and nothing else changes.
func TestNaNTrackIsOneErrorRow(t *testing.T) {
	dir, m := trackSet(t, 6)
	cleanOut := t.TempDir()
	cm, err := job(t, trackIn(t, dir, &m), cleanOut, func(j *Job) { j.Chunk = 2 })
	if err != nil || cm.Failed != 0 {
		t.Fatalf("clean: %+v %v", cm, err)
	}
	// NaN into two rows of one track.
	data, _ := os.ReadFile(filepath.Join(dir, "tracks.csv"))
	lines := strings.Split(string(data), "\n")
	victim := strings.Split(lines[40], ",")[0]
	for _, i := range []int{40, 41} {
		f := strings.Split(lines[i], ",")
		f[2] = "NaN"
		lines[i] = strings.Join(f, ",")
	}
	os.WriteFile(filepath.Join(dir, "tracks.csv"), []byte(strings.Join(lines, "\n")), 0o644)
	out := t.TempDir()
	bm, err := job(t, trackIn(t, dir, &m), out, func(j *Job) { j.Chunk = 2 })
	if err != nil || bm.Failed != 1 || bm.Predicted != cm.Predicted-1 {
		t.Fatalf("with NaN positions: %+v %v", bm, err)
	}
	errRows := strings.Split(strings.TrimSpace(read(t, filepath.Join(out, bm.Files.Errors))), "\n")
	if len(errRows) != 2 || !strings.HasPrefix(errRows[1], victim+",validate,") || !strings.Contains(errRows[1], "not a finite number") {
		t.Errorf("errors: %q (track %s)", errRows, victim)
	}
	var want []string
	for _, r := range strings.Split(read(t, filepath.Join(cleanOut, cm.Files.Predictions)), "\n") {
		if !strings.HasPrefix(r, victim+",") {
			want = append(want, r)
		}
	}
	if got := read(t, filepath.Join(out, bm.Files.Predictions)); got != strings.Join(want, "\n") {
		t.Errorf("other tracks changed:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// TestResumeEqualsUninterrupted: a job stopped after any chunk, with junk
// written past its last commit (a crash between write and journal),
// resumes to the files an uninterrupted job writes.
func TestResumeEqualsUninterrupted(t *testing.T) {
	m := tumorModel(t, tabular.KindGBDT)
	inp := tableIn(t, "tumor.csv", examples.TumorCSV, m)
	ref := t.TempDir()
	rm, err := job(t, inp, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stopAfter := range []int{0, 3, 6} {
		out := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		src, sc, in := inp()
		j := Job{Source: src, Scorer: sc, Model: "tumor:1", Inputs: in, Out: out, Workers: 2, Chunk: 50,
			Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
			Committed: func(k int) {
				if k == stopAfter {
					cancel()
				}
			}}
		if _, err := Run(ctx, j); !errors.Is(err, context.Canceled) {
			t.Fatalf("stop after %d: %v", stopAfter, err)
		}
		// A crash after writing, before committing.
		f, _ := os.OpenFile(filepath.Join(out, rm.Files.Predictions), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("junk,from,a,crash\n")
		f.Close()
		m2, err := job(t, inp, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m2.Resumes != 1 || m2.Predicted != 569 {
			t.Errorf("resumed: %+v", m2)
		}
		for _, name := range []string{rm.Files.Predictions, rm.Files.Errors} {
			if read(t, filepath.Join(out, name)) != read(t, filepath.Join(ref, name)) {
				t.Errorf("stop after chunk %d: %s differs from the uninterrupted job's", stopAfter, name)
			}
		}
	}
}

// TestShardsPartitionAndMerge: shards split the records without overlap,
// status names a missing shard, and merge joins complete shards into
// exactly the unsharded predictions.
func TestShardsPartitionAndMerge(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	inp := tableIn(t, "tumor.csv", examples.TumorCSV, m)
	allOut := t.TempDir()
	all, err := job(t, inp, allOut, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	total := 0
	for i := range 3 {
		s := Shard{I: i, N: 3}
		if i == 1 {
			continue // run later
		}
		sm, err := job(t, inp, ShardDir(out, s), func(j *Job) { j.Shard = s })
		if err != nil {
			t.Fatal(err)
		}
		total += sm.Read
	}
	states, err := Status(out)
	if err != nil || len(states) != 3 || states[1].State != "missing" || states[0].State != "complete" {
		t.Fatalf("status %+v %v", states, err)
	}
	if _, err := Merge([]string{out}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "1/3 (missing from") {
		t.Errorf("merge with a missing shard: %v", err)
	}
	s1 := Shard{I: 1, N: 3}
	sm, err := job(t, inp, ShardDir(out, s1), func(j *Job) { j.Shard = s1 })
	if err != nil {
		t.Fatal(err)
	}
	total += sm.Read
	if total != all.Read || sm.Read == 0 || sm.Read == all.Read {
		t.Errorf("shards read %d records, unsharded %d (shard 1: %d)", total, all.Read, sm.Read)
	}
	into := t.TempDir()
	res, err := Merge([]string{out}, into)
	if err != nil {
		t.Fatal(err)
	}
	if res.Predicted != 569 || res.Shards != 3 {
		t.Errorf("merged %+v", res)
	}
	got := strings.Split(strings.TrimSpace(read(t, res.Predictions)), "\n")
	if len(got) != 570 {
		t.Errorf("merged %d lines", len(got))
	}
	// The same predictions as the unsharded job, in id order.
	want := strings.Split(strings.TrimSpace(read(t, filepath.Join(allOut, all.Files.Predictions))), "\n")
	slices.Sort(got[1:])
	slices.Sort(want[1:])
	if !slices.Equal(got, want) {
		t.Error("merged shards differ from the unsharded predictions")
	}
	// A second job's shard cannot be merged in.
	if _, err := job(t, inp, ShardDir(out, s1), func(j *Job) { j.Shard = s1; j.Model = "tumor:2" }); !errors.Is(err, ErrOtherJob) {
		t.Errorf("another job into a used directory: %v", err)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{{"0/4", Shard{0, 4}, true}, {"3/4", Shard{3, 4}, true}, {"4/4", Shard{}, false}, {"-1/2", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false}} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
	}
	// Every id lands in exactly one shard.
	for _, id := range []string{"1", "17", "abc", "tumor.csv:37"} {
		n := 0
		for i := range 5 {
			if (Shard{i, 5}).Has(id) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q in %d shards", id, n)
		}
	}
}

// TestStreamsInBlocks: a table longer than one block, with a quoted field
// spanning lines and a bad cell in the second block, reads as the whole
// file would: global line numbers, every other row predicted, copies of a
// row predicted alike.
func TestStreamsInBlocks(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	lines := strings.Split(strings.TrimSpace(string(examples.TumorCSV)), "\n")
	var b strings.Builder
	b.WriteString(lines[0] + ",note\n")
	rows := 0
	line := 1
	badLine := 0
	for c := 0; rows < blockLines+1000; c++ {
		for _, l := range lines[1:] {
			rows++
			line++
			switch rows {
			case blockLines - 1: // a note over two lines across the block end
				b.WriteString(l + ",\"first\nsecond\"\n")
				line++
			case blockLines + 500:
				f := strings.Split(l, ",")
				f[5] = "x1"
				b.WriteString(strings.Join(f, ",") + ",\n")
				badLine = line
			default:
				b.WriteString(l + ",\n")
			}
		}
	}
	out := t.TempDir()
	bm, err := job(t, tableIn(t, "big.csv", []byte(b.String()), m), out, func(j *Job) { j.Chunk = 1000 })
	if err != nil {
		t.Fatal(err)
	}
	if bm.Read != rows || bm.Failed != 1 || bm.Predicted != rows-1 {
		t.Fatalf("read %d predicted %d failed %d; want %d rows, 1 failed", bm.Read, bm.Predicted, bm.Failed, rows)
	}
	errs := read(t, filepath.Join(out, bm.Files.Errors))
	want := "big.csv:" + strconv.Itoa(badLine) + ",read,"
	if !strings.Contains(errs, want) || !strings.Contains(errs, "line "+strconv.Itoa(badLine)+":") {
		t.Errorf("errors file %q lacks %q", errs, want)
	}
	preds := strings.Split(strings.TrimSpace(read(t, filepath.Join(out, bm.Files.Predictions))), "\n")[1:]
	// Row r and row r+569 are the same patient: same prediction fields.
	fields := func(s string) string { return s[strings.Index(s, ","):] }
	if fields(preds[10]) != fields(preds[10+569]) || fields(preds[blockLines+100]) != fields(preds[blockLines+100-569]) {
		t.Error("copies of a row predicted differently across blocks")
	}
}

// TestNewDataWithoutLabels: new records usually have no label; an empty
// or unknown target column must not stop prediction.
func TestNewDataWithoutLabels(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	lines := strings.Split(strings.TrimSpace(string(examples.TumorCSV)), "\n")
	head := strings.Split(lines[0], ",")
	ti := slices.Index(head, "diagnosis")
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for i, l := range lines[1:40] {
		f := strings.Split(l, ",")
		f[ti] = []string{"", "unknown", "NA"}[i%3]
		b.WriteString(strings.Join(f, ",") + "\n")
	}
	bm, err := job(t, tableIn(t, "new.csv", []byte(b.String()), m), t.TempDir(), nil)
	if err != nil || bm.Predicted != 39 || bm.Failed != 0 {
		t.Fatalf("%+v %v", bm, err)
	}
}

// TestEveryTrackBad: when no track is usable, each still gets its error
// row (exit 3 territory), rather than the job failing as a whole.
func TestEveryTrackBad(t *testing.T) {
	dir, m := trackSet(t, 3)
	data, _ := os.ReadFile(filepath.Join(dir, "tracks.csv"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := 1; i < len(lines); i += 40 {
		f := strings.Split(lines[i], ",")
		f[3] = "NaN"
		lines[i] = strings.Join(f, ",")
	}
	os.WriteFile(filepath.Join(dir, "tracks.csv"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	bm, err := job(t, trackIn(t, dir, &m), t.TempDir(), nil)
	if err != nil || bm.Predicted != 0 || bm.Failed != 3 {
		t.Fatalf("%+v %v", bm, err)
	}
}

// TestInputVariants: the predictions of a file written with a byte order
// mark, CRLF or old-Mac CR line endings are those of the plain file; a
// header-only file, a non-UTF-8 header and a file of NULs are errors that
// name the file (issue 12: predict did not strip the BOM, and read a CR
// file as "0 read, 0 predicted").
func TestInputVariants(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	plainOut := t.TempDir()
	pm, err := job(t, tableIn(t, "tumor.csv", examples.TumorCSV, m), plainOut, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := read(t, filepath.Join(plainOut, pm.Files.Predictions))
	text := string(examples.TumorCSV)
	for name, data := range map[string]string{
		"bom":  "\ufeff" + text,
		"crlf": strings.ReplaceAll(text, "\n", "\r\n"),
		"cr":   strings.ReplaceAll(text, "\n", "\r"),
	} {
		out := t.TempDir()
		bm, err := job(t, tableIn(t, "tumor.csv", []byte(data), m), out, nil)
		if err != nil || bm.Predicted != 569 {
			t.Errorf("%s: %+v %v", name, bm, err)
			continue
		}
		if got := read(t, filepath.Join(out, bm.Files.Predictions)); got != plain {
			t.Errorf("%s: predictions differ from the plain file's", name)
		}
	}
	header := strings.SplitN(text, "\n", 2)[0] + "\n"
	for name, c := range map[string]struct{ data, want string }{
		"header only": {header, "no records"},
		"latin-1":     {"\xe9" + text, "not UTF-8"},
		"zeros":       {string(make([]byte, 4096)), "NUL"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "in.csv")
		os.WriteFile(path, []byte(c.data), 0o600)
		src, sc, in, err := TableInput([]string{path}, "", m)
		if err == nil {
			_, err = Run(context.Background(), Job{Source: src, Scorer: sc, Model: "tumor:1", Inputs: in, Out: filepath.Join(dir, "out"), Workers: 1, Chunk: 50})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming %s and saying %q", name, err, path, c.want)
		}
	}
}

// TestSameBaseNameInTwoDirectories: FILE:LINE ids stay unique when two
// inputs share a base name (issue 12: every row of the second was a
// duplicate of the first's).
func TestSameBaseNameInTwoDirectories(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	root := t.TempDir()
	var paths []string
	for _, d := range []string{"monday", "tuesday"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
		p := filepath.Join(root, d, "patients.csv")
		os.WriteFile(p, examples.TumorCSV, 0o600)
		paths = append(paths, p)
	}
	src, sc, in, err := TableInput(paths, "", m)
	if err != nil {
		t.Fatal(err)
	}
	man, err := Run(context.Background(), Job{Source: src, Scorer: sc, Model: "tumor:1", Inputs: in, Out: filepath.Join(root, "out"), Workers: 2, Chunk: 50})
	if err != nil || man.Predicted != 2*569 || man.Failed != 0 {
		t.Fatalf("%+v %v", man, err)
	}
	preds := read(t, filepath.Join(root, "out", man.Files.Predictions))
	if !strings.Contains(preds, "monday/patients.csv:2,") || !strings.Contains(preds, "tuesday/patients.csv:2,") {
		t.Errorf("ids do not name the directories:\n%.300s", preds)
	}
}

// TestMergeAcrossPodDirectories: shards written by pods with volumes of
// their own (--out PODi --shard i/3) are gathered from every directory
// given (issue 12: "shards not complete: 1/3 (missing)").
func TestMergeAcrossPodDirectories(t *testing.T) {
	m := tumorModel(t, tabular.KindLogistic)
	inp := tableIn(t, "tumor.csv", examples.TumorCSV, m)
	root := t.TempDir()
	var pods []string
	for i := range 3 {
		pod := filepath.Join(root, fmt.Sprint("pod", i))
		s := Shard{I: i, N: 3}
		if _, err := job(t, inp, ShardDir(pod, s), func(j *Job) { j.Shard = s }); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, pod)
	}
	res, err := Merge(pods, filepath.Join(root, "merged"))
	if err != nil || res.Predicted != 569 || res.Shards != 3 {
		t.Fatalf("merge of three pods' directories: %+v %v", res, err)
	}
	// Two pods only: the missing shard is named with where it was sought.
	if _, err := Merge(pods[:2], filepath.Join(root, "m2")); err == nil || !strings.Contains(err.Error(), "2/3 (missing from") {
		t.Errorf("two of three pods: %v", err)
	}
	// The same pod twice: a shard found twice.
	if _, err := Merge([]string{pods[0], pods[0], pods[1], pods[2]}, filepath.Join(root, "m3")); err == nil || !strings.Contains(err.Error(), "is in") {
		t.Errorf("a pod given twice: %v", err)
	}
}
