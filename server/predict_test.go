package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
)

const tumorCSV = "../examples/tumor/breast_cancer_wisconsin_clean.csv"

// servedTumor registers two real tumor models (logistic as version 1 and
// gbdt as version 2, champion at 1) trained by the fixture's oncology run,
// and returns the table's first rows as JSON objects.
func servedTumor(t testing.TB, f *fixture) (rows []map[string]any, models [2]*tabular.Model) {
	t.Helper()
	ctx := context.Background()
	tb, _, _, err := dataset.ReadCSVFile(tumorCSV, dataset.ReadOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	schema, fr, err := tabular.Prepare(tb, "diagnosis", "malignant")
	if err != nil {
		t.Fatal(err)
	}
	b, err := blobs.Open(ctx, filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.c.Blobs = b
	f.srv.models = newCacheFor(f.srv.c)
	notes, err := b.Put(ctx, []byte("notes of the run\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{f.own, f.other} {
		if err := f.srv.c.Store.LogArtifact(ctx, run, store.Artifact{Name: "notes", Key: notes.Key, SHA256: notes.SHA256, Size: notes.Size}); err != nil {
			t.Fatal(err)
		}
	}
	for i, kind := range []string{tabular.KindLogistic, tabular.KindGBDT} {
		spec := tabular.DefaultSpec(kind)
		if kind == tabular.KindGBDT {
			spec.GBDT.Trees = 30
		}
		fit, err := tabular.Fit(ctx, tabular.Fitting{Spec: spec, Schema: schema, Frame: fr})
		if err != nil {
			t.Fatal(err)
		}
		models[i] = fit.Model
		a, err := fit.Model.FileArtifact("h", "test")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := model.Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		ref, err := b.Put(ctx, buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		alias := ""
		if i == 0 {
			alias = "champion"
		}
		if _, err := f.srv.c.Store.Register(ctx, store.Version{Model: "bcw", RunID: f.own, Kind: kind, Artifact: store.Artifact{Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size}}, alias, "ana", "test"); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // the same model, trained by the other team
			if _, err := f.srv.c.Store.Register(ctx, store.Version{Model: "bcw-reentry", RunID: f.other, Kind: kind, Artifact: store.Artifact{Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size}}, "champion", "bo", "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 5 {
		row := map[string]any{}
		for _, c := range tb.Columns {
			if c.Name != "diagnosis" {
				row[c.Name] = c.Float(i)
			}
		}
		rows = append(rows, row)
	}
	return rows, models
}

func predictBody(rows ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"rows": rows})
	return string(b)
}

// TestPredictOnline: the answer is the model's own probabilities for the
// rows, with the version that gave them; roles and teams as the access
// rule says; a bad row is a 400 naming row and field, or its own error
// with partial=true; CSV bodies work.
func TestPredictOnline(t *testing.T) {
	f := newFixture(t)
	rows, models := servedTumor(t, f)
	code, body := f.send("POST", "/api/v1/models/bcw@champion/predict", f.tokens[auth.Predictor], predictBody(rows...))
	if code != 200 || body["version"] != float64(1) {
		t.Fatalf("%d %v", code, body)
	}
	tb, _, _, _ := dataset.ReadCSVFile(tumorCSV, dataset.ReadOptions{}, "")
	_, fr, _ := tabular.Prepare(tb, "diagnosis", "malignant")
	want, _ := models[0].Proba(fr.Subset([]int{0, 1, 2, 3, 4}))
	preds := body["predictions"].([]any)
	for i, p := range preds {
		pr := p.(map[string]any)["probabilities"].(map[string]any)
		got := pr[models[0].Schema.Classes[0]].(float64)
		if math.Abs(got-want[i*2]) > 1e-12 {
			t.Errorf("row %d: %v, the model says %v", i, got, want[i*2])
		}
	}
	for role, want := range map[auth.Role]int{auth.Admin: 200, auth.Trainer: 200, auth.Predictor: 200, auth.Viewer: 403} {
		if code, body := f.send("POST", "/api/v1/models/bcw:2/predict", f.tokens[role], predictBody(rows[0])); code != want {
			t.Errorf("as %s: %d %v", role, code, body)
		}
	}
	bad := map[string]any{}
	for k, v := range rows[1] {
		bad[k] = v
	}
	bad["mean_radius"] = "big"
	code, body = f.send("POST", "/api/v1/models/bcw@champion/predict", f.tokens[auth.Predictor], predictBody(rows[0], bad))
	if e, _ := body["error"].(map[string]any); code != 400 || e["field"] != "rows[1].mean_radius" {
		t.Errorf("a bad row: %d %v", code, body)
	}
	code, body = f.send("POST", "/api/v1/models/bcw@champion/predict?partial=true", f.tokens[auth.Predictor], predictBody(rows[0], bad))
	if preds, _ := body["predictions"].([]any); code != 200 || len(preds) != 2 || preds[0].(map[string]any)["class"] == nil || preds[1].(map[string]any)["error"] == nil {
		t.Errorf("partial: %d %v", code, body)
	}
	for b, field := range map[string]string{`{"rows": []}`: "rows", `{"rows": [{"nope": 1}]}`: "rows[0].nope", `{"rows": 3}`: "rows"} {
		if code, body := f.send("POST", "/api/v1/models/bcw@champion/predict", f.tokens[auth.Predictor], b); code != 400 || body["error"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %v", b, code, body)
		}
	}
	if code, body := f.send("POST", "/api/v1/models/nope@champion/predict", f.tokens[auth.Predictor], predictBody(rows[0])); code != 404 {
		t.Errorf("no such model: %d %v", code, body)
	}
	// A CSV body: the table's own first lines.
	lines := strings.SplitN(readFile(t, tumorCSV), "\n", 4)
	req := httptest.NewRequest("POST", "/api/v1/models/bcw@champion/predict", strings.NewReader(strings.Join(lines[:3], "\n")+"\n"))
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.Predictor])
	req.Header.Set("Content-Type", "text/csv")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	var res PredictResponse
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != 200 || len(res.Predictions) != 2 {
		t.Errorf("CSV body: %d %s", w.Code, w.Body)
	}
}

// TestAliasMovesUnderLoad: while clients predict without pause, the alias
// moves between two versions 100 times; no request fails, and each answer
// is wholly the version it names.
func TestAliasMovesUnderLoad(t *testing.T) {
	f := newFixture(t)
	f.srv.c.ModelTTL = time.Millisecond
	rows, models := servedTumor(t, f)
	tb, _, _, _ := dataset.ReadCSVFile(tumorCSV, dataset.ReadOptions{}, "")
	_, fr, _ := tabular.Prepare(tb, "diagnosis", "malignant")
	var want [2]float64
	for i, m := range models {
		p, _ := m.Proba(fr.Subset([]int{0}))
		want[i] = p[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]int{}
	var failures []string
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				code, body := f.send("POST", "/api/v1/models/bcw@champion/predict", f.tokens[auth.Predictor], predictBody(rows[0]))
				mu.Lock()
				if code != 200 {
					failures = append(failures, fmt.Sprint(code, body))
				} else {
					v := int(body["version"].(float64))
					seen[v]++
					p := body["predictions"].([]any)[0].(map[string]any)["probabilities"].(map[string]any)[models[0].Schema.Classes[0]].(float64)
					if math.Abs(p-want[v-1]) > 1e-12 {
						failures = append(failures, fmt.Sprintf("version %d answered %v, its model says %v", v, p, want[v-1]))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 100 {
		if err := f.srv.c.Store.MoveAlias(context.Background(), "bcw", "champion", 2-i%2, "ana", "flip"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, the first: %s", len(failures), failures[0])
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Errorf("answers by version: %v (both should have answered)", seen)
	}
	t.Logf("answers by version during 100 alias moves: %v", seen)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMetrics: requests by route and code, and prediction latency, in the
// Prometheus text format; unknown paths are counted as one route.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	rows, _ := servedTumor(t, f)
	f.send("POST", "/api/v1/models/bcw@champion/predict", f.tokens[auth.Predictor], predictBody(rows...))
	f.do("GET", "/api/v1/runs", f.tokens[auth.Viewer])
	f.do("GET", "/no/such/path/1", f.tokens[auth.Viewer])
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.Viewer])
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	body := w.Body.String()
	for _, want := range []string{
		`reckon_http_requests_total{code="200",route="GET /api/v1/runs"} 1`,
		`reckon_http_requests_total{code="404",route="unknown"} 1`,
		`reckon_prediction_duration_seconds_count{model="bcw"} 1`,
		`reckon_prediction_rows_total 5`,
		// The fixture's jobs: six queued per team, none running.
		`reckon_jobs{state="queued",team="oncology"} 6`,
		`reckon_jobs{state="queued",team="reentry"} 6`,
		`reckon_jobs{state="running",team="reentry"} 0`,
		`reckon_http_request_duration_seconds_bucket{route="POST /api/v1/models/{ref}/predict"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestArtifactDownload: the bytes, with their digest.
func TestArtifactDownload(t *testing.T) {
	f := newFixture(t)
	servedTumor(t, f)
	req := httptest.NewRequest("GET", "/api/v1/runs/"+f.own+"/artifacts/notes", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[auth.Viewer])
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	if w.Code != 200 || w.Body.String() != "notes of the run\n" || !strings.HasPrefix(w.Header().Get("Digest"), "sha-256=") {
		t.Errorf("%d %q %v", w.Code, w.Body, w.Header())
	}
	if code, _ := f.do("GET", "/api/v1/runs/"+f.own+"/artifacts/none", f.tokens[auth.Viewer]); code != 404 {
		t.Errorf("a missing artifact: %d", code)
	}
}
