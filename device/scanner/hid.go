package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"sentinel/internal/backoff"
)

// EvdevConfig describes a keyboard-wedge (USB HID) scanner.
type EvdevConfig struct {
	// Name is the scanner's name on the display and in Code.Source; empty
	// means Path.
	Name string
	// Path is the input device, best a stable link such as
	// /dev/input/by-id/usb-Honeywell_Scanner-event-kbd, which survives
	// replugging; /dev/input/eventN works too.
	Path string
	// NoGrab leaves the device ungrabbed, so its keystrokes also reach the
	// console. Only for trying a scanner out; the terminal grabs.
	NoGrab bool
	// IgnoreCapsLock ignores the Caps Lock key.
	IgnoreCapsLock bool
	// MaxLine is the longest code accepted; zero means MaxLine.
	MaxLine int
	// Layout is the input_event size to read; zero means NativeLayout.
	Layout EventLayout
	// MinBackoff and MaxBackoff bound the delay between reopen attempts;
	// zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// eventFile is an open input device.
type eventFile interface {
	io.ReadCloser
	SetReadDeadline(time.Time) error
}

// Evdev is a keyboard-wedge scanner read through Linux evdev. It opens and
// grabs its device on the first Next and reopens it with backoff when it
// goes away.
type Evdev struct {
	cfg    EvdevConfig
	name   string
	layout EventLayout

	// OS and time access; tests replace them.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	open  func(path string, grab bool) (eventFile, error)

	done      chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex // guards the fields below
	file   eventFile
	status Status

	nextMu sync.Mutex // one Next at a time; guards the fields below
	dec    *EventDecoder
	kbd    *Keyboard
	queue  []Line
	back   backoff.Backoff
	buf    []byte
	evs    []InputEvent
}

var _ Source = (*Evdev)(nil)

// NewEvdev checks c and returns a keyboard-wedge scanner. It does not open
// the device: the first Next does.
func NewEvdev(c EvdevConfig) (*Evdev, error) {
	if c.Path == "" {
		return nil, fmt.Errorf("scanner: keyboard scanner has no device path: set it, e.g. /dev/input/by-id/...-event-kbd")
	}
	e := &Evdev{
		cfg:    c,
		name:   c.Path,
		layout: c.Layout,
		now:    time.Now,
		sleep:  sleepCtx,
		open:   openEvdev,
		done:   make(chan struct{}),
		back:   newBackoff(c.MinBackoff, c.MaxBackoff),
	}
	if c.Name != "" {
		e.name = c.Name
	}
	if e.layout == 0 {
		e.layout = NativeLayout
	}
	var err error
	if e.dec, err = NewEventDecoder(e.layout); err != nil {
		return nil, fmt.Errorf("scanner %s: %w", e.name, err)
	}
	if e.kbd, err = NewKeyboard(KeyboardConfig{MaxLine: c.MaxLine, IgnoreCapsLock: c.IgnoreCapsLock}); err != nil {
		return nil, fmt.Errorf("scanner %s: %w", e.name, err)
	}
	e.buf = make([]byte, 64*int(e.layout))
	e.status = Status{Source: e.name, Kind: "hid", Device: c.Path, State: StateUnknown}
	return e, nil
}

// Name returns the scanner's name as it appears in Code.Source.
func (e *Evdev) Name() string { return e.name }

// Status reports whether the scanner is present.
func (e *Evdev) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// Close releases the device. A Next in progress returns ErrClosed.
func (e *Evdev) Close() error {
	var err error
	e.closeOnce.Do(func() {
		close(e.done)
		e.mu.Lock()
		f := e.file
		e.file = nil
		e.setState(StateClosed, "", nil)
		e.mu.Unlock()
		if f != nil {
			err = f.Close()
		}
	})
	if err != nil {
		return fmt.Errorf("scanner %s: close: %w", e.name, err)
	}
	return nil
}

// Next returns the next code, opening and reopening the device as needed.
func (e *Evdev) Next(ctx context.Context) (Code, error) {
	e.nextMu.Lock()
	defer e.nextMu.Unlock()
	for {
		if e.isClosed() {
			return Code{}, ErrClosed
		}
		if len(e.queue) > 0 {
			l := e.queue[0]
			e.queue = e.queue[1:]
			return e.deliver(l)
		}
		if err := ctx.Err(); err != nil {
			return Code{}, err
		}
		e.mu.Lock()
		f := e.file
		e.mu.Unlock()
		if f == nil {
			if err := e.connect(ctx); err != nil {
				if e.isClosed() {
					return Code{}, ErrClosed
				}
				return Code{}, err
			}
			continue
		}
		if err := e.read(ctx, f); err != nil {
			return Code{}, err
		}
	}
}

// read does one read, interrupted when ctx is done, and queues the lines
// it completes. It returns only ctx's error.
func (e *Evdev) read(ctx context.Context, f eventFile) error {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		f.SetReadDeadline(time.Unix(1, 0)) // in the past: Read returns now
		close(fired)
	})
	n, err := f.Read(e.buf)
	if !stop() {
		// ctx ended during the read: once the deadline is set, clear it
		// for the next Next.
		<-fired
		f.SetReadDeadline(time.Time{})
	}
	if n > 0 {
		e.evs = e.dec.Feed(e.evs[:0], e.buf[:n])
		for _, ev := range e.evs {
			if l, ok := e.kbd.Event(ev); ok {
				e.queue = append(e.queue, l)
			}
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return ctx.Err()
	}
	if terr := e.dec.End(); terr != nil {
		e.queue = append(e.queue, Line{Err: terr, At: e.now()})
	}
	e.lost(f, err)
	return nil
}

func (e *Evdev) deliver(l Line) (Code, error) {
	if l.Err != nil {
		var tl *LineTooLongError
		var ke *KeyError
		switch {
		case errors.As(l.Err, &tl):
			c := *tl
			c.Source = e.name
			return Code{}, &c
		case errors.As(l.Err, &ke):
			c := *ke
			c.Source = e.name
			return Code{}, &c
		}
		return Code{}, fmt.Errorf("scanner %s: %w", e.name, l.Err)
	}
	at := e.now()
	e.mu.Lock()
	e.status.Codes++
	e.status.LastCode = at
	e.mu.Unlock()
	return Code{Text: l.Text, Source: e.name, At: at}, nil
}

func (e *Evdev) connect(ctx context.Context) error {
	f, err := e.open(e.cfg.Path, !e.cfg.NoGrab)
	if err != nil {
		e.mu.Lock()
		e.status.Attempts++
		e.setState(StateMissing, e.reason(err), err)
		e.mu.Unlock()
		return waitOrDone(ctx, e.done, e.sleep, e.back.Next())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isClosed() {
		f.Close()
		return ErrClosed
	}
	e.file = f
	e.status.Attempts = 0
	e.setState(StatePresent, "", nil)
	e.back.Reset()
	e.kbd.Reset()
	e.kbd.shift, e.kbd.ctrl, e.kbd.caps = [2]bool{}, [2]bool{}, false
	return nil
}

func (e *Evdev) lost(f eventFile, err error) {
	f.Close()
	e.kbd.Reset()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file != f {
		return
	}
	e.file = nil
	e.setState(StateMissing, fmt.Sprintf("keyboard scanner %s went away (unplugged?): check its cable", e.cfg.Path), err)
}

func (e *Evdev) reason(err error) string {
	p := e.cfg.Path
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("input device %s does not exist: check the scanner's cable and the path in the configuration", p)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("no permission to open %s: add the sentinel user to the input group", p)
	case errors.Is(err, errGrabBusy):
		return fmt.Sprintf("another program has grabbed %s: stop it (sentinelctl scan, a desktop session) and try again", p)
	case errors.Is(err, errNotInput):
		return fmt.Sprintf("%s is not an input device: point the configuration at /dev/input/by-id/...-event-kbd", p)
	case errors.Is(err, ErrNotSupported):
		return "keyboard scanners are read through Linux evdev, which this system does not have"
	}
	return fmt.Sprintf("cannot open keyboard scanner %s: %v", p, err)
}

// Errors of the device opener, for reason.
var (
	errGrabBusy = errors.New("device grabbed by another program")
	errNotInput = errors.New("not an evdev input device")
)

func (e *Evdev) setState(st State, reason string, err error) {
	if e.status.State == StateClosed {
		return
	}
	if e.status.State != st {
		e.status.Since = e.now()
	}
	e.status.State = st
	e.status.Reason = reason
	e.status.Err = err
}

func (e *Evdev) isClosed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
