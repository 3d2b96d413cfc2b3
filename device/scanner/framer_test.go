package scanner

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// lineStrings renders lines as strings, errors as "!toolong".
func lineStrings(ls []Line) []string {
	var out []string
	for _, l := range ls {
		if l.Err != nil {
			var tl *LineTooLongError
			if errors.As(l.Err, &tl) {
				out = append(out, "!toolong")
				continue
			}
			out = append(out, "!"+l.Err.Error())
			continue
		}
		out = append(out, string(l.Text))
	}
	return out
}

func mustFramer(t testing.TB, c FramerConfig) *Framer {
	t.Helper()
	f, err := NewFramer(c)
	if err != nil {
		t.Fatalf("NewFramer(%+v): %v", c, err)
	}
	return f
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name    string
		framing Framing
		max     int
		chunks  []string
		want    []string
	}{
		{"cr", FramingCR, 0, []string{"ABC\rDEF\r"}, []string{"ABC", "DEF"}},
		{"cr accepts crlf", FramingCR, 0, []string{"ABC\r\nDEF\r\n"}, []string{"ABC", "DEF"}},
		{"cr keeps lf inside", FramingCR, 0, []string{"A\nB\r"}, []string{"A\nB"}},
		{"lf", FramingLF, 0, []string{"ABC\nDEF\n"}, []string{"ABC", "DEF"}},
		{"lf accepts crlf", FramingLF, 0, []string{"ABC\r\nDEF\r\n"}, []string{"ABC", "DEF"}},
		{"crlf", FramingCRLF, 0, []string{"ABC\r\nDEF\r\n"}, []string{"ABC", "DEF"}},
		{"crlf keeps lone cr and lf", FramingCRLF, 0, []string{"A\rB\nC\r\n"}, []string{"A\rB\nC"}},
		{"crlf split across reads", FramingCRLF, 0, []string{"ABC\r", "\nDEF\r", "\n"}, []string{"ABC", "DEF"}},
		{"suffix", Framing("#END"), 0, []string{"HC1:ABC#ENDshc:/123#END"}, []string{"HC1:ABC", "shc:/123"}},
		{"suffix split", Framing("#END"), 0, []string{"HC1:A", "BC#E", "N", "D"}, []string{"HC1:ABC"}},
		{"suffix false start", Framing("#END"), 0, []string{"A#EN#END"}, []string{"A#EN"}},
		{"suffix etx", Framing("\x03"), 0, []string{"\x02HC1:X\x03"}, []string{"\x02HC1:X"}},
		{"empty lines dropped", FramingCR, 0, []string{"\r\r\rA\r\r"}, []string{"A"}},
		{"one byte at a time", FramingLF, 0, []string{"H", "C", "1", ":", "\n"}, []string{"HC1:"}},
		{"at the limit", FramingCR, 4, []string{"1234\r"}, []string{"1234"}},
		{"over the limit", FramingCR, 4, []string{"12345\rOK\r"}, []string{"!toolong", "OK"}},
		{"far over the limit", FramingCRLF, 4, []string{strings.Repeat("x", 100), "\r", "\nOK\r\n"}, []string{"!toolong", "OK"}},
		{"lf limit counts without cr", FramingLF, 4, []string{"1234\r\n"}, []string{"1234"}},
		{"lf limit keeps inner cr", FramingLF, 4, []string{"1234\r\r\n"}, []string{"!toolong"}},
		{"suffix over limit split", Framing("#END"), 3, []string{"ABCDEF#E", "ND", "OK#END"}, []string{"!toolong", "OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFramer(t, FramerConfig{Framing: tt.framing, MaxLine: tt.max})
			var got []Line
			for _, c := range tt.chunks {
				got = append(got, f.Feed([]byte(c), t0)...)
			}
			if g := lineStrings(got); strings.Join(g, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", g, tt.want)
			}
			if f.Pending() != 0 {
				t.Errorf("got %d bytes pending, want 0", f.Pending())
			}
		})
	}
}

func TestFramerIdleFlush(t *testing.T) {
	f := mustFramer(t, FramerConfig{Framing: FramingCR, IdleGap: 100 * time.Millisecond})
	if got := f.Feed([]byte("HC1:AB"), t0); len(got) != 0 {
		t.Fatalf("got %q before the idle gap, want nothing", lineStrings(got))
	}
	f.Feed([]byte("C"), t0.Add(60*time.Millisecond))
	d, ok := f.Deadline()
	if want := t0.Add(160 * time.Millisecond); !ok || !d.Equal(want) {
		t.Fatalf("got deadline %v %v, want %v true", d, ok, want)
	}
	if _, ok := f.Idle(t0.Add(159 * time.Millisecond)); ok {
		t.Fatalf("flushed before the idle gap had passed")
	}
	l, ok := f.Idle(t0.Add(160 * time.Millisecond))
	if !ok || string(l.Text) != "HC1:ABC" {
		t.Fatalf("got %q %v, want \"HC1:ABC\" true", l.Text, ok)
	}
	if !l.At.Equal(t0.Add(60 * time.Millisecond)) {
		t.Errorf("got At %v, want the last byte's arrival", l.At)
	}
	if _, ok := f.Deadline(); ok {
		t.Errorf("got a deadline with nothing pending")
	}
}

func TestFramerFeedAfterGapFlushesFirst(t *testing.T) {
	f := mustFramer(t, FramerConfig{Framing: FramingCR, IdleGap: 50 * time.Millisecond})
	f.Feed([]byte("FIRST\n"), t0)
	got := f.Feed([]byte("SECOND\r"), t0.Add(time.Second))
	if g := strings.Join(lineStrings(got), "|"); g != "FIRST|SECOND" {
		t.Errorf("got %q, want \"FIRST|SECOND\" (trailing LF trimmed on idle flush)", g)
	}
}

func TestFramerIdleEndsOversize(t *testing.T) {
	f := mustFramer(t, FramerConfig{Framing: FramingCR, MaxLine: 8, IdleGap: 50 * time.Millisecond})
	f.Feed(bytes.Repeat([]byte("z"), 20), t0)
	l, ok := f.Idle(t0.Add(time.Second))
	var tl *LineTooLongError
	if !ok || !errors.As(l.Err, &tl) {
		t.Fatalf("got %v %v, want a *LineTooLongError", l, ok)
	}
	if tl.Len != 20 || tl.Max != 8 {
		t.Errorf("got Len %d Max %d, want 20 and 8", tl.Len, tl.Max)
	}
	got := f.Feed([]byte("OK\r"), t0.Add(2*time.Second))
	if g := strings.Join(lineStrings(got), "|"); g != "OK" {
		t.Errorf("got %q after the refused line, want \"OK\"", g)
	}
}

func TestFramerBoundedMemory(t *testing.T) {
	f := mustFramer(t, FramerConfig{Framing: FramingCRLF})
	chunk := bytes.Repeat([]byte("HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3"), 100)
	for range 300 { // about 1 MiB with no terminator
		if got := f.Feed(chunk, t0); len(got) != 0 {
			t.Fatalf("got %d lines, want none before the terminator", len(got))
		}
		if p := f.Pending(); p > MaxLine+2 {
			t.Fatalf("got %d bytes pending, want at most %d", p, MaxLine+2)
		}
	}
	if cap(f.buf) > 2*MaxLine+64 {
		t.Errorf("got buffer capacity %d, want bounded near %d", cap(f.buf), MaxLine)
	}
	got := f.Feed([]byte("\r\nHC1:OK\r\n"), t0)
	if g := strings.Join(lineStrings(got), "|"); g != "!toolong|HC1:OK" {
		t.Errorf("got %q, want \"!toolong|HC1:OK\"", g)
	}
	var tl *LineTooLongError
	if errors.As(got[0].Err, &tl); tl.Len != 300*len(chunk) {
		t.Errorf("got Len %d, want %d", tl.Len, 300*len(chunk))
	}
}

func TestFramerMaxLineCode(t *testing.T) {
	// A code of 4,296 characters (the largest QR payload) passes; one
	// byte over MaxLine does not.
	f := mustFramer(t, FramerConfig{Framing: FramingCR})
	big := bytes.Repeat([]byte("A"), 4296)
	got := f.Feed(append(big, '\r'), t0)
	if len(got) != 1 || !bytes.Equal(got[0].Text, big) {
		t.Fatalf("got %d lines, want the 4296-byte code", len(got))
	}
	got = f.Feed(append(bytes.Repeat([]byte("A"), MaxLine), '\r'), t0)
	if len(got) != 1 || got[0].Err != nil {
		t.Fatalf("got %q, want the %d-byte line", lineStrings(got), MaxLine)
	}
	got = f.Feed(append(bytes.Repeat([]byte("A"), MaxLine+1), '\r'), t0)
	if g := lineStrings(got); len(g) != 1 || g[0] != "!toolong" {
		t.Fatalf("got %q, want the %d-byte line refused", g, MaxLine+1)
	}
}

func TestParseFraming(t *testing.T) {
	tests := []struct {
		name, suffix string
		want         Framing
		wantErr      bool
	}{
		{"cr", "", FramingCR, false},
		{"lf", "", FramingLF, false},
		{"crlf", "", FramingCRLF, false},
		{"suffix", "\x03", Framing("\x03"), false},
		{"suffix", "", "", true},
		{"suffix", strings.Repeat("x", 17), "", true},
		{"cr", "x", "", true},
		{"tab", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.suffix, func(t *testing.T) {
			got, err := ParseFraming(tt.name, tt.suffix)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNewFramerRejects(t *testing.T) {
	for _, c := range []FramerConfig{
		{},
		{Framing: FramingCR, MaxLine: MaxLine + 1},
		{Framing: FramingCR, MaxLine: -1},
		{Framing: FramingCR, IdleGap: -time.Second},
	} {
		if _, err := NewFramer(c); err == nil {
			t.Errorf("NewFramer(%+v): got no error, want one", c)
		}
	}
}

func BenchmarkFramer(b *testing.B) {
	f := mustFramer(b, FramerConfig{Framing: FramingCRLF})
	line := append(bytes.Repeat([]byte("6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/"), 9), "\r\n"...)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if got := f.Feed(line, t0); len(got) != 1 {
			b.Fatalf("got %d lines, want 1", len(got))
		}
	}
}
