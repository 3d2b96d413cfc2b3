package scanner

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNativeLayout(t *testing.T) {
	want := Layout64
	switch runtime.GOARCH {
	case "arm", "386", "mips", "mipsle":
		want = Layout32
	}
	if NativeLayout != want {
		t.Errorf("got %v on %s, want %v", NativeLayout, runtime.GOARCH, want)
	}
}

func TestDecodeEvent(t *testing.T) {
	// KEY_A (30) pressed at 2026-03-01T08:00:00.123456Z, written out by hand.
	want := EventAt(time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC), EvKey, 30, 1)
	tests := []struct {
		name   string
		layout EventLayout
		hex    string
	}{
		{"64-bit", Layout64, "" +
			"00f2a36900000000" + // tv_sec 1772352000
			"40e2010000000000" + // tv_usec 123456
			"0100" + "1e00" + "01000000"},
		{"32-bit", Layout32, "" +
			"00f2a369" +
			"40e20100" +
			"0100" + "1e00" + "01000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			got, err := DecodeEvent(b, tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || !got.Time().Equal(time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)) || got.Type != want.Type || got.Code != want.Code || got.Value != want.Value {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if enc := AppendEvent(nil, want, tt.layout); hex.EncodeToString(enc) != tt.hex {
				t.Errorf("AppendEvent: got %x, want %s", enc, tt.hex)
			}
			if _, err := DecodeEvent(b[:len(b)-1], tt.layout); err == nil {
				t.Errorf("got no error for a short event")
			}
		})
	}
	if _, err := DecodeEvent(make([]byte, 20), EventLayout(20)); err == nil {
		t.Errorf("got no error for a 20-byte layout")
	}
	if _, err := NewEventDecoder(EventLayout(0)); err == nil {
		t.Errorf("NewEventDecoder(0): got no error")
	}
}

func TestUSKeymap(t *testing.T) {
	// The characters of HC1 (Base45), shc:/ and native codes, with their
	// keys from linux/input-event-codes.h.
	tests := []struct {
		code  uint16
		shift bool
		want  byte
	}{
		{35, true, 'H'}, {46, true, 'C'}, {2, false, '1'}, {39, true, ':'}, {39, false, ';'},
		{31, false, 's'}, {35, false, 'h'}, {46, false, 'c'}, {53, false, '/'}, {12, false, '-'},
		{52, false, '.'}, {5, true, '$'}, {6, true, '%'}, {9, true, '*'}, {13, true, '+'},
		{13, false, '='}, {57, false, ' '}, {11, false, '0'}, {10, false, '9'}, {44, true, 'Z'},
		{3, true, '@'}, {12, true, '_'}, {40, true, '"'}, {43, true, '|'}, {41, true, '~'},
		{55, false, '*'}, {78, false, '+'}, {74, false, '-'}, {83, false, '.'}, {98, false, '/'},
		{82, false, '0'}, {73, false, '9'},
	}
	for _, tt := range tests {
		k, _ := NewKeyboard(KeyboardConfig{})
		k.shift[0] = tt.shift
		if got := k.char(tt.code); got != tt.want {
			t.Errorf("key %d shift %v: got %q, want %q", tt.code, tt.shift, got, tt.want)
		}
	}
}

func typeLine(k *Keyboard, s string) (Line, bool) {
	w := newTypist(Layout64)
	w.text(s)
	w.enter()
	dec, _ := NewEventDecoder(Layout64)
	var last Line
	var ok bool
	for _, ev := range dec.Feed(nil, w.b) {
		if l, done := k.Event(ev); done {
			last, ok = l, true
		}
	}
	return last, ok
}

func TestKeyboardTooLong(t *testing.T) {
	k, err := NewKeyboard(KeyboardConfig{MaxLine: 8})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := typeLine(k, "HC1:ABCDEF")
	var tl *LineTooLongError
	if !ok || !errors.As(l.Err, &tl) || tl.Len != 10 || tl.Max != 8 {
		t.Fatalf("got %+v %v, want a LineTooLongError of 10 over 8", l, ok)
	}
	if l, ok := typeLine(k, "HC1:OK"); !ok || string(l.Text) != "HC1:OK" {
		t.Errorf("got %q %v after the refused line, want HC1:OK", l.Text, ok)
	}
	if len(k.buf) != 0 || cap(k.buf) > 512 {
		t.Errorf("got buffer len %d cap %d, want 0 and at most 512", len(k.buf), cap(k.buf))
	}
}

func TestKeyboardIgnoreCapsLock(t *testing.T) {
	k, _ := NewKeyboard(KeyboardConfig{IgnoreCapsLock: true})
	k.Event(InputEvent{Type: EvKey, Code: keyCapsLock, Value: 1})
	if l, ok := typeLine(k, "abc"); !ok || string(l.Text) != "abc" {
		t.Errorf("got %q %v, want abc", l.Text, ok)
	}
}

// blockingOpener returns a pipe that never delivers, for Close and cancel.
func blockingOpener(t *testing.T) func(string, bool) (eventFile, error) {
	return func(string, bool) (eventFile, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { w.Close() })
		return r, nil
	}
}

func TestEvdevCancelThenRead(t *testing.T) {
	e, _ := NewEvdev(EvdevConfig{Path: "/dev/input/event9"})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e.open = func(string, bool) (eventFile, error) { return r, nil }

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := e.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if st := e.Status(); st.State != StatePresent {
		t.Fatalf("got state %v after a cancelled read, want present", st.State)
	}
	// The cancelled read must not leave a deadline behind.
	tw := newTypist(NativeLayout)
	tw.text("HC1:AFTER")
	tw.enter()
	go w.Write(tw.b)
	c, err := e.Next(context.Background())
	if err != nil || string(c.Text) != "HC1:AFTER" {
		t.Fatalf("got %q %v, want HC1:AFTER", c.Text, err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestEvdevCloseUnblocksNext(t *testing.T) {
	e, _ := NewEvdev(EvdevConfig{Path: "/dev/input/event9"})
	e.open = blockingOpener(t)
	errc := make(chan error, 1)
	go func() {
		_, err := e.Next(context.Background())
		errc <- err
	}()
	waitState(t, e, StatePresent)
	e.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked 5 s after Close")
	}
}

func TestEvdevReasons(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"missing", os.ErrNotExist, "does not exist"},
		{"permission", os.ErrPermission, "input group"},
		{"grabbed", errGrabBusy, "another program has grabbed"},
		{"not input", errNotInput, "not an input device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := NewEvdev(EvdevConfig{Path: "/dev/input/event9", MinBackoff: 5 * time.Millisecond})
			e.open = func(string, bool) (eventFile, error) { return nil, tt.err }
			var delays []time.Duration
			ctx, cancel := context.WithCancel(context.Background())
			e.sleep = func(_ context.Context, d time.Duration) error {
				if delays = append(delays, d); len(delays) == 3 {
					cancel()
					return context.Canceled
				}
				return nil
			}
			if _, err := e.Next(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
			st := e.Status()
			if st.State != StateMissing || !strings.Contains(st.Reason, tt.want) || st.Attempts != 3 {
				t.Errorf("got %v %q after %d attempts, want missing with %q after 3", st.State, st.Reason, st.Attempts, tt.want)
			}
			if want := []time.Duration{5, 10, 20}; delays[0] != want[0]*time.Millisecond || delays[2] != want[2]*time.Millisecond {
				t.Errorf("got delays %v, want 5ms 10ms 20ms", delays)
			}
		})
	}
}

func TestOpenEvdevRefusesNonInput(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("evdev is Linux only")
	}
	// /dev/null exists everywhere and is not an input device; the test
	// only opens it, it never reads a real /dev/input device.
	_, err := openEvdev(os.DevNull, true)
	if !errors.Is(err, errNotInput) {
		t.Errorf("got %v, want errNotInput", err)
	}
}

func BenchmarkEvdevHC1(b *testing.B) {
	w := newTypist(Layout64)
	w.text(hc1Line(300, 3))
	w.enter()
	dec, _ := NewEventDecoder(Layout64)
	k, _ := NewKeyboard(KeyboardConfig{})
	var evs []InputEvent
	b.SetBytes(int64(len(w.b)))
	for b.Loop() {
		evs = dec.Feed(evs[:0], w.b)
		n := 0
		for _, ev := range evs {
			if _, ok := k.Event(ev); ok {
				n++
			}
		}
		if n != 1 {
			b.Fatalf("got %d lines, want 1", n)
		}
	}
}
