package dataset

import (
	"bytes"
	"io"
	"testing"
)

// The seed corpus lives in testdata/fuzz and runs as ordinary tests; grow it
// with: go test -fuzz FuzzReadCSV ./dataset

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2,y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []Policy{Fail, SetAside} {
			var errs bytes.Buffer
			opt := ReadOptions{OnError: p}
			if p == SetAside {
				opt.ErrorsTo = &errs
			}
			tab, rep, err := ReadCSV("fuzz.csv", bytes.NewReader(data), opt)
			if err != nil {
				if p == SetAside && tab != nil {
					t.Fatal("table returned with an error")
				}
				continue
			}
			for _, c := range tab.Columns {
				if c.Len() != tab.Rows() || (c.Missing != nil && len(c.Missing) != tab.Rows()) {
					t.Fatalf("column %q has %d values for %d rows", c.Name, c.Len(), tab.Rows())
				}
				for i, code := range c.Codes {
					if code < -1 || int(code) >= len(c.Levels) || (code == -1) != c.IsMissing(i) {
						t.Fatalf("column %q row %d: bad code %d", c.Name, i, code)
					}
				}
			}
			if rep.Rows != tab.Rows() || (p == Fail && rep.SetAside != 0) {
				t.Fatalf("report %+v for %d rows", rep, tab.Rows())
			}
			_ = tab.Hash()
			_ = Summarize(tab, "")
		}
	})
}

func FuzzReadTracks(f *testing.F) {
	f.Add([]byte("track_id,t,x,y,z\n1,0,0,0,100\n1,0.5,1,0,99\n"), []byte("track_id,reentry_time\n1,0.3\n"))
	f.Fuzz(func(t *testing.T, tracks, labels []byte) {
		var lr io.Reader
		if len(labels) > 0 {
			lr = bytes.NewReader(labels)
		}
		ts, err := ReadTracks("tracks.csv", bytes.NewReader(tracks), "labels.csv", lr, TrackOptions{})
		if err != nil {
			return
		}
		for _, tr := range ts.Tracks {
			if tr.Len() < 10 || len(tr.X) != tr.Len() || len(tr.Alt) != tr.Len() {
				t.Fatalf("track %q: %d samples", tr.ID, tr.Len())
			}
			for i := 1; i < tr.Len(); i++ {
				if !(tr.T[i] > tr.T[i-1]) {
					t.Fatalf("track %q: t not increasing at %d", tr.ID, i)
				}
			}
		}
		_ = ts.Hash()
		_ = SummarizeTracks(ts)
	})
}
