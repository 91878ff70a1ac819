package store

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	a := Run{ID: "a", Name: "train", Status: Succeeded, Params: map[string]string{"lr": "0.1", "depth": "6"}, Last: map[string]float64{"auc": 0.9, "loss": 0.3}}
	b := Run{ID: "b", Name: "train", Status: Failed, Params: map[string]string{"lr": "0.2", "trees": "100"}, Last: map[string]float64{"auc": 0.9 + 1e-14, "rmse": 2}}
	d := Diff(a, b)
	got := map[string]DiffRow{}
	for _, r := range d.Rows {
		got[r.Key] = r
	}
	want := map[string]DiffRow{
		"name":        {"name", "train", "train", false},
		"status":      {"status", "succeeded", "failed", true},
		"code":        {"code", "", "", false},
		"seed":        {"seed", "0", "0", false},
		"param depth": {"param depth", "6", "-", true},
		"param lr":    {"param lr", "0.1", "0.2", true},
		"param trees": {"param trees", "-", "100", true},
		"metric auc":  {"metric auc", "0.9", "0.9", false}, // within 1e-12
		"metric loss": {"metric loss", "0.3", "-", true},
		"metric rmse": {"metric rmse", "-", "2", true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff rows:\n%+v\nwant\n%+v", got, want)
	}
	if d.Rows[4].Key != "param depth" || d.Rows[len(d.Rows)-1].Key != "metric rmse" {
		t.Errorf("rows not in order: %+v", d.Rows)
	}
}

func TestParseSort(t *testing.T) {
	for _, c := range []struct {
		in     string
		metric string
		desc   bool
		ok     bool
	}{
		{"metric:rmse_s", "rmse_s", false, true},
		{"metric:roc_auc:desc", "roc_auc", true, true},
		{"metric:roc_auc:asc", "roc_auc", false, true},
		{"metric:", "", false, false},
		{"rmse_s", "", false, false},
		{"metric:a:up", "", false, false},
		{"metric:a:desc:x", "", false, false},
	} {
		var q Query
		err := q.ParseSort(c.in)
		if (err == nil) != c.ok || q.SortMetric != c.metric || q.Desc != c.desc {
			t.Errorf("%q: %+v, %v", c.in, q, err)
		}
	}
}
