package scanner

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the input_event recordings in testdata/evdev")

// Key codes from linux/input-event-codes.h, written out here independently
// of the package's keymap so that the recordings test it.
var testLayout = func() map[byte]struct {
	code  uint16
	shift bool
} {
	m := map[byte]struct {
		code  uint16
		shift bool
	}{}
	add := func(first uint16, plain, shifted string) {
		for i := range len(plain) {
			m[plain[i]] = struct {
				code  uint16
				shift bool
			}{first + uint16(i), false}
			m[shifted[i]] = struct {
				code  uint16
				shift bool
			}{first + uint16(i), true}
		}
	}
	add(2, "1234567890-=", "!@#$%^&*()_+")   // KEY_1 = 2 … KEY_EQUAL = 13
	add(16, "qwertyuiop[]", "QWERTYUIOP{}")  // KEY_Q = 16 … KEY_RIGHTBRACE = 27
	add(30, "asdfghjkl;'`", "ASDFGHJKL:\"~") // KEY_A = 30 … KEY_GRAVE = 41
	add(43, "\\zxcvbnm,./", "|ZXCVBNM<>?")   // KEY_BACKSLASH = 43 … KEY_SLASH = 53
	m[' '] = struct {
		code  uint16
		shift bool
	}{57, false}
	return m
}()

// hidUsage returns the USB HID usage that a scanner reports in MSC_SCAN
// for a key, 0 if the recording leaves it out.
func hidUsage(code uint16) int32 {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for c, k := range testLayout {
		if k.code != code || k.shift {
			continue
		}
		switch {
		case c >= 'a' && c <= 'z':
			return 0x70004 + int32(strings.IndexByte(letters, c))
		case c >= '1' && c <= '9':
			return 0x7001e + int32(c-'1')
		case c == '0':
			return 0x70027
		}
	}
	switch code {
	case keyEnter:
		return 0x70028
	case keyLeftShift:
		return 0x700e1
	case keyRightShift:
		return 0x700e5
	case keyLeftCtrl:
		return 0x700e0
	case keyCapsLock:
		return 0x70039
	case keyKPEnter:
		return 0x70058
	}
	return 0
}

// typist writes the input_event stream that a keyboard-wedge scanner
// produces: MSC_SCAN, EV_KEY and SYN_REPORT for each press and release.
type typist struct {
	l     EventLayout
	t     time.Time
	b     []byte
	shift uint16 // the shift key this scanner uses
}

func newTypist(l EventLayout) *typist {
	return &typist{l: l, t: time.Date(2026, 3, 1, 8, 0, 0, 123000, time.UTC), shift: keyLeftShift}
}

func (w *typist) ev(typ, code uint16, v int32) {
	w.b = AppendEvent(w.b, EventAt(w.t, typ, code, v), w.l)
}

func (w *typist) key(code uint16, v int32) {
	if u := hidUsage(code); u != 0 && v != 2 {
		w.ev(EvMsc, 4, u) // MSC_SCAN
	}
	w.ev(EvKey, code, v)
	w.ev(EvSyn, SynReport, 0)
	w.t = w.t.Add(3 * time.Millisecond)
}

func (w *typist) tap(code uint16) {
	w.key(code, 1)
	w.key(code, 0)
}

func (w *typist) text(s string) {
	for i := range len(s) {
		k, ok := testLayout[s[i]]
		if !ok {
			panic(fmt.Sprintf("typist: no key for %q", s[i]))
		}
		if k.shift {
			w.key(w.shift, 1)
		}
		w.tap(k.code)
		if k.shift {
			w.key(w.shift, 0)
		}
	}
}

func (w *typist) keypadDigits(s string) {
	kp := map[byte]uint16{'7': 71, '8': 72, '9': 73, '4': 75, '5': 76, '6': 77, '1': 79, '2': 80, '3': 81, '0': 82}
	for i := range len(s) {
		w.tap(kp[s[i]])
	}
}

func (w *typist) enter() { w.tap(keyEnter) }

// evdevCase is one recording: how it is made and what it must decode to.
type evdevCase struct {
	name   string
	layout EventLayout
	record func(w *typist)
	want   []string // `code "…"` or `error kind`
}

func shcNumeric(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%02d", (i*37+11)%77)
	}
	return b.String()[:n]
}

var evdevCases = []evdevCase{
	{
		name: "hc1-300-amd64", layout: Layout64,
		record: func(w *typist) { w.text(hc1Line(300, 2)); w.enter() },
		want:   []string{"code " + strconv.Quote(hc1Line(300, 2))},
	},
	{
		name: "hc1-300-arm", layout: Layout32,
		record: func(w *typist) { w.text(hc1Line(300, 2)); w.enter() },
		want:   []string{"code " + strconv.Quote(hc1Line(300, 2))},
	},
	{
		name: "shc-keypad-kpenter", layout: Layout64,
		record: func(w *typist) {
			w.shift = keyRightShift
			w.text("shc:/")
			w.keypadDigits(shcNumeric(160))
			w.tap(keyKPEnter)
		},
		want: []string{"code " + strconv.Quote("shc:/"+shcNumeric(160))},
	},
	{
		name: "autorepeat-ignored", layout: Layout64,
		record: func(w *typist) {
			w.text("HC1:A")
			w.key(48, 1) // KEY_B held long enough for the host to repeat it
			w.key(48, 2)
			w.key(48, 2)
			w.key(48, 0)
			w.text("C$%*+-./:")
			w.enter()
			w.text("NEXT")
			w.enter()
		},
		want: []string{`code "HC1:AbC$%*+-./:"`, `code "NEXT"`},
	},
	{
		name: "capslock", layout: Layout64,
		record: func(w *typist) {
			w.tap(keyCapsLock)
			w.ev(0x11, 1, 1) // EV_LED LED_CAPSL on, as the kernel echoes it
			w.text("hc1:abc")
			w.text("XYZ") // shift under caps lock gives lower case
			w.tap(keyCapsLock)
			w.ev(0x11, 1, 0)
			w.enter()
			w.text("done")
			w.enter()
		},
		want: []string{`code "HC1:ABCxyz"`, `code "done"`},
	},
	{
		name: "ctrl-gs1-separator", layout: Layout32,
		record: func(w *typist) {
			w.text("0109506000134352")
			w.key(keyLeftCtrl, 1)
			w.tap(27) // KEY_RIGHTBRACE: Ctrl+] is GS
			w.key(keyLeftCtrl, 0)
			w.text("17261231")
			w.enter()
		},
		want: []string{`code "0109506000134352\x1d17261231"`},
	},
	{
		name: "syn-dropped", layout: Layout64,
		record: func(w *typist) {
			w.text("HC1:PAR")
			w.key(w.shift, 1)
			w.ev(EvSyn, SynDropped, 0) // the kernel's buffer overflowed
			w.ev(EvKey, 30, 1)         // stale events up to the next SYN_REPORT are ignored
			w.ev(EvSyn, SynReport, 0)
			w.text("tial")
			w.enter()
			w.text("HC1:OK")
			w.enter()
		},
		want: []string{"error dropped", `code "HC1:OK"`},
	},
	{
		name: "unmapped-key", layout: Layout64,
		record: func(w *typist) {
			w.text("HC1:A")
			w.tap(86) // KEY_102ND: the scanner is set to a European layout
			w.text("B")
			w.enter()
			w.text("HC1:OK")
			w.enter()
		},
		want: []string{"error key 86", `code "HC1:OK"`},
	},
	{
		name: "empty-enters", layout: Layout32,
		record: func(w *typist) {
			w.enter()
			w.enter()
			w.text("X")
			w.enter()
			w.enter()
		},
		want: []string{`code "X"`},
	},
	{
		name: "truncated", layout: Layout64,
		record: func(w *typist) {
			w.text("HC1:FIRST")
			w.enter()
			w.text("HC1:SEC")
			w.b = w.b[:len(w.b)-7] // the stream is cut inside an event
		},
		want: []string{`code "HC1:FIRST"`, "error truncated"},
	},
}

// describe renders a decoded line in the form of want.txt.
func describe(c Code, err error) string {
	var ke *KeyError
	var tl *LineTooLongError
	switch {
	case err == nil:
		return "code " + strconv.Quote(string(c.Text))
	case errors.Is(err, ErrEventsDropped):
		return "error dropped"
	case errors.Is(err, ErrTruncatedEvent):
		return "error truncated"
	case errors.As(err, &ke):
		return fmt.Sprintf("error key %d", ke.Code)
	case errors.As(err, &tl):
		return "error toolong"
	}
	return "error " + err.Error()
}

func recordingPath(name string, l EventLayout) string {
	return filepath.Join("testdata", "evdev", name, fmt.Sprintf("events-%d.bin", int(l)))
}

// TestEvdevRecordingsUpToDate checks that testdata/evdev holds what the
// recorders above produce; -update rewrites it.
func TestEvdevRecordingsUpToDate(t *testing.T) {
	for _, tc := range evdevCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newTypist(tc.layout)
			tc.record(w)
			path := recordingPath(tc.name, tc.layout)
			want := strings.Join(tc.want, "\n") + "\n"
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, w.b, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), "want.txt"), []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write the recordings)", err)
			}
			if !bytes.Equal(got, w.b) {
				t.Errorf("%s differs from its recorder: run go test -update and review the diff", path)
			}
			gotWant, err := os.ReadFile(filepath.Join(filepath.Dir(path), "want.txt"))
			if err != nil || string(gotWant) != want {
				t.Errorf("want.txt: got %q, %v; want %q", gotWant, err, want)
			}
		})
	}
}

// recording is one directory of testdata/evdev.
type recording struct {
	name   string
	layout EventLayout
	events []byte
	want   []string
}

func loadRecordings(t *testing.T) []recording {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "evdev", "*", "events-*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in testdata/evdev (%v)", err)
	}
	var out []recording
	for _, f := range files {
		var size int
		if _, err := fmt.Sscanf(filepath.Base(f), "events-%d.bin", &size); err != nil {
			t.Fatalf("%s: name should be events-24.bin or events-16.bin", f)
		}
		ev, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(filepath.Dir(f), "want.txt"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recording{
			name:   filepath.Base(filepath.Dir(f)),
			layout: EventLayout(size),
			events: ev,
			want:   strings.Split(strings.TrimSpace(string(want)), "\n"),
		})
	}
	return out
}

// TestEvdevDecodeRecordings decodes each recording with the pure decoder
// and keyboard.
func TestEvdevDecodeRecordings(t *testing.T) {
	for _, r := range loadRecordings(t) {
		t.Run(r.name, func(t *testing.T) {
			dec, err := NewEventDecoder(r.layout)
			if err != nil {
				t.Fatal(err)
			}
			kbd, _ := NewKeyboard(KeyboardConfig{})
			var got []string
			for _, ev := range dec.Feed(nil, r.events) {
				if l, ok := kbd.Event(ev); ok {
					got = append(got, describe(Code{Text: l.Text}, l.Err))
				}
			}
			if err := dec.End(); err != nil {
				got = append(got, describe(Code{}, err))
			}
			if strings.Join(got, "\n") != strings.Join(r.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(r.want, "\n"))
			}
		})
	}
}

// pipeOpener replays a recording as the device: the first open returns a
// pipe that delivers the bytes in uneven chunks and then ends, as when the
// scanner is unplugged; later opens find no device.
type pipeOpener struct {
	data  []byte
	opens int
	grab  bool
}

func (p *pipeOpener) open(path string, grab bool) (eventFile, error) {
	p.opens++
	if p.opens > 1 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	p.grab = grab
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		defer w.Close()
		for d, n := p.data, 1; len(d) > 0; n = n%97 + 13 {
			n = min(n, len(d))
			if _, err := w.Write(d[:n]); err != nil {
				return
			}
			d = d[n:]
		}
	}()
	return r, nil
}

// TestEvdevSourceRecordings replays each recording through the Evdev
// source: fragmented reads, the end of the device, and the missing state.
func TestEvdevSourceRecordings(t *testing.T) {
	for _, r := range loadRecordings(t) {
		t.Run(r.name, func(t *testing.T) {
			e, err := NewEvdev(EvdevConfig{Path: "/dev/input/by-id/usb-Test_Scanner-event-kbd", Name: "lane 2", Layout: r.layout})
			if err != nil {
				t.Fatal(err)
			}
			po := &pipeOpener{data: r.events}
			e.open = po.open
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }

			var got []string
			for range 100 {
				c, err := e.Next(ctx)
				if errors.Is(err, context.Canceled) {
					break
				}
				if err == nil && c.Source != "lane 2" {
					t.Errorf("got source %q, want lane 2", c.Source)
				}
				if err != nil && !strings.HasPrefix(err.Error(), "scanner lane 2: ") {
					t.Errorf("got error %q, want it to start with the scanner's name", err)
				}
				got = append(got, describe(c, err))
			}
			if strings.Join(got, "\n") != strings.Join(r.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(r.want, "\n"))
			}
			if !po.grab {
				t.Errorf("device not grabbed")
			}
			st := e.Status()
			if st.State != StateMissing || !strings.Contains(st.Reason, "does not exist") || st.Kind != "hid" {
				t.Errorf("got %v %q kind %q after the device ended, want missing, does not exist, hid", st.State, st.Reason, st.Kind)
			}
			if n := strings.Count(strings.Join(r.want, "\n"), "code "); st.Codes != n {
				t.Errorf("got %d codes in status, want %d", st.Codes, n)
			}
			if err := e.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
