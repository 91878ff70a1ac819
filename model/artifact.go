package model

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/reckon-ml/reckon/atomicfile"
)

// FormatVersion is the newest artifact format this build reads and writes.
// Format 2 added the drift reference (Header.Drift); format 1 files read
// the same, without one.
const FormatVersion = 2

const magic = "reckon-model"

// ErrCorrupt marks a file that is truncated, altered or not an artifact.
var ErrCorrupt = errors.New("corrupt model file")

// ErrNewerFormat marks a file written by a newer reckon.
var ErrNewerFormat = errors.New("model file format is newer than this reckon")

// Tensor is one named float32 array.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// TensorInfo is a tensor's entry in the header.
type TensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Header is the JSON part of an artifact.
type Header struct {
	Format   int                  `json:"format"`
	Kind     string               `json:"kind"`
	Reckon   string               `json:"reckon,omitempty"` // version that trained it
	Hyper    json.RawMessage      `json:"hyperparameters,omitempty"`
	Features json.RawMessage      `json:"features,omitempty"` // fitted feature pipeline
	Schema   json.RawMessage      `json:"schema,omitempty"`   // what inputs it needs
	State    json.RawMessage      `json:"state,omitempty"`    // small non-tensor fitted values
	DataHash string               `json:"data_hash,omitempty"`
	Seed     uint64               `json:"seed"`
	Metrics  map[string]float64   `json:"metrics,omitempty"`
	Curves   map[string][]float64 `json:"curves,omitempty"` // e.g. loss per epoch
	// Drift is the reference profile of the training data (monitor.Profile)
	// that drift checks compare new data with.
	Drift   json.RawMessage `json:"drift,omitempty"`
	Tensors []TensorInfo    `json:"tensors"`
}

// Artifact is a model as stored.
type Artifact struct {
	Header  Header
	Tensors []Tensor
}

// Tensor returns the named tensor, or nil.
func (a *Artifact) Tensor(name string) *Tensor {
	for i := range a.Tensors {
		if a.Tensors[i].Name == name {
			return &a.Tensors[i]
		}
	}
	return nil
}

// Write encodes a as:
//
//	reckon-model <format> <header bytes> <tensor bytes>\n
//	<header JSON><tensors: float32 little-endian, in header order>
//	sha256:<hex of everything above>\n
func Write(w io.Writer, a *Artifact) error {
	h := a.Header
	h.Format = FormatVersion
	h.Tensors = h.Tensors[:0:0]
	var data bytes.Buffer
	for _, t := range a.Tensors {
		n := 1
		for _, s := range t.Shape {
			n *= s
		}
		if n != len(t.Data) {
			return fmt.Errorf("model: tensor %q has %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		h.Tensors = append(h.Tensors, TensorInfo{Name: t.Name, Shape: t.Shape})
		if err := binary.Write(&data, binary.LittleEndian, t.Data); err != nil {
			return err
		}
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "%s %d %d %d\n", magic, FormatVersion, len(hj), data.Len())
	body.Write(hj)
	body.Write(data.Bytes())
	sum := sha256.Sum256(body.Bytes())
	fmt.Fprintf(&body, "sha256:%s\n", hex.EncodeToString(sum[:]))
	_, err = w.Write(body.Bytes())
	return err
}

// Read decodes and verifies an artifact. name is used in messages.
func Read(name string, r io.Reader) (*Artifact, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", name, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	// The preamble first, from at most a few bytes: whatever the file is
	// (/dev/zero, a CSV given by mistake), it is refused before anything
	// else is read, and then no more than the preamble promises is read.
	const maxPreamble = 128
	br := bufio.NewReaderSize(r, maxPreamble)
	head, err := br.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !bytes.HasPrefix(head, []byte(magic+" ")) || !bytes.HasSuffix(head, []byte("\n")) {
		return nil, bad("not a reckon model file (no %q preamble)", magic)
	}
	nl := len(head) - 1
	var format, hlen, dlen int
	if _, err := fmt.Sscanf(string(head[:nl]), magic+" %d %d %d", &format, &hlen, &dlen); err != nil {
		return nil, bad("unreadable preamble %q", head[:nl])
	}
	if format < 1 || hlen < 0 || dlen < 0 {
		return nil, bad("impossible preamble %q", head[:nl])
	}
	b := append([]byte(nil), head...)
	rest, err := io.ReadAll(io.LimitReader(br, int64(hlen)+int64(dlen)+int64(len("sha256:")+64+1+1)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b = append(b, rest...)
	if format > FormatVersion {
		return nil, fmt.Errorf("%s: %w: file format %d, this reckon reads up to %d; upgrade reckon to load it", name, ErrNewerFormat, format, FormatVersion)
	}
	if format < 1 || hlen < 0 || dlen < 0 || dlen%4 != 0 {
		return nil, bad("impossible preamble %q", b[:nl])
	}
	bodyEnd := nl + 1 + hlen + dlen
	const trailer = len("sha256:") + 64 + 1
	if len(b) < bodyEnd+trailer {
		return nil, bad("truncated: %d bytes, the preamble promises %d", len(b), bodyEnd+trailer)
	}
	if len(b) > bodyEnd+trailer {
		return nil, bad("%d unexpected bytes after the checksum", len(b)-bodyEnd-trailer)
	}
	tr := b[bodyEnd:]
	if !bytes.HasPrefix(tr, []byte("sha256:")) || tr[len(tr)-1] != '\n' {
		return nil, bad("missing checksum line")
	}
	sum := sha256.Sum256(b[:bodyEnd])
	if string(tr[len("sha256:"):len(tr)-1]) != hex.EncodeToString(sum[:]) {
		return nil, bad("checksum mismatch: the file was altered or damaged")
	}
	a := &Artifact{}
	if err := json.Unmarshal(b[nl+1:nl+1+hlen], &a.Header); err != nil {
		return nil, bad("header: %v", err)
	}
	data := b[nl+1+hlen : bodyEnd]
	off := 0
	for _, ti := range a.Header.Tensors {
		n := 1
		for _, s := range ti.Shape {
			if s < 0 {
				return nil, bad("tensor %q has a negative dimension", ti.Name)
			}
			n *= s
		}
		if off+4*n > len(data) {
			return nil, bad("tensor %q runs past the data section", ti.Name)
		}
		t := Tensor{Name: ti.Name, Shape: ti.Shape, Data: make([]float32, n)}
		for i := range n {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
		}
		off += 4 * n
		a.Tensors = append(a.Tensors, t)
	}
	if off != len(data) {
		return nil, bad("data section has %d bytes, tensors use %d", len(data), off)
	}
	return a, nil
}

// WriteFile writes a to path atomically: a crash leaves the old file or the
// new one, never half of it.
func WriteFile(path string, a *Artifact) error {
	var b bytes.Buffer
	if err := Write(&b, a); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes())
}

// ReadFile reads and verifies the artifact at path.
func ReadFile(path string) (*Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(path, f)
}
