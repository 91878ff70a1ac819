package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/examples"
)

// tumorModelFile trains a quick model file on the example table.
func tumorModelFile(t *testing.T, kind string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), kind+".rkm")
	mustReckon(t, "train", "tabular", "--data", "../../examples/tumor/breast_cancer_wisconsin_clean.csv", "--target", "diagnosis",
		"--positive", "malignant", "--model", kind, "--trees", "40", "--out", out)
	return out
}

func TestPredictCLI(t *testing.T) {
	m := tumorModelFile(t, "gbdt")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	lines := strings.Split(string(examples.TumorCSV), "\n")
	f := strings.Split(lines[36], ",")
	f[3] = "12O4.5"
	lines[36] = strings.Join(f, ",")
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)

	// A bad line: exit 3, one error row, the manifest's counts.
	out := filepath.Join(dir, "out")
	stdout, stderr, code := reckon(t, "--json", "predict", "--model", m, "--input", bad, "--out", out)
	var res predictResult
	if code != 3 || json.Unmarshal([]byte(stdout), &res) != nil || res.Failed != 1 || res.Predicted != 568 {
		t.Fatalf("exit %d, %s\n%s", code, stdout, stderr)
	}
	errs, _ := os.ReadFile(filepath.Join(out, res.Files.Errors))
	if strings.Count(string(errs), "\n") != 2 || !strings.Contains(string(errs), "bad.csv:37,read,") {
		t.Errorf("errors file:\n%s", errs)
	}
	// Re-running a finished job changes nothing and says so.
	if _, stderr, code := reckon(t, "predict", "--model", m, "--input", bad, "--out", out); code != 3 || !strings.Contains(stderr, "complete already") {
		t.Errorf("re-run of a finished job: exit %d %s", code, stderr)
	}

	// Columns that do not fit the schema: the job fails naming them.
	wrong := filepath.Join(dir, "wrong.csv")
	os.WriteFile(wrong, []byte("mean_radius,colour\n1,red\n"), 0o644)
	if _, stderr, code := reckon(t, "predict", "--model", m, "--input", wrong, "--out", filepath.Join(dir, "w")); code != 1 || !strings.Contains(stderr, "mean_texture") {
		t.Errorf("wrong schema: exit %d %s", code, stderr)
	}

	// An --out under a regular file: a failure a re-run cannot fix, so no
	// re-run is suggested (issue 12).
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, stderr, code := reckon(t, "predict", "--model", m, "--input", bad, "--out", filepath.Join(file, "out")); code != 1 || !strings.Contains(stderr, "not a directory") || strings.Contains(stderr, "run the same command again") {
		t.Errorf("--out under a file: exit %d %s", code, stderr)
	}

	// Shards from JOB_COMPLETION_INDEX, status, merge.
	sharded := filepath.Join(dir, "sharded")
	for i := range 3 {
		if i == 2 {
			continue
		}
		t.Setenv("JOB_COMPLETION_INDEX", string(rune('0'+i)))
		mustReckon(t, "predict", "--model", m, "--input", "../../examples/tumor/breast_cancer_wisconsin_clean.csv", "--out", sharded, "--shards", "3")
	}
	if st, _, code := reckon(t, "predict", "status", sharded); code != 3 || !strings.Contains(st, "2/3    missing") {
		t.Errorf("status with a missing shard: exit %d\n%s", code, st)
	}
	mustReckon(t, "predict", "--model", m, "--input", "../../examples/tumor/breast_cancer_wisconsin_clean.csv", "--out", sharded, "--shard", "2/3")
	merged := filepath.Join(dir, "merged")
	if out := mustReckon(t, "predict", "merge", sharded, "--out", merged); !strings.Contains(out, "569 records, 569 predicted, 0 failed") {
		t.Errorf("merge: %s", out)
	}
	if _, stderr, code := reckon(t, "predict", "--model", m, "--input", bad, "--out", sharded, "--shard", "1/3"); code != 1 || !strings.Contains(stderr, "another job") {
		t.Errorf("other job into a used shard dir: exit %d %s", code, stderr)
	}
	if _, stderr, code := reckon(t, "predict", "--model", m, "--input", bad, "--out", sharded, "--shards", "2", "--shard", "1/2"); code != 1 || !strings.Contains(stderr, "not both") {
		t.Errorf("both shard flags: exit %d %s", code, stderr)
	}
}

// TestCalibrationPredictKillNine: kill -9 during 'reckon predict', then the
// same command: the predictions and errors equal an uninterrupted job's,
// no record lost or duplicated.
func TestCalibrationPredictKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("outside -short")
	}
	m := tumorModelFile(t, "fcn")
	dir := t.TempDir()
	// 200 copies of the table (113,800 rows) with one malformed line.
	var big bytes.Buffer
	lines := strings.Split(strings.TrimSpace(string(examples.TumorCSV)), "\n")
	big.WriteString(lines[0] + "\n")
	for range 200 {
		for _, l := range lines[1:] {
			big.WriteString(l + "\n")
		}
	}
	data := big.String()
	cut := strings.Index(data[len(data)/2:], "\n") + len(data)/2 + 1
	in := filepath.Join(dir, "big.csv")
	os.WriteFile(in, []byte(data[:cut]+"oops,1,2\n"+data[cut:]), 0o644)

	ref := filepath.Join(dir, "ref")
	refOut, _, code := reckon(t, "--json", "predict", "--model", m, "--input", in, "--out", ref, "--chunk", "200")
	var rm predictResult
	if code != 3 || json.Unmarshal([]byte(refOut), &rm) != nil {
		t.Fatalf("reference job: exit %d %s", code, refOut)
	}

	out := filepath.Join(dir, "out")
	var log bytes.Buffer
	cmd := reckonProcess(t, &log, "predict", "--model", m, "--input", in, "--out", out, "--chunk", "200")
	deadline := time.Now().Add(time.Minute)
	for {
		st, _ := batch.Status(out)
		if len(st) == 1 && st[0].Chunks >= 20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress in a minute:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	st, _ := batch.Status(out)
	if st[0].State == "complete" {
		t.Fatalf("the job finished before the kill; make the input larger")
	}
	t.Logf("killed with %d of %d chunks committed", st[0].Chunks, (rm.Read+199)/200)
	resOut, _, code := reckon(t, "--json", "predict", "--model", m, "--input", in, "--out", out, "--chunk", "200")
	var res predictResult
	if code != 3 || json.Unmarshal([]byte(resOut), &res) != nil || res.Resumes != 1 {
		t.Fatalf("resume: exit %d %s", code, resOut)
	}
	for _, pair := range [][2]string{{rm.Files.Predictions, res.Files.Predictions}, {rm.Files.Errors, res.Files.Errors}} {
		a, _ := os.ReadFile(filepath.Join(ref, pair[0]))
		b, _ := os.ReadFile(filepath.Join(out, pair[1]))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s after kill -9 and resume differs from the uninterrupted job's (%d vs %d bytes)", pair[1], len(b), len(a))
		}
	}
	if res.Read != 113801 || res.Read != rm.Read || res.Predicted+res.Failed != res.Read || res.Failed != 1 {
		t.Errorf("counts: %+v vs %+v", res.Manifest, rm.Manifest)
	}
}
