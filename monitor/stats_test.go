package monitor

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

type fixture struct {
	Name    string   `json:"name"`
	Ref     []any    `json:"ref"`
	Cur     []any    `json:"cur"`
	RefRows int      `json:"ref_rows"`
	Anchor  Result   `json:"anchor"`
	Chi2Raw *float64 `json:"chi2_two_sample"`
}

func column(name string, v []any) Column {
	c := Column{Name: name, Numeric: true}
	for _, x := range v {
		if _, ok := x.(string); ok {
			c.Numeric = false
		}
	}
	for _, x := range v {
		switch x := x.(type) {
		case float64:
			c.Num = append(c.Num, x)
		case string:
			c.Cat = append(c.Cat, x)
		case nil:
			if c.Numeric {
				c.Num = append(c.Num, math.NaN())
			} else {
				c.Cat = append(c.Cat, "")
			}
		}
	}
	return c
}

func near(a, b, tol float64) bool {
	return a == b || math.Abs(a-b) <= tol
}

// TestAgainstTheAnchor: every column of testdata/scipy.json, recorded from
// the anchor's own code (scipy underneath, testdata/fixtures.py), gets the
// anchor's test, the same p-value or distance and PSI within 1e-9, and the
// same verdict; with Evidently's categorical form the chi-squared matches
// it, and the default two-sample form matches scipy's chi2_contingency.
func TestAgainstTheAnchor(t *testing.T) {
	b, err := os.ReadFile("testdata/scipy.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Scipy string    `json:"scipy"`
		Cases []fixture `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 15 {
		t.Fatalf("%d cases", len(fx.Cases))
	}
	worst := 0.0
	tests := map[string]int{}
	for _, c := range fx.Cases {
		ref, cur := column(c.Name, c.Ref), column(c.Name, c.Cur)
		got := Compare(ref, cur, c.RefRows, Options{SharesChiSquare: true})
		a := c.Anchor
		tests[got.Test]++
		worst = math.Max(worst, math.Max(math.Abs(got.Value-a.Value), math.Abs(got.PSI-a.PSI)))
		if got.Test != a.Test || got.Type != a.Type || got.NUnique != a.NUnique || got.Drift != a.Drift || got.Threshold != a.Threshold {
			t.Errorf("%s: %+v, anchor %+v", c.Name, got, a)
		}
		if !near(got.Value, a.Value, 1e-9) || !near(got.PSI, a.PSI, 1e-9) {
			t.Errorf("%s: %s %.15g psi %.15g; scipy %.15g psi %.15g", c.Name, got.Test, got.Value, got.PSI, a.Value, a.PSI)
		}
		if c.Chi2Raw != nil {
			two := Compare(ref, cur, c.RefRows, Options{})
			if !near(two.Value, *c.Chi2Raw, 1e-9) {
				t.Errorf("%s: two-sample chi-squared %.15g, scipy chi2_contingency %.15g", c.Name, two.Value, *c.Chi2Raw)
			}
		}
	}
	t.Logf("%d cases against scipy %s, tests %v: largest difference %.3g", len(fx.Cases), fx.Scipy, tests, worst)
	if len(tests) != 5 {
		t.Errorf("tests covered %v, want all five", tests)
	}
}
