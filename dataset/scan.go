package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// RowFunc takes one record: its 1-based line in the file and its fields,
// which are only valid during the call.
type RowFunc func(line int, fields [][]byte) error

// scanBlock is how much of the stream a worker takes at a time.
var scanBlock = 4 << 20 // a variable for tests

// ScanCSV streams a CSV file (RFC 4180: quoted fields may hold commas,
// doubled quotes and newlines) through several goroutines without holding
// it: the stream is cut into blocks at record ends, block i goes to worker
// i mod len(rows), and each worker calls its own RowFunc, so a RowFunc
// needs no locks. start gets the header's names and returns the RowFuncs
// (one per goroutine wanted). Memory is a few blocks per worker, whatever
// the file's size. The first error in file order is returned, with name
// and line; cancelling ctx stops the scan.
func ScanCSV(ctx context.Context, name string, r io.Reader, start func(header []string) ([]RowFunc, error)) error {
	sc := &splitter{r: r, buf: make([]byte, 0, scanBlock)}
	first, err := sc.next()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(first) == 0 {
		return fmt.Errorf("%s: empty file: no header line", name)
	}
	var header []string
	rest, err := eachRecord(first, 1, 0, func(line int, f [][]byte) error {
		for _, b := range f {
			header = append(header, string(b))
		}
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("%s:%w", name, err)
	}
	hdrLines := bytes.Count(first[:len(first)-len(rest)], []byte{'\n'})
	if err := checkHeader(name, header); err != nil {
		return err
	}
	rows, err := start(header)
	if err != nil {
		return err
	}
	width := len(header)
	type block struct {
		data  []byte
		line  int
		index int
	}
	type failure struct {
		index int
		err   error
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []failure
	)
	failed := make(chan struct{})
	var once sync.Once
	fail := func(i int, err error) {
		mu.Lock()
		fails = append(fails, failure{i, err})
		mu.Unlock()
		once.Do(func() { close(failed) })
	}
	free := make(chan []byte, 2*len(rows)+2)
	queues := make([]chan block, len(rows))
	for w := range rows {
		queues[w] = make(chan block, 2)
		wg.Add(1)
		go func(q chan block, row RowFunc) {
			defer wg.Done()
			for b := range q {
				_, err := eachRecord(b.data, b.line, width, row)
				if err != nil {
					fail(b.index, fmt.Errorf("%s:%w", name, err))
				}
				select {
				case free <- b.data[:0]:
				default:
				}
			}
		}(queues[w], rows[w])
	}
	send := func(i int, b block) bool {
		select {
		case queues[i%len(queues)] <- b:
			return true
		case <-failed:
			return false
		case <-ctx.Done():
			return false
		}
	}
	line := 1 + hdrLines
	i := 0
	data := rest
	for {
		if len(data) > 0 {
			b := block{data: data, line: line, index: i}
			line += bytes.Count(data, []byte{'\n'})
			if !send(i, b) {
				break
			}
			i++
		}
		select {
		case sc.spare = <-free:
		default:
			sc.spare = nil
		}
		data, err = sc.next()
		if err != nil {
			fail(i, fmt.Errorf("%s: %w", name, err))
			break
		}
		if data == nil {
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(fails) > 0 {
		best := fails[0]
		for _, f := range fails {
			if f.index < best.index {
				best = f
			}
		}
		return best.err
	}
	return nil
}

var errStop = errors.New("stop")

// splitter cuts a stream into blocks that end at a record's end.
type splitter struct {
	r     io.Reader
	buf   []byte // the unfinished record after the last block
	spare []byte // a returned block to read the next into
	eof   bool
}

// next is the next block of whole records (the last may lack its
// newline), nil at the end.
func (s *splitter) next() ([]byte, error) {
	for {
		if s.eof {
			if len(s.buf) == 0 {
				return nil, nil
			}
			out := s.buf
			s.buf = nil
			return out, nil
		}
		if cut := lastRecordEnd(s.buf); cut > 0 && len(s.buf) >= scanBlock {
			out := s.buf[:cut]
			next := s.spare
			if cap(next) < scanBlock {
				next = make([]byte, 0, scanBlock)
			}
			s.buf = append(next[:0], s.buf[cut:]...)
			s.spare = nil
			return out, nil
		}
		if len(s.buf) == cap(s.buf) {
			grown := make([]byte, len(s.buf), 2*cap(s.buf)+1)
			copy(grown, s.buf)
			s.buf = grown
		}
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return nil, err
		}
	}
}

// lastRecordEnd is the index after the last newline outside quotes in b
// (which starts outside quotes), or 0.
func lastRecordEnd(b []byte) int {
	if bytes.IndexByte(b, '"') < 0 {
		return bytes.LastIndexByte(b, '\n') + 1
	}
	end, quoted := 0, false
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\n' && !quoted:
			end = i + 1
		}
	}
	return end
}

// eachRecord calls row for every record of b, which holds whole records
// starting at line; width > 0 requires that many fields. It returns what
// is left when row stops it with errStop.
func eachRecord(b []byte, line, width int, row RowFunc) ([]byte, error) {
	fields := make([][]byte, 0, max(width, 16))
	var unq []byte // unquoted copies of quoted fields
	for len(b) > 0 {
		start := line
		fields, unq = fields[:0], unq[:0]
		// Fields until the end of the line.
		for {
			if len(b) > 0 && b[0] == '"' {
				// A quoted field: up to the lone closing quote.
				i := 1
				from := len(unq)
				for {
					j := bytes.IndexByte(b[i:], '"')
					if j < 0 {
						return nil, fmt.Errorf("%d: a quoted field is not closed", start)
					}
					seg := b[i : i+j]
					line += bytes.Count(seg, []byte{'\n'})
					unq = append(unq, seg...)
					i += j + 1
					if i < len(b) && b[i] == '"' {
						unq = append(unq, '"')
						i++
						continue
					}
					break
				}
				fields = append(fields, unq[from:len(unq):len(unq)])
				b = b[i:]
				if len(b) > 0 && b[0] != ',' && b[0] != '\n' && b[0] != '\r' {
					return nil, fmt.Errorf("%d: text after a quoted field's closing quote", start)
				}
			} else {
				j := 0
				for j < len(b) && b[j] != ',' && b[j] != '\n' {
					j++
				}
				f := b[:j]
				if j < len(b) && b[j] == '\n' || j == len(b) {
					f = bytes.TrimSuffix(f, []byte{'\r'})
				}
				fields = append(fields, f)
				b = b[j:]
			}
			if len(b) > 0 && b[0] == '\r' {
				b = b[1:]
			}
			if len(b) == 0 || b[0] == '\n' {
				break
			}
			b = b[1:] // the comma
		}
		if len(b) > 0 {
			b = b[1:] // the newline
		}
		line++
		if len(fields) == 1 && len(fields[0]) == 0 {
			continue // an empty line
		}
		if width > 0 && len(fields) != width {
			return nil, fmt.Errorf("%d: %d fields, the header has %d", start, len(fields), width)
		}
		if err := row(start, fields); err != nil {
			if errors.Is(err, errStop) {
				return b, err
			}
			return nil, err
		}
	}
	return nil, nil
}
