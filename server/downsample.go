package server

import "github.com/reckon-ml/reckon/store"

// Downsample keeps at most n points (n >= 4) of a series in step order,
// so that a chart of 100,000 points draws from 2,000 and still shows every
// spike: the first and the last point, and of each of (n-2)/2 equal
// buckets in between its lowest and its highest point (the series'
// extremes are always among them).
func Downsample(pts []store.Point, n int) []store.Point {
	n = max(n, 4)
	if len(pts) <= n {
		return pts
	}
	out := []store.Point{pts[0]}
	inner := pts[1 : len(pts)-1]
	buckets := (n - 2) / 2
	for b := range buckets {
		lo, hi := b*len(inner)/buckets, (b+1)*len(inner)/buckets
		if lo == hi {
			continue
		}
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if inner[i].Value < inner[imin].Value {
				imin = i
			}
			if inner[i].Value > inner[imax].Value {
				imax = i
			}
		}
		first, second := min(imin, imax), max(imin, imax)
		out = append(out, inner[first])
		if second != first {
			out = append(out, inner[second])
		}
	}
	return append(out, pts[len(pts)-1])
}
