package enrol

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"time"

	"sentinel/internal/central"
	syncenrol "sentinel/sync/enrol"
)

// Store keeps enrolment tokens, enrolled devices and revocations: the
// central store's registry (boltstore, pgstore and memstore are).
type Store = central.Registry

// RevocationChecker answers whether a device is revoked, or that it cannot
// tell now: Guard then refuses the request as unavailable (retried), not as
// revoked (which the terminal records and shows its guard).
type RevocationChecker interface {
	CheckRevoked(id string) (bool, error)
}

// Revocations is the RevocationChecker of a registry. A device the
// registry does not hold is not revoked (the mutual TLS handshake checked
// that the device CA issued its certificate).
type Revocations struct {
	Registry central.Registry
	// Timeout bounds one look-up; 0 means 5 seconds.
	Timeout time.Duration
}

var _ RevocationChecker = Revocations{}

// CheckRevoked implements RevocationChecker.
func (r Revocations) CheckRevoked(id string) (bool, error) {
	d := r.Timeout
	if d == 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	dev, ok, err := r.Registry.EnrolledDevice(ctx, id)
	if err != nil {
		return false, fmt.Errorf("enrol: revocation of %s: %w", id, err)
	}
	return ok && !dev.Revoked.IsZero(), nil
}

// Revoked answers whether device id is revoked; a registry it cannot read
// revokes every device: it fails closed.
func (r Revocations) Revoked(id string) bool {
	rev, err := r.CheckRevoked(id)
	return rev || err != nil
}

// TokenHash is the SHA-256 of a token's value.
type TokenHash = central.TokenHash

// Token is a single-use enrolment token bound to a site.
type Token = central.EnrolToken

// Device is an enrolled terminal.
type Device = central.EnrolledDevice

// tokenEncoding spells tokens in upper case and digits, which a QR code
// holds in its compact alphanumeric mode.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken makes a random 128-bit token for site, valid from now for ttl,
// and returns its value (shown once, to ops) and its record.
func NewToken(site string, now time.Time, ttl time.Duration) (string, Token, error) {
	if err := CheckSite(site); err != nil {
		return "", Token{}, fmt.Errorf("enrol: new token: %w", err)
	}
	if ttl <= 0 {
		return "", Token{}, fmt.Errorf("enrol: new token: lifetime %v: want more than 0", ttl)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, fmt.Errorf("enrol: new token: %w", err)
	}
	v := tokenEncoding.EncodeToString(b[:])
	return v, Token{Hash: HashToken(v), Site: site, Created: now.UTC(), Expires: now.Add(ttl).UTC()}, nil
}

// HashToken returns the hash under which a token's value is stored.
func HashToken(v string) TokenHash {
	return sha256.Sum256([]byte(syncenrol.NormToken(v)))
}
