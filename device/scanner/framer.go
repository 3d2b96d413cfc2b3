package scanner

import (
	"bytes"
	"fmt"
	"time"
)

// Framing is the byte sequence that ends each code on a serial line: one of
// FramingCR, FramingLF, FramingCRLF, or a custom suffix that the scanner is
// configured to append (for example "\x03" or "#END").
type Framing string

// Framings that scanners commonly use.
const (
	// FramingCR ends a code on a carriage return. A line feed directly after
	// the carriage return is ignored, so a scanner that sends CRLF works too.
	FramingCR Framing = "\r"
	// FramingLF ends a code on a line feed. A carriage return directly
	// before the line feed is removed, so a scanner that sends CRLF works too.
	FramingLF Framing = "\n"
	// FramingCRLF ends a code on a carriage return and line feed; a lone CR
	// or LF stays part of the code.
	FramingCRLF Framing = "\r\n"
)

// maxSuffix is the longest custom suffix accepted.
const maxSuffix = 16

// ParseFraming turns the configuration's framing name into a Framing: "cr",
// "lf", "crlf", or "suffix", which uses suffix as the terminator.
func ParseFraming(name, suffix string) (Framing, error) {
	var f Framing
	switch name {
	case "cr":
		f = FramingCR
	case "lf":
		f = FramingLF
	case "crlf":
		f = FramingCRLF
	case "suffix":
		f = Framing(suffix)
	default:
		return "", fmt.Errorf("scanner: framing %q unknown: use cr, lf, crlf or suffix", name)
	}
	if name != "suffix" && suffix != "" {
		return "", fmt.Errorf("scanner: framing %q takes no suffix: use framing \"suffix\" for a custom terminator", name)
	}
	if err := f.validate(); err != nil {
		return "", err
	}
	return f, nil
}

// String returns the framing as the configuration spells it.
func (f Framing) String() string {
	switch f {
	case FramingCR:
		return "cr"
	case FramingLF:
		return "lf"
	case FramingCRLF:
		return "crlf"
	}
	return fmt.Sprintf("suffix %q", string(f))
}

func (f Framing) validate() error {
	if len(f) == 0 {
		return fmt.Errorf("scanner: framing suffix is empty: set the suffix the scanner appends to each code")
	}
	if len(f) > maxSuffix {
		return fmt.Errorf("scanner: framing suffix of %d bytes is longer than %d bytes", len(f), maxSuffix)
	}
	return nil
}

// FramerConfig configures a Framer.
type FramerConfig struct {
	// Framing is the terminator; required.
	Framing Framing
	// MaxLine is the longest line accepted, in bytes, between 1 and
	// MaxLine; zero means MaxLine.
	MaxLine int
	// IdleGap flushes a line that has no terminator once no byte has arrived
	// for this long; zero never flushes.
	IdleGap time.Duration
}

// Line is one line out of a Framer: either Text or Err is set.
type Line struct {
	// Text is the line without its terminator; never empty when Err is nil.
	// The Framer does not keep it.
	Text []byte
	// Err is a *LineTooLongError for a refused line.
	Err error
	// At is the arrival time of the line's last byte.
	At time.Time
}

// A Framer cuts a byte stream into lines. It is pure: bytes and their
// arrival time go in, lines come out, so the same framing serves serial
// ports, sockets and tests. It holds at most MaxLine plus the terminator's
// length in memory: a longer line is discarded up to its terminator and
// reported as a *LineTooLongError. Empty lines are dropped.
//
// A Framer is not safe for concurrent use.
type Framer struct {
	term  []byte
	max   int
	idle  time.Duration
	slack int // bytes beyond max that may still be stripped off the end

	buf        []byte
	last       time.Time // arrival of the last byte
	discarding bool
	discarded  int
	tail       []byte // the last bytes seen while discarding, to find the terminator
	skipLF     bool   // FramingCR: drop a LF right after the CR
}

// NewFramer returns a Framer for c.
func NewFramer(c FramerConfig) (*Framer, error) {
	if err := c.Framing.validate(); err != nil {
		return nil, err
	}
	max := c.MaxLine
	if max == 0 {
		max = MaxLine
	}
	if max < 0 || max > MaxLine {
		return nil, fmt.Errorf("scanner: line limit %d out of range: use 1 to %d bytes", c.MaxLine, MaxLine)
	}
	if c.IdleGap < 0 {
		return nil, fmt.Errorf("scanner: idle gap %v is negative", c.IdleGap)
	}
	f := &Framer{
		term:  []byte(c.Framing),
		max:   max,
		idle:  c.IdleGap,
		slack: len(c.Framing) - 1,
	}
	if c.Framing == FramingLF {
		f.slack++ // a CR before the LF is stripped
	}
	f.buf = make([]byte, 0, 256)
	f.tail = make([]byte, 0, len(f.term))
	return f, nil
}

// Feed takes bytes that arrived at now and returns the lines they complete.
// A pending line whose idle gap had passed before now is flushed first.
func (f *Framer) Feed(p []byte, now time.Time) []Line {
	var out []Line
	if l, ok := f.Idle(now); ok {
		out = append(out, l)
	}
	if len(p) == 0 {
		return out
	}
	f.last = now
	last := f.term[len(f.term)-1]
	for len(p) > 0 {
		if f.discarding || f.skipLF {
			out = f.feedByte(p[0], now, out)
			p = p[1:]
			continue
		}
		// Fast path: append up to the next byte that can end a
		// terminator; only there can a line end.
		run := p
		if i := bytes.IndexByte(p, last); i >= 0 {
			run = p[:i+1]
		}
		p = p[len(run):]
		if len(f.buf)+len(run) > f.max+f.slack {
			for _, c := range run { // the limit is crossed: byte by byte
				out = f.feedByte(c, now, out)
			}
			continue
		}
		f.buf = append(f.buf, run...)
		if run[len(run)-1] == last {
			out = f.endIfTerminated(now, out)
		}
	}
	return out
}

// feedByte takes one byte on the slow path: while discarding, right after
// a CR terminator, or when the line limit is crossed.
func (f *Framer) feedByte(c byte, now time.Time, out []Line) []Line {
	if f.skipLF {
		f.skipLF = false
		if c == '\n' {
			return out
		}
	}
	if f.discarding {
		f.discarded++
		if len(f.tail) == len(f.term) {
			copy(f.tail, f.tail[1:])
			f.tail = f.tail[:len(f.tail)-1]
		}
		f.tail = append(f.tail, c)
		if bytes.Equal(f.tail, f.term) {
			out = append(out, f.refuse(f.discarded-len(f.term), now))
			f.afterTerminator()
		}
		return out
	}
	f.buf = append(f.buf, c)
	out = f.endIfTerminated(now, out)
	if len(f.buf) > f.max+f.slack {
		f.discarding = true
		f.discarded = len(f.buf)
		keep := len(f.term) - 1
		f.tail = append(f.tail[:0], f.buf[len(f.buf)-keep:]...)
		f.buf = f.buf[:0]
	}
	return out
}

// endIfTerminated ends the line if the buffer ends with the terminator.
func (f *Framer) endIfTerminated(now time.Time, out []Line) []Line {
	if !bytes.HasSuffix(f.buf, f.term) {
		return out
	}
	text := f.buf[:len(f.buf)-len(f.term)]
	if len(f.term) == 1 && f.term[0] == '\n' {
		text = bytes.TrimSuffix(text, []byte{'\r'})
	}
	if l, ok := f.line(text, now); ok {
		out = append(out, l)
	}
	f.afterTerminator()
	return out
}

// Idle flushes the pending line if no byte has arrived for the idle gap
// before now. Trailing CR and LF bytes of a flushed line are removed.
func (f *Framer) Idle(now time.Time) (Line, bool) {
	d, ok := f.Deadline()
	if !ok || now.Before(d) {
		return Line{}, false
	}
	if f.discarding {
		l := f.refuse(f.discarded, f.last)
		f.reset()
		return l, true
	}
	text := bytes.TrimRight(f.buf, "\r\n")
	l, ok := f.line(text, f.last)
	f.reset()
	return l, ok
}

// Deadline returns when Idle will flush the pending line, and false if no
// line is pending or idle flushing is off.
func (f *Framer) Deadline() (time.Time, bool) {
	if f.idle <= 0 || (len(f.buf) == 0 && !f.discarding) {
		return time.Time{}, false
	}
	return f.last.Add(f.idle), true
}

// Pending returns the number of bytes held for the line in progress.
func (f *Framer) Pending() int {
	return len(f.buf) + len(f.tail)
}

// Reset drops the line in progress, as after the device was reopened.
func (f *Framer) Reset() {
	f.reset()
	f.skipLF = false
}

func (f *Framer) line(text []byte, at time.Time) (Line, bool) {
	if len(text) == 0 {
		return Line{}, false
	}
	if len(text) > f.max {
		return f.refuse(len(text), at), true
	}
	return Line{Text: bytes.Clone(text), At: at}, true
}

func (f *Framer) refuse(n int, at time.Time) Line {
	if n <= f.max {
		n = f.max + 1
	}
	return Line{Err: &LineTooLongError{Len: n, Max: f.max}, At: at}
}

func (f *Framer) afterTerminator() {
	f.reset()
	f.skipLF = len(f.term) == 1 && f.term[0] == '\r'
}

func (f *Framer) reset() {
	f.buf = f.buf[:0]
	f.tail = f.tail[:0]
	f.discarding = false
	f.discarded = 0
}
