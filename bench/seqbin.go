package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Seqbin is a regression set of N sequences of T steps with F features, in
// the anchors' seqbin layout (little-endian int32 N, T, F, then N*T*F
// float32 X in [n][t][f] order, then N float32 targets).
type Seqbin struct {
	N, T, F int
	X       []float32
	Y       []float32
}

// ReadSeqbin reads and checks a seqbin file.
func ReadSeqbin(path string) (*Seqbin, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [3]int32
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	n, t, fe := int(hdr[0]), int(hdr[1]), int(hdr[2])
	if n <= 0 || t <= 0 || fe <= 0 || int64(n)*int64(t)*int64(fe) > 1<<31 {
		return nil, fmt.Errorf("%s: implausible shape N=%d T=%d F=%d; is this a seqbin file?", path, n, t, fe)
	}
	s := &Seqbin{N: n, T: t, F: fe, X: make([]float32, n*t*fe), Y: make([]float32, n)}
	if err := binary.Read(r, binary.LittleEndian, s.X); err != nil {
		return nil, fmt.Errorf("%s: truncated: expected %d feature values: %w", path, len(s.X), err)
	}
	if err := binary.Read(r, binary.LittleEndian, s.Y); err != nil {
		return nil, fmt.Errorf("%s: truncated: expected %d targets: %w", path, n, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing bytes after N=%d T=%d F=%d", path, n, t, fe)
	}
	for i, v := range s.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%s: non-finite feature at sequence %d", path, i/(t*fe))
		}
	}
	return s, nil
}
