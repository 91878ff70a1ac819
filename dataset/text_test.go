package dataset

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestTextReader(t *testing.T) {
	// Multibyte runes across the reader's 64 KiB chunks.
	long := strings.Repeat("é,ü,日本\n", 20000)
	for _, c := range []struct {
		name, in, want string
		err            string // substring of the error, with file:line:col
	}{
		{"plain", "a,b\n1,2\n", "a,b\n1,2\n", ""},
		{"bom", "\ufeffa,b\n1,2\n", "a,b\n1,2\n", ""},
		{"crlf kept", "a,b\r\n1,2\r\n", "a,b\r\n1,2\r\n", ""},
		{"old mac", "a,b\r1,2\r3,4", "a,b\n1,2\n3,4", ""},
		{"old mac, last CR", "a,b\r1,2\r", "a,b\n1,2\n", ""},
		{"a CR inside an LF file is kept", "a,b\n\"x\ry\",2\n", "a,b\n\"x\ry\",2\n", ""},
		{"multibyte across chunks", long, long, ""},
		{"latin-1", "name\ncaf\xe9\n", "", "f.csv:2:4: byte 0xe9 is not UTF-8"},
		{"latin-1 header", "d\xe9but,x\n1,2\n", "", "f.csv:1:2: byte 0xe9"},
		{"NUL", "a,b\n1,\x002\n", "", "f.csv:2:3: a NUL byte"},
		{"cut rune at the end", "a\n\xe6\x97", "", "ends inside a UTF-8 sequence"},
		{"line too long", "a\n" + strings.Repeat("x", 101) + "\n", "", "f.csv:2:101: line longer than 100 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := io.ReadAll(NewTextReader("f.csv", strings.NewReader(c.in), Limits{MaxLine: max(100, len(long))}))
			if c.name == "line too long" {
				got, err = io.ReadAll(NewTextReader("f.csv", strings.NewReader(c.in), Limits{MaxLine: 100}))
			}
			if c.err != "" {
				var te *TextError
				if !errors.As(err, &te) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Errorf("got %q %v, want %q", got, err, c.want)
			}
		})
	}
}

// TestUnboundedInputsFailFast: /dev/zero-like input and a giant column
// name fail at once with a short message (issue 12: 4 GB read, 63 s for a
// 10 MB name, the whole cell echoed).
func TestUnboundedInputsFailFast(t *testing.T) {
	t0 := time.Now()
	_, _, err := ReadCSV("zero", bytes.NewReader(make([]byte, 64<<20)), ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("zeros: %v", err)
	}
	name := strings.Repeat("n", 2<<20)
	_, _, err = ReadCSV("wide.csv", strings.NewReader(name+",b\n1,2\n"), ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "2097152 bytes") || len(err.Error()) > 400 {
		t.Errorf("a 2 MiB column name: %.400v", err)
	}
	cell := strings.Repeat("z", 1<<20)
	_, _, err = ReadCSV("cell.csv", strings.NewReader("a,b\n1,2\n"+cell+",3\n"), ReadOptions{Types: map[string]Type{"a": Float}})
	if err == nil || !strings.Contains(err.Error(), "cell.csv:3") || len(err.Error()) > 400 {
		t.Errorf("a 1 MiB bad cell: %.400v", err)
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Logf("slow: %v", d) // not asserted: machines are shared
	}
}

func TestCut(t *testing.T) {
	if Cut("short") != "short" {
		t.Error("short text changed")
	}
	s := strings.Repeat("é", 100) // 200 bytes
	got := Cut(s)
	if !strings.HasSuffix(got, "… (200 bytes)") || !strings.HasPrefix(s, strings.TrimSuffix(got, "… (200 bytes)")) {
		t.Errorf("Cut = %q", got)
	}
}
