package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// MaxLine is the longest scanner line accepted, in bytes (CONTRACTS.md: a
// scanner line stops at 8 KiB). Longer lines are refused with a
// [*LineTooLongError] and never kept in memory.
const MaxLine = 8 << 10

// Code is one code read by a scanner.
type Code struct {
	// Text holds the bytes the scanner sent, without the line terminator.
	// It is not validated: it may be any payload up to the line limit.
	Text []byte
	// Source names the scanner that read the code (its configured name).
	Source string
	// At is when the code's last byte arrived.
	At time.Time
}

// LogValue reports the code without its payload, which may carry personal
// data and must never reach a log.
func (c Code) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", c.Source),
		slog.Int("len", len(c.Text)),
		slog.Time("at", c.At),
	)
}

var _ slog.LogValuer = Code{}

// Source is a scanner that yields codes.
type Source interface {
	// Next blocks until a code has been read or ctx is done. A device that is
	// unplugged is not an error: Next keeps waiting for it to come back, and
	// Status reports it missing meanwhile. Next returns a *LineTooLongError
	// or a *KeyError for a refused line and can be called again afterwards;
	// it returns ErrClosed after Close and ctx.Err() when ctx is done.
	Next(ctx context.Context) (Code, error)
	// Status reports whether the scanner is present, for the guard display
	// and for sentinelctl selftest. It is safe to call concurrently with Next.
	Status() Status
	// Close releases the device. A Next in progress returns ErrClosed.
	Close() error
}

// State says whether a scanner can read codes.
type State int

// States of a scanner.
const (
	// StateUnknown means the device has not been opened yet.
	StateUnknown State = iota
	// StatePresent means the device is open and reading.
	StatePresent
	// StateMissing means the device could not be opened or went away; the
	// source keeps trying to reopen it.
	StateMissing
	// StateClosed means Close was called.
	StateClosed
)

// String returns the state's name as the display and selftest show it.
func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StatePresent:
		return "present"
	case StateMissing:
		return "missing"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Status is a scanner's state as the guard display and sentinelctl selftest
// show it.
type Status struct {
	// Source is the scanner's configured name.
	Source string
	// Kind is "serial", "hid" or, for fakes, "fake".
	Kind string
	// Device is the device path in use or last tried (for a USB VID:PID
	// match, the port that matched), empty when none was found.
	Device string
	// State says whether the scanner can read codes.
	State State
	// Since is when State last changed.
	Since time.Time
	// Reason says in plain words why the scanner is missing and what to
	// check; empty when present.
	Reason string
	// Err is the error behind Reason, if any.
	Err error
	// Attempts counts the failed opens since the scanner was last present.
	Attempts int
	// Codes counts the codes read since the source was created.
	Codes int
	// LastCode is when the last code was read; zero if none yet.
	LastCode time.Time
	// Stale counts the bytes that still arrived at once after the port
	// was opened and its waiting input flushed (codes scanned while
	// nothing read them), and were dropped.
	Stale int
}

// Errors returned by this package.
var (
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("scanner: closed")
	// ErrNoDevice means no device matched the configured USB VID:PID.
	ErrNoDevice = errors.New("scanner: no matching device")
	// ErrTruncatedEvent means an evdev stream ended inside an input_event.
	// Like ErrEventsDropped, the sources wrap it with the scanner's name.
	ErrTruncatedEvent = errors.New("evdev stream ends inside an event")
	// ErrEventsDropped means the kernel dropped input events (SYN_DROPPED)
	// while a code was being typed, so the code is incomplete.
	ErrEventsDropped = errors.New("keyboard events were lost while reading a code: scan it again")
	// ErrNotSupported means the device kind is not available on this OS.
	ErrNotSupported = errors.New("scanner: not supported on this operating system")
)

// LineTooLongError is returned for a line longer than the limit. Its bytes
// were discarded up to the next terminator (or the idle gap), so the next
// code is read normally.
type LineTooLongError struct {
	Source string // the scanner's name
	Len    int    // bytes discarded (at least Max+1)
	Max    int    // the limit in force
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("scanner %s: line of %d bytes refused, longer than the limit of %d bytes: check that the scanner sends a line terminator after each code", e.Source, e.Len, e.Max)
}

// KeyError is returned for a keyboard-wedge line that contained a key this
// package cannot map to a character. The line is dropped.
type KeyError struct {
	Source string // the scanner's name
	Code   uint16 // the Linux key code (KEY_*)
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("scanner %s: key code %d has no character in the US layout: set the scanner's keyboard layout to US", e.Source, e.Code)
}

// String renders the status on one line for logs and the selftest table,
// e.g. "lane 1 (serial /dev/ttyACM0): missing: no permission to open …".
func (s Status) String() string {
	where := s.Kind
	if s.Device != "" {
		where += " " + s.Device
	}
	out := fmt.Sprintf("%s (%s): %v", s.Source, where, s.State)
	if s.Reason != "" {
		out += ": " + s.Reason
	}
	return out
}
