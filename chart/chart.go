// Package chart renders the PNG figures of evaluation reports with
// gonum/plot: nothing is fetched from anywhere, so reports work offline.
package chart

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

const width, height = 7 * vg.Inch, 4 * vg.Inch

// Point is one labelled value.
type Point struct {
	Label string
	X, Y  float64
}

// Curves draws one line per named series against its index (e.g. loss per
// epoch).
func Curves(path, title, xlabel, ylabel string, series map[string][]float64) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	p.Legend.Top = true
	names := make([]string, 0, len(series))
	for n := range series {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		pts := make(plotter.XYs, len(series[n]))
		for j, v := range series[n] {
			pts[j] = plotter.XY{X: float64(j + 1), Y: v}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		p.Add(l)
		p.Legend.Add(n, l)
	}
	p.Add(plotter.NewGrid())
	return save(p, path)
}

// Bars draws one bar per point (e.g. the error of each track), in order.
func Bars(path, title, ylabel string, pts []Point) error {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	vals := make(plotter.Values, len(pts))
	names := make([]string, len(pts))
	for i, pt := range pts {
		vals[i], names[i] = pt.Y, pt.Label
	}
	b, err := plotter.NewBarChart(vals, vg.Points(max(2, 360/float64(max(len(pts), 1)))))
	if err != nil {
		return err
	}
	b.Color = palette[0]
	p.Add(b, plotter.NewGrid())
	if len(pts) <= 40 {
		p.NominalX(names...)
	}
	return save(p, path)
}

// Scatter draws points (e.g. error against reentry altitude).
func Scatter(path, title, xlabel, ylabel string, pts []Point) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	xy := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		xy[i] = plotter.XY{X: pt.X, Y: pt.Y}
	}
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	s.Color = palette[0]
	p.Add(s, plotter.NewGrid())
	return save(p, path)
}

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
}

func save(p *plot.Plot, path string) error {
	if filepath.Ext(path) != ".png" {
		return fmt.Errorf("chart: %s: only .png is written", path)
	}
	return p.Save(width, height, path)
}

// Line is one named XY curve (e.g. a ROC curve).
type Line struct {
	Name string
	X, Y []float64
}

// Lines draws XY curves on [0, 1] axes, with the diagonal when diagonal is
// set (the chance line of a ROC plot).
func Lines(path, title, xlabel, ylabel string, lines []Line, diagonal bool) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
	p.Legend.Top, p.Legend.Left = false, false
	for i, ln := range lines {
		xy := make(plotter.XYs, len(ln.X))
		for j := range ln.X {
			xy[j] = plotter.XY{X: ln.X[j], Y: ln.Y[j]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(ln.Name, l)
	}
	if diagonal {
		d, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			return err
		}
		d.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		d.Color = color.Gray{Y: 150}
		p.Add(d)
	}
	p.Add(plotter.NewGrid())
	return save(p, path)
}

// Matrix draws a confusion matrix: rows are the true classes, columns the
// predicted ones, each cell shaded by its share of its row and labelled
// with its count.
func Matrix(path, title string, labels []string, counts [][]int) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "predicted", "true"
	k := len(labels)
	for i := 0; i < k; i++ {
		var row int
		for _, c := range counts[i] {
			row += c
		}
		for j := 0; j < k; j++ {
			share := 0.0
			if row > 0 {
				share = float64(counts[i][j]) / float64(row)
			}
			// Row i is drawn top-down so the matrix reads like the report.
			y := float64(k - 1 - i)
			poly, err := plotter.NewPolygon(plotter.XYs{{X: float64(j), Y: y}, {X: float64(j + 1), Y: y}, {X: float64(j + 1), Y: y + 1}, {X: float64(j), Y: y + 1}})
			if err != nil {
				return err
			}
			v := uint8(255 - 200*share)
			poly.Color = color.RGBA{R: v, G: v, B: 255, A: 255}
			p.Add(poly)
			lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: float64(j) + 0.45, Y: y + 0.45}}, Labels: []string{fmt.Sprint(counts[i][j])}})
			if err != nil {
				return err
			}
			p.Add(lbl)
		}
	}
	xt, yt := make([]plot.Tick, k), make([]plot.Tick, k)
	for i, l := range labels {
		xt[i] = plot.Tick{Value: float64(i) + 0.5, Label: l}
		yt[i] = plot.Tick{Value: float64(k-1-i) + 0.5, Label: l}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, float64(k), 0, float64(k)
	return save(p, path)
}

// Figures writes a report's PNG files into one directory (created when
// missing) and keeps their paths in order.
type Figures struct {
	Dir   string
	Paths []string
}

// Draw renders one figure named name into the directory; errors name the
// file.
func (f *Figures) Draw(name string, render func(path string) error) error {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(f.Dir, name)
	if err := render(p); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	f.Paths = append(f.Paths, p)
	return nil
}

// Bar is one bar of a Gantt chart: a row (e.g. a VM), a span of time and
// the series it belongs to (e.g. a team), which picks its colour.
type Bar struct {
	Row        int
	Start, End float64
	Series     string
}

// Gantt draws bars along rows against time; path ends in .png or .svg
// (the web UI's format).
func Gantt(path, title, xlabel, rowLabel string, bars []Bar) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, rowLabel
	p.Legend.Top = true
	colour := map[string]color.Color{}
	for _, b := range bars {
		if _, ok := colour[b.Series]; !ok {
			colour[b.Series] = palette[len(colour)%len(palette)]
		}
		poly, err := plotter.NewPolygon(plotter.XYs{
			{X: b.Start, Y: float64(b.Row) - 0.4}, {X: b.End, Y: float64(b.Row) - 0.4},
			{X: b.End, Y: float64(b.Row) + 0.4}, {X: b.Start, Y: float64(b.Row) + 0.4},
		})
		if err != nil {
			return err
		}
		poly.Color = colour[b.Series]
		poly.LineStyle.Color = color.White
		p.Add(poly)
	}
	names := make([]string, 0, len(colour))
	for n := range colour {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		poly, _ := plotter.NewPolygon(plotter.XYs{{}, {}, {}})
		poly.Color = colour[n]
		p.Legend.Add(n, poly)
	}
	p.Add(plotter.NewGrid())
	switch filepath.Ext(path) {
	case ".png", ".svg":
	default:
		return fmt.Errorf("chart: %s: a Gantt chart is written as .png or .svg", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return p.Save(width, height, path)
}
