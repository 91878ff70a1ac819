package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() *Artifact {
	return &Artifact{
		Header: Header{
			Kind:     "test-kind",
			Hyper:    json.RawMessage(`{"hidden":4}`),
			DataHash: "sha256:abc",
			Seed:     7,
			Metrics:  map[string]float64{"rmse_s": 0.1, "mae_s": 0.05},
		},
		Tensors: []Tensor{
			{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, -6.5}},
			{Name: "b", Shape: []int{3}, Data: []float32{0, 1e-30, 3.4e38}},
		},
	}
}

func encode(t *testing.T, a *Artifact) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTripAndDeterminism(t *testing.T) {
	b := encode(t, sample())
	if !bytes.Equal(b, encode(t, sample())) {
		t.Error("two writes of the same artifact differ")
	}
	a, err := Read("m", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if a.Header.Format != FormatVersion || a.Header.Kind != "test-kind" || a.Header.Seed != 7 || a.Header.Metrics["rmse_s"] != 0.1 {
		t.Errorf("header %+v", a.Header)
	}
	w := a.Tensor("w")
	if w == nil || w.Data[5] != -6.5 || w.Shape[1] != 3 || a.Tensor("b").Data[2] != 3.4e38 {
		t.Errorf("tensors %+v", a.Tensors)
	}
	if !bytes.Equal(b, encode(t, a)) {
		t.Error("re-encoding a read artifact changed its bytes")
	}
}

func TestRefusesDamagedFiles(t *testing.T) {
	good := encode(t, sample())
	for cut := 0; cut < len(good); cut++ {
		if _, err := Read("m", bytes.NewReader(good[:cut])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", cut, err)
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x20
		_, err := Read("m", bytes.NewReader(bad))
		if err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	mid := bytes.Clone(good)
	mid[len(mid)/2] ^= 1
	if _, err := Read("m.rkm", bytes.NewReader(mid)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), "m.rkm") {
		t.Errorf("altered file: %v", err)
	}
	if _, err := Read("m", strings.NewReader("hello")); err == nil || !strings.Contains(err.Error(), "not a reckon model file") {
		t.Errorf("random file: %v", err)
	}
}

func TestRefusesNewerFormat(t *testing.T) {
	b := encode(t, sample())
	b = bytes.Replace(b, fmt.Appendf(nil, "%s %d ", magic, FormatVersion), fmt.Appendf(nil, "%s %d ", magic, FormatVersion+1), 1)
	_, err := Read("m", bytes.NewReader(b))
	if !errors.Is(err, ErrNewerFormat) || !strings.Contains(err.Error(), "upgrade reckon") {
		t.Errorf("newer format: %v", err)
	}
}

func TestWriteRejectsBadShape(t *testing.T) {
	a := sample()
	a.Tensors[0].Shape = []int{4, 4}
	if err := Write(&bytes.Buffer{}, a); err == nil {
		t.Error("tensor with the wrong shape written")
	}
}

type fake struct{ v float64 }

func (f *fake) Kind() string { return "fake" }
func (f *fake) Artifact() (*Artifact, error) {
	st, _ := json.Marshal(f.v)
	return &Artifact{Header: Header{State: st}}, nil
}

func TestRegistry(t *testing.T) {
	Register("fake", func(a *Artifact) (Model, error) {
		f := &fake{}
		return f, json.Unmarshal(a.Header.State, &f.v)
	})
	p := filepath.Join(t.TempDir(), "m.rkm")
	if err := Save(p, &fake{v: 2.5}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(p)
	if err != nil || m.(*fake).v != 2.5 {
		t.Fatalf("loaded %v, %v", m, err)
	}
	a, _ := ReadFile(p)
	a.Header.Kind = "nope"
	WriteFile(p, a)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), `unknown model kind "nope"`) || !strings.Contains(err.Error(), "fake") {
		t.Errorf("unknown kind: %v", err)
	}
	left, _ := os.ReadDir(filepath.Dir(p))
	if len(left) != 1 {
		t.Errorf("atomic writes left %d files", len(left))
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	Register("fake", nil)
}
