package passage

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A Ref is a passage's short reference: what a refused or referred holder
// reads off the guard display (or photographs as a QR code) and gives ops
// to find the passage for an appeal. It is 12 characters in three groups,
// "K7M2-Q9XR-4HTB", from an alphabet without 0, 1, I and O (nothing to
// confuse with O, I or l): 2-9 and A-Z but I and O, 5 bits each. The 60
// bits are, from the most significant:
//
//	24  the passage's minute, counted from RefEpoch (UTC) up to 2051
//	26  the first 26 bits of SHA-256(device ‖ 0x00 ‖ epoch ‖ seq as 8 bytes big-endian)
//	10  a CRC-10 (polynomial 0x233) of the 50 bits above
//
// The CRC catches every mistyped character and every two neighbouring
// characters swapped. Ops find the passage by its minute (the time the
// journal recorded) and the hash of its identity (device, journal epoch,
// seq), which docs/contracts.md fixes.
type Ref struct {
	Minute uint32 // minutes since RefEpoch; 24 bits
	ID     uint32 // 26 bits of the identity's hash
}

// RefEpoch is the first minute a Ref can name; earlier times (a clock
// that was never set) count as this minute, later than 2^24 minutes after
// it as the last.
var RefEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	refMinuteBits = 24
	refIDBits     = 26
	refCRCBits    = 10
	refCRCPoly    = 0x233 // CRC-10/ATM: x^10+x^9+x^5+x^4+x+1
	refChars      = 12
	// RefAlphabet is the 32 characters of a Ref.
	RefAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)

// NewRef returns the reference of the record seq of a terminal's journal
// epoch (the device id of its enrolment), recorded at at.
func NewRef(device string, epoch [16]byte, seq uint64, at time.Time) Ref {
	return Ref{Minute: RefMinute(at), ID: refID(device, epoch, seq)}
}

// RefMinute is the minute a Ref gives for at.
func RefMinute(at time.Time) uint32 {
	if at.Before(RefEpoch) {
		return 0
	}
	m := at.Sub(RefEpoch) / time.Minute
	if m >= 1<<refMinuteBits {
		return 1<<refMinuteBits - 1
	}
	return uint32(m)
}

func refID(device string, epoch [16]byte, seq uint64) uint32 {
	h := sha256.New()
	h.Write([]byte(device))
	h.Write([]byte{0})
	h.Write(epoch[:])
	h.Write(binary.BigEndian.AppendUint64(nil, seq))
	return binary.BigEndian.Uint32(h.Sum(nil)) >> (32 - refIDBits)
}

// Matches reports whether r is the reference of the record seq of
// device's journal epoch, recorded at at.
func (r Ref) Matches(device string, epoch [16]byte, seq uint64, at time.Time) bool {
	return r == NewRef(device, epoch, seq, at)
}

// Window is the time range [from, to) of the passages r may name; a zero
// from or to is open (the first and the last minute also hold every
// time before or after).
func (r Ref) Window() (from, to time.Time) {
	if r.Minute > 0 {
		from = RefEpoch.Add(time.Duration(r.Minute) * time.Minute)
	}
	if r.Minute < 1<<refMinuteBits-1 {
		to = RefEpoch.Add(time.Duration(r.Minute+1) * time.Minute)
	}
	return from, to
}

// String returns r as "XXXX-XXXX-XXXX".
func (r Ref) String() string {
	payload := uint64(r.Minute&(1<<refMinuteBits-1))<<refIDBits | uint64(r.ID&(1<<refIDBits-1))
	v := payload<<refCRCBits | uint64(refCRC(payload))
	var b strings.Builder
	for i := refChars - 1; i >= 0; i-- {
		b.WriteByte(RefAlphabet[v>>(5*i)&31])
		if i == 8 || i == 4 {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// refCRC is the CRC-10 of the 50 payload bits, most significant first.
func refCRC(payload uint64) uint16 {
	var crc uint16
	for i := refMinuteBits + refIDBits - 1; i >= 0; i-- {
		bit := uint16(payload>>i) & 1
		top := crc >> (refCRCBits - 1) & 1
		crc = crc << 1 & (1<<refCRCBits - 1)
		if top^bit == 1 {
			crc ^= refCRCPoly
		}
	}
	return crc
}

// ErrRef is matched by every error of ParseRef.
var ErrRef = errors.New("passage reference")

// RefError says what is wrong with a reference as typed.
type RefError struct {
	Input string
	Why   string
}

func (e *RefError) Error() string {
	return fmt.Sprintf("passage reference %q: %s", e.Input, e.Why)
}

// Is makes errors.Is(err, ErrRef) true.
func (e *RefError) Is(target error) bool { return target == ErrRef }

// ParseRef reads a reference as a person types or reads it out: case does
// not matter, and spaces and hyphens anywhere are ignored. Anything else
// is a *RefError that says what to check.
func ParseRef(s string) (Ref, error) {
	in := s
	if len(in) > 64 {
		in = in[:64] + "…"
	}
	bad := func(format string, args ...any) (Ref, error) {
		return Ref{}, &RefError{Input: in, Why: fmt.Sprintf(format, args...)}
	}
	var v uint64
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		d := strings.IndexByte(RefAlphabet, c)
		if d < 0 {
			switch c {
			case '0', '1', 'I', 'O':
				return bad("it has no 0, 1, I or O: read the reference on the slip or photo again")
			}
			return bad("%q is not one of its characters (2-9 and A-Z without I and O)", rune(c))
		}
		n++
		if n > refChars {
			return bad("it has more than %d characters", refChars)
		}
		v = v<<5 | uint64(d)
	}
	if n != refChars {
		return bad("it has %d characters, want %d (like K7M2-Q9XR-4HTB)", n, refChars)
	}
	payload := v >> refCRCBits
	if uint16(v&(1<<refCRCBits-1)) != refCRC(payload) {
		return bad("its check characters do not match: a character is misread or two are swapped")
	}
	return Ref{Minute: uint32(payload >> refIDBits), ID: uint32(payload & (1<<refIDBits - 1))}, nil
}
