package scanner

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzEvdev feeds arbitrary bytes as an input_event stream of either layout
// through the decoder and the keyboard: no panic, the same events whatever
// the read sizes, events that re-encode to the same bytes, and lines within
// the limit.
func FuzzEvdev(f *testing.F) {
	recs, _ := filepath.Glob(filepath.Join("testdata", "evdev", "*", "events-*.bin"))
	for _, r := range recs {
		b, err := os.ReadFile(r)
		if err != nil {
			f.Fatal(err)
		}
		l := uint8(0)
		if bytes.Contains([]byte(r), []byte("events-16")) {
			l = 1
		}
		f.Add(b[:min(len(b), 4096)], l, uint8(7), uint8(64))
	}
	w := newTypist(Layout32)
	w.text("HC1:6BF+$%*")
	w.enter()
	f.Add(w.b, uint8(1), uint8(1), uint8(4))
	f.Add([]byte{1, 2, 3}, uint8(0), uint8(0), uint8(0))
	// Compact triples: shift, h, release, caps lock, c, SYN_DROPPED, Enter.
	f.Add([]byte{1, 42, 1, 1, 35, 1, 1, 35, 0, 1, 42, 0, 1, 58, 1, 1, 46, 1, 0, 3, 0, 0, 0, 0, 1, 28, 1}, uint8(2), uint8(0), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, sel, chunk, max uint8) {
		layout := Layout64
		if sel%2 == 1 {
			layout = Layout32
		}
		limit := int(max)%32 + 1
		if sel&2 != 0 {
			// Read data as compact (type, code, value) triples and encode
			// them, so that the keyboard sees plausible key events.
			var b []byte
			for i := 0; i+2 < len(data); i += 3 {
				typ := []uint16{EvSyn, EvKey, EvKey, EvKey, EvMsc}[data[i]%5]
				code := uint16(data[i+1])
				if typ == EvSyn {
					code %= 4
				}
				b = AppendEvent(b, InputEvent{Sec: int64(i), Type: typ, Code: code, Value: int32(data[i+2] % 3)}, layout)
			}
			data = b
		}

		whole, _ := NewEventDecoder(layout)
		evs := whole.Feed(nil, data)
		if want := len(data) / int(layout); len(evs) != want {
			t.Fatalf("got %d events from %d bytes, want %d", len(evs), len(data), want)
		}
		truncated := whole.End() != nil
		if truncated != (len(data)%int(layout) != 0) {
			t.Fatalf("got truncated %v for %d bytes of %d-byte events", truncated, len(data), int(layout))
		}

		parts, _ := NewEventDecoder(layout)
		var frag []InputEvent
		step := int(chunk)%int(layout)*3 + 1
		for rest := data; len(rest) > 0; {
			n := min(step, len(rest))
			frag = parts.Feed(frag, rest[:n])
			rest = rest[n:]
			if len(parts.part) >= int(layout) {
				t.Fatalf("decoder holds %d bytes, want less than one event", len(parts.part))
			}
		}
		if !slices.Equal(evs, frag) {
			t.Fatalf("fragmented reads (step %d) decoded differently", step)
		}

		var enc []byte
		for _, ev := range evs {
			enc = AppendEvent(enc, ev, layout)
		}
		if n := len(evs) * int(layout); !bytes.Equal(enc, data[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, data[:n])
		}

		k, _ := NewKeyboard(KeyboardConfig{MaxLine: limit})
		for _, ev := range evs {
			l, ok := k.Event(ev)
			if !ok {
				continue
			}
			if l.Err == nil && (len(l.Text) == 0 || len(l.Text) > limit) {
				t.Fatalf("got a line of %d bytes, want 1 to %d", len(l.Text), limit)
			}
			for _, c := range l.Text {
				if c >= 0x7f {
					t.Fatalf("got byte %#x in %q, want ASCII", c, l.Text)
				}
			}
			if len(k.buf) != 0 {
				t.Fatalf("keyboard holds %d bytes after a line ended", len(k.buf))
			}
		}
		if len(k.buf) > limit {
			t.Fatalf("keyboard holds %d bytes, want at most %d", len(k.buf), limit)
		}
	})
}
