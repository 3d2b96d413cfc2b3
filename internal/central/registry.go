package central

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Errors of the device registry. The enrolment handler answers each with
// its own HTTP status and a message an installer understands; package enrol
// re-exports them under the same names.
var (
	// ErrTokenUnknown: no token with this value was ever made (or it was
	// mistyped).
	ErrTokenUnknown = errors.New("enrol: unknown enrolment token")
	// ErrTokenUsed: the token enrolled a terminal already; tokens are
	// single-use.
	ErrTokenUsed = errors.New("enrol: enrolment token used already")
	// ErrTokenExpired: the token's lifetime has passed.
	ErrTokenExpired = errors.New("enrol: enrolment token expired")
	// ErrUnknownDevice: no device with this id is enrolled.
	ErrUnknownDevice = errors.New("enrol: unknown device")
	// ErrRegistry is wrapped by the refusal of a malformed token or device
	// (no hash, no site, no id, no times), or of one whose hash or id is
	// stored already.
	ErrRegistry = errors.New("central: malformed or duplicate registry entry")
)

// TokenHash is the SHA-256 of an enrolment token's value. The registry
// keeps the hash, never the value.
type TokenHash [32]byte

// MarshalText implements encoding.TextMarshaler.
func (h TokenHash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *TokenHash) UnmarshalText(b []byte) error {
	n, err := hex.Decode(h[:], b)
	if err != nil || n != len(h) {
		return fmt.Errorf("token hash %q: want 64 hex digits", b)
	}
	return nil
}

// EnrolToken is a single-use enrolment token bound to a site.
type EnrolToken struct {
	Hash    TokenHash `json:"hash"`
	Site    string    `json:"site"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used,omitempty"`
	UsedAt  time.Time `json:"used_at,omitzero"`
	Device  string    `json:"device,omitempty"` // the device it enrolled
}

// EnrolledDevice is a terminal in the registry: enrolled, with its last
// certificate, perhaps revoked.
type EnrolledDevice struct {
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	Enrolled time.Time `json:"enrolled"`
	Serial   string    `json:"serial"` // of the last certificate, hex
	NotAfter time.Time `json:"not_after"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// Registry keeps enrolment tokens, enrolled devices and their revocations.
// Its methods are safe for concurrent use, also by several processes on one
// database.
type Registry interface {
	// AddEnrolToken stores a token (its hash, never its value). A token
	// without hash, site or expiry, or whose hash is stored, is refused
	// with ErrRegistry.
	AddEnrolToken(ctx context.Context, t EnrolToken) error
	// EnrolDevice enrols device d with the token of hash h at now, in one
	// transaction: it checks the token, marks it used by d.ID and stores
	// d with the token's site (d.Site is set from the token). Either both
	// happen or neither: a refusal or a failure leaves the token unspent
	// and no device, so the installer's retry can still enrol. Of several
	// enrolling with the same token at once, one succeeds and the others
	// get ErrTokenUsed; a spent token is ErrTokenUsed also for a retry of
	// the request that spent it. Other refusals: ErrTokenUnknown,
	// ErrTokenExpired, and ErrRegistry for a malformed device or an id
	// stored already. It returns the device as stored.
	EnrolDevice(ctx context.Context, h TokenHash, d EnrolledDevice, now time.Time) (EnrolledDevice, error)
	// EnrolTokens lists the tokens, spent or not, by creation time.
	EnrolTokens(ctx context.Context) ([]EnrolToken, error)
	// AddEnrolled records an enrolled device without a token (the import
	// of a legacy registry; enrolment uses EnrolDevice); an id stored
	// already is refused with ErrRegistry.
	AddEnrolled(ctx context.Context, d EnrolledDevice) error
	// Enrolled lists the enrolled devices by enrolment time, then id.
	Enrolled(ctx context.Context) ([]EnrolledDevice, error)
	// EnrolledDevice returns device id; ok is false when there is none.
	EnrolledDevice(ctx context.Context, id string) (d EnrolledDevice, ok bool, err error)
	// Renewed records device id's new certificate (ErrUnknownDevice when
	// there is none).
	Renewed(ctx context.Context, id, serial string, notAfter time.Time) error
	// RevokeDevice revokes device id at now (ErrUnknownDevice when there is
	// none). Revoking a revoked device keeps the first time.
	RevokeDevice(ctx context.Context, id string, now time.Time) error
}

// CheckEnrolToken checks a token before a store keeps it; the error wraps
// ErrRegistry.
func CheckEnrolToken(t EnrolToken) error {
	switch {
	case t.Hash == TokenHash{}:
		return fmt.Errorf("%w: enrolment token without hash", ErrRegistry)
	case t.Site == "":
		return fmt.Errorf("%w: enrolment token without site", ErrRegistry)
	case t.Expires.IsZero():
		return fmt.Errorf("%w: enrolment token without expiry", ErrRegistry)
	case t.Used && t.Device == "":
		return fmt.Errorf("%w: spent enrolment token that names no device", ErrRegistry)
	}
	return nil
}

// CheckEnrolled checks a device before a store keeps it; the error wraps
// ErrRegistry.
func CheckEnrolled(d EnrolledDevice) error {
	switch {
	case d.ID == "":
		return fmt.Errorf("%w: device without id", ErrRegistry)
	case d.Enrolled.IsZero():
		return fmt.Errorf("%w: device %s without enrolment time", ErrRegistry, d.ID)
	}
	return nil
}

// Redeem decides the enrolment of device d with token t at now: the token
// spent by d.ID and d with the token's site, or ErrTokenUsed,
// ErrTokenExpired or (a malformed device, checked after the token)
// ErrRegistry. Stores call it inside the transaction that read t and write
// its result, so that every store says the same.
func Redeem(t EnrolToken, d EnrolledDevice, now time.Time) (EnrolToken, EnrolledDevice, error) {
	switch {
	case t.Used:
		return t, d, fmt.Errorf("%w at %s", ErrTokenUsed, t.UsedAt.Format(time.RFC3339))
	case !now.Before(t.Expires):
		return t, d, fmt.Errorf("%w at %s", ErrTokenExpired, t.Expires.Format(time.RFC3339))
	}
	d.Site = t.Site
	if err := CheckEnrolled(d); err != nil {
		return t, d, err
	}
	t.Used, t.UsedAt, t.Device = true, now.UTC(), d.ID
	return t, d, nil
}

// UnknownDevice is the error for device id that the registry does not hold.
func UnknownDevice(id string) error {
	return fmt.Errorf("%w %q: see 'sentinel-central devices list'", ErrUnknownDevice, id)
}
