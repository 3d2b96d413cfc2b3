package scanner

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"
)

// EventLayout is the size in bytes of a Linux struct input_event as a
// process reads it from /dev/input/event*: a struct timeval of two longs,
// then type (u16), code (u16) and value (s32). The kernel uses the reading
// process's long, so the size follows the program, not the kernel: a 32-bit
// program on a 64-bit kernel reads 16-byte events. All the terminal's
// architectures are little-endian; big-endian Linux is not supported.
type EventLayout int

// Event layouts.
const (
	// Layout64 is the event of 64-bit programs (amd64, arm64): 24 bytes.
	Layout64 EventLayout = 24
	// Layout32 is the event of 32-bit programs (arm, 386): 16 bytes.
	Layout32 EventLayout = 16
	// NativeLayout is the layout this program reads from a device.
	// The kernel's __kernel_ulong_t seconds and microseconds have the size
	// of a pointer on every Linux architecture we build for.
	NativeLayout = EventLayout(2*unsafe.Sizeof(uintptr(0)) + 8)
)

func (l EventLayout) valid() bool { return l == Layout64 || l == Layout32 }

// String names the layout.
func (l EventLayout) String() string {
	switch l {
	case Layout64:
		return "input_event/64-bit (24 bytes)"
	case Layout32:
		return "input_event/32-bit (16 bytes)"
	}
	return fmt.Sprintf("EventLayout(%d)", int(l))
}

// Linux input event types and codes used here (linux/input-event-codes.h).
const (
	EvSyn = 0x00 // EV_SYN
	EvKey = 0x01 // EV_KEY
	EvMsc = 0x04 // EV_MSC

	SynReport  = 0 // SYN_REPORT
	SynDropped = 3 // SYN_DROPPED: the kernel's buffer overflowed, events are lost
)

// InputEvent is one decoded struct input_event.
type InputEvent struct {
	Sec   int64  // the kernel's timestamp, seconds (CLOCK_REALTIME unless changed)
	Usec  int64  // and microseconds, as they came
	Type  uint16 // EV_*
	Code  uint16 // KEY_*, SYN_*, MSC_*
	Value int32  // for EV_KEY: 0 release, 1 press, 2 autorepeat
}

// Time returns the event's timestamp.
func (ev InputEvent) Time() time.Time {
	return time.Unix(ev.Sec, 0).Add(time.Duration(ev.Usec) * time.Microsecond)
}

// EventAt returns an event with its timestamp set from t.
func EventAt(t time.Time, typ, code uint16, value int32) InputEvent {
	return InputEvent{Sec: t.Unix(), Usec: int64(t.Nanosecond() / 1000), Type: typ, Code: code, Value: value}
}

// DecodeEvent decodes one input_event from b, which must hold exactly
// l bytes.
func DecodeEvent(b []byte, l EventLayout) (InputEvent, error) {
	if !l.valid() {
		return InputEvent{}, fmt.Errorf("scanner: %v is not an input_event layout", l)
	}
	if len(b) != int(l) {
		return InputEvent{}, fmt.Errorf("scanner: decode input_event: got %d bytes, want %d", len(b), int(l))
	}
	le := binary.LittleEndian
	var sec, usec int64
	w := int(l-8) / 2
	if w == 8 {
		sec, usec = int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
	} else {
		sec, usec = int64(int32(le.Uint32(b[0:]))), int64(le.Uint32(b[4:]))
	}
	t := b[2*w:]
	return InputEvent{
		Sec:   sec,
		Usec:  usec,
		Type:  le.Uint16(t[0:]),
		Code:  le.Uint16(t[2:]),
		Value: int32(le.Uint32(t[4:])),
	}, nil
}

// AppendEvent appends ev encoded in layout l to b. Tests and recording
// tools use it to write input_event streams.
func AppendEvent(b []byte, ev InputEvent, l EventLayout) []byte {
	le := binary.LittleEndian
	sec, usec := ev.Sec, ev.Usec
	if l == Layout32 {
		b = le.AppendUint32(b, uint32(sec))
		b = le.AppendUint32(b, uint32(usec))
	} else {
		b = le.AppendUint64(b, uint64(sec))
		b = le.AppendUint64(b, uint64(usec))
	}
	b = le.AppendUint16(b, ev.Type)
	b = le.AppendUint16(b, ev.Code)
	return le.AppendUint32(b, uint32(ev.Value))
}

// An EventDecoder cuts a byte stream into input_events, whatever sizes the
// reads come in. It holds less than one event between calls.
type EventDecoder struct {
	layout EventLayout
	part   []byte
}

// NewEventDecoder returns a decoder for layout l.
func NewEventDecoder(l EventLayout) (*EventDecoder, error) {
	if !l.valid() {
		return nil, fmt.Errorf("scanner: %v is not an input_event layout: use Layout64 or Layout32", l)
	}
	return &EventDecoder{layout: l, part: make([]byte, 0, int(l))}, nil
}

// Feed decodes the events that p completes and appends them to evs.
func (d *EventDecoder) Feed(evs []InputEvent, p []byte) []InputEvent {
	size := int(d.layout)
	if len(d.part) > 0 {
		n := min(size-len(d.part), len(p))
		d.part = append(d.part, p[:n]...)
		p = p[n:]
		if len(d.part) < size {
			return evs
		}
		ev, _ := DecodeEvent(d.part, d.layout)
		evs = append(evs, ev)
		d.part = d.part[:0]
	}
	for len(p) >= size {
		ev, _ := DecodeEvent(p[:size], d.layout)
		evs = append(evs, ev)
		p = p[size:]
	}
	d.part = append(d.part, p...)
	return evs
}

// End reports whether the stream ended cleanly: it returns
// ErrTruncatedEvent if the bytes fed so far end inside an event.
func (d *EventDecoder) End() error {
	if len(d.part) > 0 {
		n := len(d.part)
		d.part = d.part[:0]
		return fmt.Errorf("%w: %d of %d bytes", ErrTruncatedEvent, n, int(d.layout))
	}
	return nil
}

// Linux key codes the Keyboard treats specially.
const (
	keyEnter      = 28
	keyLeftCtrl   = 29
	keyLeftShift  = 42
	keyRightShift = 54
	keyLeftAlt    = 56
	keyCapsLock   = 58
	keyNumLock    = 69
	keyScrollLock = 70
	keyKPEnter    = 96
	keyRightCtrl  = 97
	keyRightAlt   = 100
	keyLeftMeta   = 125
	keyRightMeta  = 126
)

// usKeys maps a Linux key code to its character on the US layout, without
// and with shift. Zero means the key has no character.
var usKeys = func() (m [128][2]byte) {
	rows := []struct {
		first       int
		plain, shft string
	}{
		{2, "1234567890-=", "!@#$%^&*()_+"},
		{15, "\tqwertyuiop[]", "\tQWERTYUIOP{}"},
		{30, "asdfghjkl;'`", "ASDFGHJKL:\"~"},
		{43, "\\zxcvbnm,./", "|ZXCVBNM<>?"},
		{55, "*", "*"},                         // KEY_KPASTERISK
		{57, " ", " "},                         // KEY_SPACE
		{71, "789-456+1230.", "789-456+1230."}, // keypad, whatever Num Lock says
		{98, "/", "/"},                         // KEY_KPSLASH
		{117, "=", "="},                        // KEY_KPEQUAL
	}
	for _, r := range rows {
		for i := range len(r.plain) {
			m[r.first+i] = [2]byte{r.plain[i], r.shft[i]}
		}
	}
	return m
}()

// A Keyboard turns the key events of a keyboard-wedge scanner into lines:
// it tracks shift, caps lock and control, maps keys with the US layout, and
// ends a line on Enter or keypad Enter. It is pure and not safe for
// concurrent use.
type Keyboard struct {
	max      int
	useCaps  bool
	shift    [2]bool
	ctrl     [2]bool
	caps     bool
	buf      []byte
	over     int    // characters beyond max
	badKey   uint16 // first unmapped key of the line, 0 if none
	dropped  bool   // events were lost in this line
	resyncTo bool   // ignore events up to the next SYN_REPORT
}

// KeyboardConfig configures a Keyboard.
type KeyboardConfig struct {
	// MaxLine is the longest line accepted; zero means MaxLine.
	MaxLine int
	// IgnoreCapsLock ignores the Caps Lock key; by default it toggles the
	// case of letters, as some scanners use it instead of shift.
	IgnoreCapsLock bool
}

// NewKeyboard returns a Keyboard.
func NewKeyboard(c KeyboardConfig) (*Keyboard, error) {
	max := c.MaxLine
	if max == 0 {
		max = MaxLine
	}
	if max < 0 || max > MaxLine {
		return nil, fmt.Errorf("scanner: line limit %d out of range: use 1 to %d bytes", c.MaxLine, MaxLine)
	}
	return &Keyboard{max: max, useCaps: !c.IgnoreCapsLock, buf: make([]byte, 0, 512)}, nil
}

// Event takes one input event and returns the line that it ends, if any.
// The line's Err is a *KeyError, a *LineTooLongError or ErrEventsDropped
// for a line that cannot be trusted.
func (k *Keyboard) Event(ev InputEvent) (Line, bool) {
	if k.resyncTo {
		if ev.Type == EvSyn && ev.Code == SynReport {
			k.resyncTo = false
		}
		return Line{}, false
	}
	switch ev.Type {
	case EvSyn:
		if ev.Code == SynDropped {
			k.dropped = true
			k.resyncTo = true
			// Key releases may have been lost: assume no modifier is held.
			k.shift, k.ctrl = [2]bool{}, [2]bool{}
		}
		return Line{}, false
	case EvKey:
	default:
		return Line{}, false
	}
	down := ev.Value == 1
	switch ev.Code {
	case keyLeftShift, keyRightShift:
		if ev.Value != 2 {
			k.shift[b2i(ev.Code == keyRightShift)] = ev.Value != 0
		}
		return Line{}, false
	case keyLeftCtrl, keyRightCtrl:
		if ev.Value != 2 {
			k.ctrl[b2i(ev.Code == keyRightCtrl)] = ev.Value != 0
		}
		return Line{}, false
	case keyCapsLock:
		if down && k.useCaps {
			k.caps = !k.caps
		}
		return Line{}, false
	case keyLeftAlt, keyRightAlt, keyLeftMeta, keyRightMeta, keyNumLock, keyScrollLock:
		return Line{}, false
	case keyEnter, keyKPEnter:
		if down {
			return k.end(ev.Time())
		}
		return Line{}, false
	}
	if !down { // releases, and autorepeats, which a scanner never means
		return Line{}, false
	}
	c := k.char(ev.Code)
	switch {
	case c == 0:
		if k.badKey == 0 {
			k.badKey = ev.Code
		}
	case len(k.buf) < k.max:
		k.buf = append(k.buf, c)
	default:
		k.over++
	}
	return Line{}, false
}

func (k *Keyboard) char(code uint16) byte {
	if int(code) >= len(usKeys) {
		return 0
	}
	m := usKeys[code]
	shift := k.shift[0] || k.shift[1]
	c := m[b2i(shift)]
	if k.caps && (c|0x20) >= 'a' && (c|0x20) <= 'z' {
		c = m[b2i(!shift)]
	}
	if (k.ctrl[0] || k.ctrl[1]) && c != 0 {
		// Control characters, as scanners send the GS1 separator (Ctrl+]).
		if u := c &^ 0x20; u >= '@' && u <= '_' {
			return u & 0x1f
		}
	}
	return c
}

func (k *Keyboard) end(at time.Time) (Line, bool) {
	defer k.Reset()
	switch {
	case k.dropped:
		return Line{Err: ErrEventsDropped, At: at}, true
	case k.badKey != 0:
		return Line{Err: &KeyError{Code: k.badKey}, At: at}, true
	case k.over > 0:
		return Line{Err: &LineTooLongError{Len: len(k.buf) + k.over, Max: k.max}, At: at}, true
	case len(k.buf) == 0:
		return Line{}, false
	}
	return Line{Text: append([]byte(nil), k.buf...), At: at}, true
}

// Reset drops the line in progress; the modifier and caps lock state stay.
func (k *Keyboard) Reset() {
	k.buf = k.buf[:0]
	k.over = 0
	k.badKey = 0
	k.dropped = false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
