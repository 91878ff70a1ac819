// Package progress draws a progress bar for long work on a terminal, and a
// sparse log line per interval when the output is not a terminal (CI logs,
// pipes), so long jobs always show they are alive without flooding files.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar reports done/total of one job. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	done     int
	drawn    int // done at the last draw, -1 before the first
	note     string
	start    time.Time
	last     time.Time
	tty      bool
	interval time.Duration
	now      func() time.Time
}

// New returns a bar writing to w. A nil w gives a bar that draws nothing.
func New(w io.Writer, label string, total int) *Bar {
	b := &Bar{w: w, label: label, total: total, now: time.Now, drawn: -1}
	b.start = b.now()
	b.tty = isTerminal(w)
	b.interval = 10 * time.Second
	if b.tty {
		b.interval = 100 * time.Millisecond
	}
	return b
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Set records that done units are complete and redraws when due.
func (b *Bar) Set(done int) {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	if t := b.now(); t.Sub(b.last) >= b.interval {
		b.last = t
		b.draw(false)
	}
}

// SetNote records done and a short status (e.g. the current loss) shown
// after the bar.
func (b *Bar) SetNote(done int, note string) {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	b.note = note
	b.mu.Unlock()
	b.Set(done)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tty && b.drawn == b.done {
		return // the last line already says it
	}
	b.draw(true)
}

func (b *Bar) draw(final bool) {
	b.drawn = b.done
	el := b.now().Sub(b.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(b.done) / s
	}
	eta := "?"
	if rate > 0 && b.total > b.done {
		eta = time.Duration(float64(b.total-b.done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if b.done >= b.total {
		eta = "0s"
	}
	line := Line(b.label, b.done, b.total, rate, eta, el)
	if b.note != "" {
		line += " | " + b.note
	}
	switch {
	case b.tty && final:
		fmt.Fprintf(b.w, "\r%s\n", line)
	case b.tty:
		fmt.Fprintf(b.w, "\r%s", line)
	default:
		fmt.Fprintln(b.w, line)
	}
}

// Line renders one progress line; exported so tests and other reporters
// (e.g. a training loop) share the format.
func Line(label string, done, total int, rate float64, eta string, elapsed time.Duration) string {
	const width = 24
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	return fmt.Sprintf("%s [%s] %d/%d %5.1f%% %.1f/s elapsed %s ETA %s",
		label, bar, done, total, 100*frac, rate, elapsed.Round(time.Second), eta)
}
