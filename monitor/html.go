package monitor

import (
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
)

// Hist is one column's distribution on both sides, as shares of bins:
// equal-width bins over both sides' range for numbers, the most frequent
// categories (the rest as "other") for categories.
type Hist struct {
	Labels []string  `json:"labels"`
	Ref    []float64 `json:"ref"`
	Cur    []float64 `json:"cur"`
}

// histOf bins a column's two sides for the report.
func histOf(a, b *ColumnProfile) Hist {
	if a.Numeric() {
		if a.Count+b.Count == 0 {
			return Hist{}
		}
		lo, hi := a.Min, a.Max
		switch {
		case a.Count == 0:
			lo, hi = b.Min, b.Max
		case b.Count > 0:
			lo, hi = math.Min(lo, b.Min), math.Max(hi, b.Max)
		}
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		edges := linspace(lo, hi, 21)
		h := Hist{Ref: shares(binCounts(a, edges)), Cur: shares(binCounts(b, edges))}
		for i := range 20 {
			h.Labels = append(h.Labels, strconv.FormatFloat(edges[i], 'g', 4, 64))
		}
		return h
	}
	keys, rc, cc, _ := keyCounts(a, b)
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return rc[order[i]]+cc[order[i]] > rc[order[j]]+cc[order[j]] })
	var h Hist
	var restR, restC float64
	for n, i := range order {
		if n < 15 {
			h.Labels, h.Ref, h.Cur = append(h.Labels, keys[i]), append(h.Ref, rc[i]), append(h.Cur, cc[i])
		} else {
			restR, restC = restR+rc[i], restC+cc[i]
		}
	}
	if len(order) > 15 {
		h.Labels, h.Ref, h.Cur = append(h.Labels, "other"), append(h.Ref, restR), append(h.Cur, restC)
	}
	h.Ref, h.Cur = shares(h.Ref), shares(h.Cur)
	return h
}

// Severity orders columns for people: drifting ones first, then by how far
// past (or short of) its threshold each is.
func Severity(r Result) float64 {
	s := r.Value / r.Threshold
	if r.Test == "ks" || r.Test == "z" || r.Test == "chisquare" {
		s = r.Threshold / math.Max(r.Value, 1e-300)
	}
	if r.Drift {
		s += 1e6
	}
	return s
}

type bar struct{ X, XCur, YRef, HRef, YCur, HCur, W float64 }

type plot struct {
	Result
	Bars  []bar
	First string
	Last  string
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>reckon monitor: {{.Title}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
.col{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}
.drift h3{color:#b00}
h3{font-size:14px;margin:.2em 0}
.k{color:#666;font-size:12px}
</style></head><body>
<h1>{{if .Report.DatasetDrift}}Dataset drift{{else}}No dataset drift{{end}}: {{.Report.Drifted}} of {{len .Report.Columns}} columns</h1>
<p class="k">reference {{.Report.RefRows}} rows, current {{.Report.CurRows}} rows; grey: reference, blue: current (shares of each bin); worst first</p>
{{range .Plots}}<div class="col{{if .Drift}} drift{{end}}">
<h3>{{.Column}}: {{if .Drift}}DRIFT{{else}}no drift{{end}}</h3>
<div class="k">{{.Test}} {{printf "%.4g" .Value}} (threshold {{.Threshold}}), PSI {{printf "%.3f" .PSI}}</div>
<svg width="300" height="130" viewBox="0 0 300 130" role="img" aria-label="{{.Column}}">
{{range .Bars}}<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .YRef}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .HRef}}" fill="#bbb"/><rect x="{{printf "%.1f" .XCur}}" y="{{printf "%.1f" .YCur}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .HCur}}" fill="#3a78c2"/>
{{end}}<line x1="0" y1="110" x2="300" y2="110" stroke="#999"/>
<text x="0" y="125" font-size="10">{{.First}}</text><text x="300" y="125" font-size="10" text-anchor="end">{{.Last}}</text>
</svg></div>
{{end}}</body></html>
`))

// HTML writes the report as one self-contained page: per column its
// verdict and the two sides' histograms as inline SVG, worst first; no
// scripts, styles or images from elsewhere, so it opens offline.
func HTML(w io.Writer, title string, rep *Report) error {
	var plots []plot
	for _, r := range rep.Columns {
		p := plot{Result: r}
		h := rep.Histograms[r.Column]
		top := 0.0
		for i := range h.Ref {
			top = math.Max(top, math.Max(h.Ref[i], h.Cur[i]))
		}
		if n := len(h.Ref); n > 0 && top > 0 {
			slot := 300 / float64(n)
			for i := range h.Ref {
				hr, hc := 100*h.Ref[i]/top, 100*h.Cur[i]/top
				p.Bars = append(p.Bars, bar{X: float64(i) * slot, XCur: float64(i)*slot + slot*0.45, W: slot * 0.45, YRef: 110 - hr, HRef: hr, YCur: 110 - hc, HCur: hc})
			}
			p.First, p.Last = h.Labels[0], h.Labels[len(h.Labels)-1]
		}
		plots = append(plots, p)
	}
	sort.SliceStable(plots, func(i, j int) bool { return Severity(plots[i].Result) > Severity(plots[j].Result) })
	return page.Execute(w, struct {
		Title  string
		Report *Report
		Plots  []plot
	}{title, rep, plots})
}
