package gbdt

import (
	"math"
	"math/rand/v2"
	"slices"
)

// MaxBins is the most value bins a feature can have: bin 0 holds missing
// values and bins 1..255 the values, so a binned feature fits a byte.
const MaxBins = 255

// borders are the upper edges of a feature's value bins: bin b (1-based)
// holds border[b-2] < x <= border[b-1]; the last bin has no upper edge.
type borders []float64

// quantileSample caps the rows used to place borders: quantiles of 200,000
// rows are as good as those of millions and keep fitting linear in rows.
const quantileSample = 200_000

// fitBorders places up to bins-1 borders at quantiles of the non-missing
// values of column f of x (n rows, stride cols). Few distinct values get one
// border between each neighbouring pair.
func fitBorders(x []float64, n, cols, f, bins int, rows []int) borders {
	vals := make([]float64, 0, len(rows))
	for _, r := range rows {
		if v := x[r*cols+f]; !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	radixSort(vals)
	distinct := vals[:1:1]
	counts := []int{1}
	for _, v := range vals[1:] {
		if v == distinct[len(distinct)-1] {
			counts[len(counts)-1]++
			continue
		}
		distinct = append(distinct, v)
		counts = append(counts, 1)
	}
	mid := func(i int) float64 { return distinct[i] + (distinct[i+1]-distinct[i])/2 }
	var b borders
	if len(distinct) <= bins {
		for i := 0; i+1 < len(distinct); i++ {
			b = append(b, mid(i))
		}
		return b
	}
	// Walk the distinct values and close a bin whenever the running count
	// passes the next quantile, so heavy values are never split.
	per := float64(len(vals)) / float64(bins)
	cum := 0
	next := per
	for i := 0; i+1 < len(distinct) && len(b) < bins-1; i++ {
		cum += counts[i]
		if float64(cum) >= next {
			b = append(b, mid(i))
			for next <= float64(cum) {
				next += per
			}
		}
	}
	return b
}

// sampleRows returns the rows used for border placement: all of them, or a
// seeded sample of quantileSample.
func sampleRows(rows []int, seed uint64) []int {
	if len(rows) <= quantileSample {
		return rows
	}
	r := rand.New(rand.NewPCG(seed, 0x9b1d))
	s := slices.Clone(rows)
	for i := 0; i < quantileSample; i++ {
		j := i + r.IntN(len(s)-i)
		s[i], s[j] = s[j], s[i]
	}
	s = s[:quantileSample]
	slices.Sort(s)
	return s
}

// bin maps a value to its bin: 0 for missing, else 1 + the number of borders
// below it.
func (b borders) bin(v float64) uint8 {
	if math.IsNaN(v) {
		return 0
	}
	// Binning touches every cell of the matrix: the lower bound is the
	// branch-free one prediction uses.
	return uint8(1 + countBelow(b, v))
}

// radixSort sorts non-NaN float64s ascending by their bits (sign-flipped
// so unsigned order is numeric order), 16 bits per pass: fitting borders
// sorts every column, and pdqsort's comparisons dominated fitting small data.
func radixSort(v []float64) {
	if len(v) < 256 {
		slices.Sort(v)
		return
	}
	keys := make([]uint64, len(v))
	for i, x := range v {
		u := math.Float64bits(x)
		if u>>63 == 1 {
			u = ^u
		} else {
			u |= 1 << 63
		}
		keys[i] = u
	}
	tmp := make([]uint64, len(v))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&0xffff]++
		}
		if count[(keys[0]>>shift)&0xffff] == len(keys) {
			continue // every key has the same digit: nothing to move
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range keys {
			d := (k >> shift) & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, u := range keys {
		if u>>63 == 1 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		v[i] = math.Float64frombits(u)
	}
}

// threshold is the split value for "bin <= s goes left": values <= it go left.
// Split 0 sends only missing values left.
func (b borders) threshold(s int) float64 {
	if s == 0 {
		return math.Inf(-1)
	}
	return b[s-1]
}
