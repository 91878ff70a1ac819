package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits bound what one line and one column name of an input file may
// hold. They exist so that a file that is not a table (/dev/zero, a binary
// dump, a log with no newlines) fails in milliseconds with a message,
// instead of being read into memory for minutes.
type Limits struct {
	// MaxLine is the longest line in bytes (a record of 100,000 numeric
	// columns is about 1 MB).
	MaxLine int
	// MaxName is the longest column name in bytes.
	MaxName int
}

// DefaultLimits are the limits every reader applies; front ends may raise
// them (reckon's --max-line-bytes) before reading.
var DefaultLimits = Limits{MaxLine: 8 << 20, MaxName: 1024}

// TextError locates a problem in an input's bytes.
type TextError struct {
	File         string
	Line, Column int // 1-based; Column counts bytes
	Reason       string
}

func (e *TextError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Reason)
}

// NewTextReader reads an input file as the CSV readers need it: a UTF-8
// byte order mark is dropped; a file whose first line ends in a lone CR
// (old Mac OS) has its lone CRs read as line feeds; anything that is not
// UTF-8 text — invalid bytes, NUL, a line longer than lim.MaxLine — is an
// error naming the file, line and byte column, so that what a model is
// trained on reads back exactly as it was written (no U+FFFD stand-ins).
func NewTextReader(name string, r io.Reader, lim Limits) io.Reader {
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultLimits.MaxLine
	}
	return &textReader{name: name, src: bufio.NewReaderSize(r, 64<<10), lim: lim, line: 1, buf: make([]byte, 64<<10)}
}

type textReader struct {
	name string
	src  *bufio.Reader
	lim  Limits
	buf  []byte
	out  []byte // checked bytes not yet returned
	err  error
	// position of the next byte
	line, col int
	started   bool
	// mode of line endings: 0 undecided, 'n' LF or CRLF, 'r' lone CR
	mode      byte
	pendingCR bool
	partial   []byte // the start of a UTF-8 sequence cut by the chunk
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.out) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		t.fill()
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

func (t *textReader) fail(reason string, args ...any) {
	t.err = &TextError{File: t.name, Line: t.line, Column: t.col + 1, Reason: fmt.Sprintf(reason, args...)}
}

func (t *textReader) fill() {
	if !t.started {
		t.started = true
		if b, _ := t.src.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
			t.src.Discard(3)
		}
	}
	n, err := t.src.Read(t.buf)
	chunk := t.buf[:n]
	if len(t.partial) > 0 {
		chunk = append(t.partial, chunk...)
		t.partial = nil
	}
	out := make([]byte, 0, len(chunk)+1)
	for i := 0; i < len(chunk); {
		c := chunk[i]
		if t.pendingCR {
			t.pendingCR = false
			if t.mode == 0 {
				t.mode = 'n'
				if c != '\n' {
					t.mode = 'r'
				}
			}
			if t.mode == 'r' && c != '\n' {
				out = append(out, '\n')
				t.line, t.col = t.line+1, 0
			} else {
				out = append(out, '\r')
				t.col++
			}
		}
		switch {
		case c == '\r':
			t.pendingCR = true
			i++
			continue
		case c == '\n':
			if t.mode == 0 {
				t.mode = 'n'
			}
			out = append(out, c)
			t.line, t.col = t.line+1, 0
			i++
			continue
		case c == 0:
			t.out = out
			t.fail("a NUL byte: this is not a text (CSV) file")
			return
		case c < utf8.RuneSelf:
			out = append(out, c)
			t.col++
			i++
		default:
			if !utf8.FullRune(chunk[i:]) {
				if err != nil {
					t.out = out
					t.fail("the file ends inside a UTF-8 sequence")
					return
				}
				t.partial = append([]byte(nil), chunk[i:]...)
				i = len(chunk)
				continue
			}
			r, size := utf8.DecodeRune(chunk[i:])
			if r == utf8.RuneError && size <= 1 {
				t.out = out
				t.fail("byte 0x%02x is not UTF-8 (save the file as UTF-8; reckon keeps text exactly and will not guess an encoding)", c)
				return
			}
			out = append(out, chunk[i:i+size]...)
			t.col += size
			i += size
		}
		if t.col > t.lim.MaxLine {
			t.out = out
			t.col-- // name the first byte past the limit
			t.fail("line longer than %d bytes (raise the limit with --max-line-bytes if this really is one record)", t.lim.MaxLine)
			return
		}
	}
	if err != nil {
		if t.pendingCR {
			t.pendingCR = false
			if t.mode == 'r' || t.mode == 0 {
				out = append(out, '\n')
			} else {
				out = append(out, '\r')
			}
		}
		t.err = err
	}
	t.out = out
}
