package healthcode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// VerifyOptions are the terminal's side of a verification.
type VerifyOptions struct {
	// Now is the terminal's time. It must be set: a zero time is refused
	// with ReasonClockUntrusted.
	Now time.Time
	// Tolerance is how far the clocks of issuer, phone and terminal may
	// differ: a code issued up to Tolerance in the future is accepted, and
	// a rolling presentation whose 30-second step overlaps
	// [Now-Tolerance, Now+Tolerance]. Zero means DefaultTolerance (one
	// step either side); negative values count as zero tolerance, which
	// accepts only the current step.
	Tolerance time.Duration
}

func (o VerifyOptions) tolerance() time.Duration {
	switch {
	case o.Tolerance == 0:
		return DefaultTolerance
	case o.Tolerance < 0:
		return 0
	}
	return o.Tolerance
}

// Verify checks the code against the native issuer keys in store at
// opts.Now and returns the credential it carries. It checks, in order:
// the trusted keys with the code's key id and algorithm (several keys may
// share a key id: each is tried), the issuer's signature, that the key
// may issue for the code's issuer, was valid when the code was issued and
// is not revoked, the rules of the format, issuance and expiry against
// the clock, and, when the credential carries a holder key, the rolling
// presentation's time step and holder signature. Every refusal is a
// *credential.Rejection with its reason.
func (u *Unverified) Verify(store *trust.Store, opts VerifyOptions) (*credential.Credential, error) {
	if opts.Now.IsZero() {
		return nil, reject(credential.ReasonClockUntrusted, "verify: no time given")
	}
	if store == nil || store.Len() == 0 {
		return nil, reject(credential.ReasonNoTrust, "verify: no trusted keys loaded")
	}
	kid := u.msg.Protected.KID
	keys := store.NativeKeys(kid)
	if len(keys) == 0 {
		return nil, reject(credential.ReasonUnknownKey, "verify: no native issuer key with key id %x", kid)
	}
	key, err := u.pickKey(keys)
	if err != nil {
		return nil, err
	}
	c := &u.claims
	if err := c.check(); err != nil {
		return nil, reject(credential.ReasonSchema, "verify: %w", err)
	}
	iat := time.Unix(int64(c.iat), 0).UTC()
	if key.Issuer != string(c.iss) {
		return nil, reject(credential.ReasonBadIssuer, "verify: code claims issuer %q, key %x issues for %q", c.iss, kid, key.Issuer)
	}
	if key.Revoked {
		return nil, reject(credential.ReasonKeyRevoked, "verify: key %x of %s is revoked", kid, key.Issuer)
	}
	if !key.Validity.Contains(iat) {
		return nil, reject(credential.ReasonKeyNotValid, "verify: key %x of %s was not valid at issuance %s", kid, key.Issuer, iat.Format(time.RFC3339))
	}
	tol := opts.tolerance()
	now := opts.Now
	if iat.After(now.Add(tol)) {
		return nil, reject(credential.ReasonNotYetValid, "verify: issued at %s, after %s: check the terminal's clock", iat.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	exp := time.Unix(int64(c.exp), 0).UTC()
	if !now.Before(exp) {
		return nil, reject(credential.ReasonExpired, "verify: expired at %s", exp.Format(time.RFC3339))
	}
	if err := u.checkLive(now, tol); err != nil {
		return nil, err
	}
	cred := &credential.Credential{
		Format:      credential.FormatNative,
		Issuer:      key.Issuer,
		KeyID:       kid[:len(kid):len(kid)],
		Holder:      credential.Holder{Kind: credential.HolderNative, Issuer: key.Issuer, Index: c.index},
		Colour:      credential.Colour(c.colour),
		ColourSince: time.Unix(int64(c.since), 0).UTC(),
		DisplayName: string(c.name),
		IssuedAt:    iat,
		Expires:     exp,
		Rolling:     u.rolling,
		Paper:       c.holder == nil,
	}
	var tbs [512]byte // a code's Sig_structure fits: no garbage per passage
	cred.Fingerprint = sha256.Sum256(u.msg.AppendSigStructure(tbs[:0]))
	if u.rolling {
		cred.Presented = stepTime(u.step)
		cred.PresentedUntil = cred.Presented.Add(Step + tol)
	}
	return cred, nil
}

// pickKey verifies the issuer's signature with the keys that share the
// code's key id and returns the one to judge the code by. The same public
// key may be registered more than once (for another issuer, or another
// window after a rotation): it is verified once, and among its entries the
// one that may issue for the code's issuer, is not revoked and was valid
// at issuance is preferred.
func (u *Unverified) pickKey(keys []*trust.NativeKey) (*trust.NativeKey, error) {
	var good *trust.NativeKey
	best := -1
	algMatched := false
	for _, k := range keys {
		if good != nil {
			if samePublic(good.Public, k.Public) {
				if sc := u.score(k); sc > best {
					good, best = k, sc
				}
			}
			continue
		}
		if !algFits(u.alg, k.Public) {
			continue
		}
		algMatched = true
		if err := u.msg.Verify(k.Public); err == nil {
			good, best = k, u.score(k)
		}
	}
	switch {
	case good != nil:
		return good, nil
	case !algMatched:
		return nil, reject(credential.ReasonBadAlgorithm, "verify: algorithm %d does not match the issuer key %x", u.alg, u.msg.Protected.KID)
	}
	return nil, reject(credential.ReasonBadSignature, "verify: issuer signature does not verify with key %x", u.msg.Protected.KID)
}

// score ranks the entries of one verified key: issuer first, then
// revocation, then validity at issuance.
func (u *Unverified) score(k *trust.NativeKey) int {
	sc := 0
	if k.Issuer == string(u.claims.iss) {
		sc += 4
	}
	if !k.Revoked {
		sc += 2
	}
	if u.claims.iat <= 1<<40 && k.Validity.Contains(time.Unix(int64(u.claims.iat), 0)) {
		sc++
	}
	return sc
}

// algFits reports whether alg is the native algorithm for pub.
func algFits(alg int64, pub crypto.PublicKey) bool {
	switch pub.(type) {
	case ed25519.PublicKey:
		return alg == cose.AlgEdDSA
	case *ecdsa.PublicKey:
		return alg == cose.AlgES256
	}
	return false
}

func samePublic(a, b crypto.PublicKey) bool {
	if e, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return e.Equal(b)
	}
	return false
}

// checkLive checks the rolling presentation of a credential that carries
// a holder key.
func (u *Unverified) checkLive(now time.Time, tol time.Duration) error {
	holder := u.claims.holder
	switch {
	case holder == nil && u.rolling:
		return reject(credential.ReasonBadStructure, "verify: rolling presentation of a paper credential (no holder key)")
	case holder == nil:
		return nil
	case !u.rolling:
		return reject(credential.ReasonLiveRequired, "verify: the credential has a holder key but no rolling signature (a screenshot of the bare credential?)")
	}
	if !stepWithin(u.step, now, tol) {
		return reject(credential.ReasonLiveStale, "verify: time step %d (%s) is outside %v of %s", u.step,
			stepTime(u.step).Format(time.RFC3339), tol, now.UTC().Format(time.RFC3339))
	}
	var msg [rollingMsgLen]byte
	rollingMessage(msg[:0], u.step, &u.hash)
	alg := cose.AlgES256
	if _, ok := holder.(ed25519.PublicKey); ok {
		alg = cose.AlgEdDSA
	}
	if err := cose.VerifySignature(alg, holder, msg[:], u.sig); err != nil {
		if errors.Is(err, cose.ErrSignature) {
			return reject(credential.ReasonLiveSignature, "verify: holder signature does not verify")
		}
		return reject(credential.ReasonLiveSignature, "verify: holder signature: %w", err)
	}
	return nil
}

// stepTime returns the start of time step s.
func stepTime(s uint64) time.Time {
	if s > 1<<40 {
		s = 1 << 40
	}
	return time.Unix(int64(s)*int64(Step/time.Second), 0).UTC()
}

// stepWithin reports whether the 30-second window of step s overlaps
// [now-tol, now+tol].
func stepWithin(s uint64, now time.Time, tol time.Duration) bool {
	if s > 1<<40 {
		return false
	}
	start := stepTime(s)
	end := start.Add(Step)
	return !start.After(now.Add(tol)) && end.After(now.Add(-tol))
}

// rollingMessage appends the message a holder signs for time step s of
// the credential whose COSE bytes hash to h.
func rollingMessage(dst []byte, s uint64, h *[32]byte) []byte {
	dst = append(dst, RollingContext...)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, s)
	return append(dst, h[:]...)
}

// Verify decodes and verifies a native code in one call.
func Verify(text string, store *trust.Store, opts VerifyOptions) (*credential.Credential, error) {
	u, err := Decode(text)
	if err != nil {
		return nil, err
	}
	return u.Verify(store, opts)
}
