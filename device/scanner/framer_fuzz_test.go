package scanner

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

var fuzzFramings = []Framing{FramingCR, FramingLF, FramingCRLF, Framing("#END"), Framing("\x03"), Framing("aXa")}

// refFrame is the framer's specification written as a whole-input split,
// without streaming: the fuzz target checks that the streaming Framer agrees
// with it whatever the fragmentation.
func refFrame(data []byte, fr Framing, max int) []string {
	pieces := bytes.Split(data, []byte(fr))
	pieces = pieces[:len(pieces)-1] // the last piece has no terminator yet
	var out []string
	for i, p := range pieces {
		switch fr {
		case FramingCR:
			if i > 0 {
				p = bytes.TrimPrefix(p, []byte{'\n'})
			}
		case FramingLF:
			p = bytes.TrimSuffix(p, []byte{'\r'})
		}
		switch {
		case len(p) == 0:
		case len(p) > max:
			out = append(out, "!toolong")
		default:
			out = append(out, string(p))
		}
	}
	return out
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte("HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3\r\n"), uint8(2), uint8(200), uint64(0))
	f.Add([]byte("shc:/567629095243206034602924374044603122295953265460346029254077280433602870286471674522280928613331456437653141590640220306450459085643550341424541364037063665417137241236380304375622046737407532323925433443326057360106452931611232742528435076507003:"), uint8(0), uint8(255), uint64(12345))
	f.Add([]byte("A\r\r\nB\n\r\nC#EN#ENDD\x03"), uint8(3), uint8(4), uint64(0xdeadbeef))
	f.Add([]byte("aXaXaXa"), uint8(5), uint8(1), uint64(7))
	f.Add(bytes.Repeat([]byte("x"), 300), uint8(1), uint8(16), uint64(99))
	f.Fuzz(func(t *testing.T, data []byte, sel, max uint8, cuts uint64) {
		fr := fuzzFramings[int(sel)%len(fuzzFramings)]
		limit := int(max)%64 + 1
		fm := mustFramer(t, FramerConfig{Framing: fr, MaxLine: limit, IdleGap: 10 * time.Millisecond})

		// Feed in fragments chosen by cuts, with no idle gap.
		var got []Line
		rest := data
		for len(rest) > 0 {
			n := int(cuts%7) + 1
			cuts = cuts/7 ^ cuts<<13
			n = min(n, len(rest))
			got = append(got, fm.Feed(rest[:n], t0)...)
			rest = rest[n:]
			if p := fm.Pending(); p > limit+len(fr)+1 {
				t.Fatalf("got %d bytes pending, want at most %d", p, limit+len(fr)+1)
			}
		}
		want := refFrame(data, fr, limit)
		if g := lineStrings(got); !slices.Equal(g, want) {
			t.Fatalf("framing %v limit %d: got %q, want %q", fr, limit, g, want)
		}
		for _, l := range got {
			if l.Err != nil {
				tl := l.Err.(*LineTooLongError)
				if tl.Len <= tl.Max || tl.Max != limit {
					t.Fatalf("got Len %d Max %d, want Len > Max = %d", tl.Len, tl.Max, limit)
				}
			}
		}

		// The idle flush never yields an empty, oversized or terminated line.
		if l, ok := fm.Idle(t0.Add(time.Second)); ok && l.Err == nil {
			if len(l.Text) == 0 || len(l.Text) > limit || bytes.Contains(l.Text, []byte(fr)) {
				t.Fatalf("idle flush: got %q, want 1 to %d bytes without the terminator", l.Text, limit)
			}
		}
		if fm.Pending() != 0 {
			t.Fatalf("got %d bytes pending after the idle flush, want 0", fm.Pending())
		}
	})
}
