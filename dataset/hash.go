package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"strings"
)

// hasher writes a canonical, unambiguous byte encoding: every string is
// length-prefixed and every number has a fixed width, so no two different
// datasets share an encoding.
type hasher struct {
	h   hash.Hash
	buf [8]byte
}

func newHasher(kind string) *hasher {
	h := &hasher{h: sha256.New()}
	h.str(kind)
	return h
}

func (h *hasher) u64(v uint64) {
	binary.LittleEndian.PutUint64(h.buf[:], v)
	h.h.Write(h.buf[:])
}

// f64 hashes the value, with every NaN (missing) as one bit pattern and -0 as 0.
func (h *hasher) f64(v float64) {
	switch {
	case math.IsNaN(v):
		h.u64(0x7ff8000000000001)
	case v == 0:
		h.u64(0)
	default:
		h.u64(math.Float64bits(v))
	}
}

func (h *hasher) str(s string) {
	h.u64(uint64(len(s)))
	h.h.Write([]byte(s))
}

func (h *hasher) sum() string { return "sha256:" + hex.EncodeToString(h.h.Sum(nil)) }

// Hash is the table's content version: the sha256 of its column names,
// types and parsed values. Columns are taken in name order, since a column's
// position carries no meaning; rows are taken in file order, since seeded
// splits and fold files refer to row positions, so reordering rows changes
// what a run trains on. Number formatting ("1.0" vs "1") does not matter.
func (t *Table) Hash() string {
	h := newHasher("reckon/table/v1")
	cols := make([]*Column, len(t.Columns))
	for i := range t.Columns {
		cols[i] = &t.Columns[i]
	}
	slices.SortFunc(cols, func(a, b *Column) int { return strings.Compare(a.Name, b.Name) })
	h.u64(uint64(len(cols)))
	h.u64(uint64(t.Rows()))
	for _, c := range cols {
		h.str(c.Name)
		h.str(c.Type.String())
		n := c.Len()
		for i := range n {
			if c.IsMissing(i) {
				h.u64(1)
				continue
			}
			h.u64(0)
			switch c.Type {
			case Float:
				h.f64(c.Floats[i])
			case Int:
				h.u64(uint64(c.Ints[i]))
			case Categorical:
				h.str(c.Levels[c.Codes[i]])
			}
		}
	}
	return h.sum()
}

// Hash is the track set's content version: the sha256 of its usable tracks
// (id, then t, x, y, z in time order) and labels, with tracks and labels in
// id order. File row order, interleaving, number formatting, the derived alt
// column and unknown extra columns do not change it.
func (ts *TrackSet) Hash() string {
	h := newHasher("reckon/tracks/v1")
	tracks := slices.Clone(ts.Tracks)
	slices.SortFunc(tracks, func(a, b Track) int { return strings.Compare(a.ID, b.ID) })
	h.u64(uint64(len(tracks)))
	for _, t := range tracks {
		h.str(t.ID)
		h.u64(uint64(t.Len()))
		for i := range t.T {
			h.f64(t.T[i])
			h.f64(t.X[i])
			h.f64(t.Y[i])
			h.f64(t.Z[i])
		}
		if t.Rdot != nil {
			for _, v := range t.Rdot {
				h.f64(v)
			}
		}
	}
	ids := make([]string, 0, len(ts.Labels))
	for id := range ts.Labels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h.u64(uint64(len(ids)))
	for _, id := range ids {
		l := ts.Labels[id]
		h.str(id)
		if l.Reenters {
			h.u64(1)
		} else {
			h.u64(0)
		}
		h.u64(uint64(int64(l.ReentryIndex)))
		for _, v := range []float64{l.ReentryTime, l.ReentryAltitude, l.Beta, l.Horizon, l.TCut} {
			h.f64(v)
		}
		h.str(l.SourceTrack)
	}
	return h.sum()
}
