// Package chart renders the PNG figures of evaluation reports with
// gonum/plot: nothing is fetched from anywhere, so reports work offline.
package chart

import (
	"fmt"
	"image/color"
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
