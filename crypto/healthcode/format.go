package healthcode

import (
	"errors"
	"time"
)

// Prefix starts every native code, static or rolling.
const Prefix = "HCN1:"

// Version is the format version this package writes and reads (the value
// of ClaimVersion).
const Version = 1

// Private CWT claim keys of the native code, from the private-use range of
// the CWT Claims registry (RFC 8392 §9.1: integers below -65536). The
// registered claims iss (1), exp (4), iat (6) and cnf (8) are used as
// registered.
const (
	ClaimVersion     = -65537 // uint: format version, 1
	ClaimCrit        = -65538 // array of claim keys the verifier must understand
	ClaimIndex       = -65539 // uint32: the holder's index at the issuer
	ClaimColour      = -65540 // uint: 1 green, 2 yellow, 3 red
	ClaimColourSince = -65541 // uint: NumericDate when the colour took effect
	ClaimName        = -65542 // tstr: masked display name ("Zhang *")
)

// Registered claim keys used by the native code.
const (
	claimIss = 1
	claimExp = 4
	claimIat = 6
	claimCnf = 8
)

// Limits and defaults of the format.
const (
	// DefaultTTL is the lifetime of a code when the issuer names none.
	DefaultTTL = 24 * time.Hour
	// MaxTTL is the longest lifetime of a code with a holder key (a phone
	// code). Terminals keep status entries only that long, so a longer
	// lived code could outlast a change of colour.
	MaxTTL = 24 * time.Hour
	// MaxPaperTTL is the longest lifetime of a paper code (no holder key).
	MaxPaperTTL = 7 * 24 * time.Hour
	// MaxNameLen is the longest display name in bytes (UTF-8).
	MaxNameLen = 64
	// Step is the time step of rolling presentations.
	Step = 30 * time.Second
	// DefaultTolerance is the clock tolerance between phone, issuer and
	// terminal when VerifyOptions.Tolerance is zero: one time step.
	DefaultTolerance = Step
)

// RollingContext starts the message a holder signs for a rolling
// presentation; it is followed by one zero byte, the time step as an
// unsigned 64-bit big-endian integer and the SHA-256 of the credential's
// COSE bytes.
const RollingContext = "Sentinel HCN1 rolling v1"

// rollingMsgLen is the length of the message a holder signs.
const rollingMsgLen = len(RollingContext) + 1 + 8 + 32

// Errors of the issuing and presenting side. The verifying side returns
// *credential.Rejection values instead.
var (
	ErrClaims    = errors.New("healthcode: invalid claims")
	ErrKey       = errors.New("healthcode: unsupported key")
	ErrNotHolder = errors.New("healthcode: the key is not the credential's holder key")
	ErrPaper     = errors.New("healthcode: the credential has no holder key, so it has no rolling presentation")
)

// StepOf returns the rolling time step of t: the number of whole 30-second
// periods since 1970-01-01T00:00:00Z. Times before 1970 give 0.
func StepOf(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / uint64(Step/time.Second)
}
