package status

import (
	"errors"
	"fmt"
	"time"

	"sentinel/crypto/credential"
)

// Status is the colour a status entry gives a holder.
type Status uint8

// Statuses. The zero value is not a status: an entry always has one.
const (
	Green    Status = 1 + iota // the holder may pass
	Yellow                     // restricted: policy decides
	Red                        // the holder may not pass
	Withheld                   // no code may be used ("no code at all yet")
)

var statusNames = [...]string{"", "green", "yellow", "red", "withheld"}

// String returns "green", "yellow", "red" or "withheld".
func (s Status) String() string {
	if s.Valid() {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool { return s >= Green && s <= Withheld }

// Colour returns the health-code colour the status shows, or
// credential.ColourNone for Withheld (which has no colour: no code may be
// used) and for an invalid status.
func (s Status) Colour() credential.Colour {
	switch s {
	case Green:
		return credential.ColourGreen
	case Yellow:
		return credential.ColourYellow
	case Red:
		return credential.ColourRed
	}
	return credential.ColourNone
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshal status: %w", ErrInvalidStatus)
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: the names
// MarshalText writes.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseStatus parses "green", "yellow", "red" or "withheld".
func ParseStatus(s string) (Status, error) {
	for i := Green; i <= Withheld; i++ {
		if statusNames[i] == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("parse status %q: %w", s, ErrInvalidStatus)
}

// Entry is one status change as the centre records it.
type Entry struct {
	// Status is the holder's status from Effective on.
	Status Status
	// Effective is when the status took effect. It is kept to the second,
	// rounded up (see the package documentation on exactness).
	Effective time.Time
	// Until is when the status lapses; the zero time means open.
	Until time.Time
	// Reason is the centre's reason code; the words stay at the centre.
	Reason byte
}

// Result is what the list says about a code: Overridden is set when an entry
// for the holder took effect after the code was issued and has not lapsed.
// The other fields describe that entry and are zero otherwise.
type Result struct {
	Overridden bool
	Status     Status
	Effective  time.Time
	Until      time.Time // zero: open
	Reason     byte
}

// Hash is a hashed EU DCC certificate identifier: the first 16 bytes of the
// SHA-256 of the UCI string (the EU gateway's "UCI" hash type, truncated to
// 128 bits as the gateway's lists are).
type Hash [16]byte

// Pseudonym is an EU DCC or SHC holder's pseudonym (see credential.Pseudonym).
type Pseudonym = [credential.PseudonymSize]byte

// Errors. Every error from Parse, ApplyBase and ApplyDelta wraps one of these.
var (
	// ErrMalformed: the payload is not a well-formed status payload. The
	// bundle is refused; the list keeps what it had.
	ErrMalformed = errors.New("status: malformed payload")
	// ErrTooLarge: the payload declares more entries than a terminal holds
	// (MaxEntries) or more than its bytes can encode.
	ErrTooLarge = errors.New("status: payload too large")
	// ErrInvalidStatus: a status that is not green, yellow, red or withheld.
	ErrInvalidStatus = errors.New("status: invalid status")
	// ErrWrongKind: a bundle of another kind was handed to ApplyBase or
	// ApplyDelta.
	ErrWrongKind = errors.New("status: wrong bundle kind")
	// ErrNoBase: a delta arrived before any base; fetch a base bundle.
	ErrNoBase = errors.New("status: no base applied yet")
	// ErrTooManyClasses: one issuer has more than MaxClasses distinct
	// (status, reason, lapse) combinations even after compaction; fetch a
	// fresh base.
	ErrTooManyClasses = errors.New("status: too many distinct entry classes for one issuer")
)

// GapError is returned by ApplyDelta when the delta does not apply to the
// version the list holds: a delta was missed (or is a repeat). Fetch the
// missing deltas or a fresh base.
type GapError struct {
	Have uint64 // the version the list holds
	Base uint64 // the version the delta applies to
}

func (e *GapError) Error() string {
	return fmt.Sprintf("status: delta applies to version %d but the list holds version %d: fetch the missing deltas or a new base", e.Base, e.Have)
}
