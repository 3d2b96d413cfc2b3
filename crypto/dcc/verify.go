package dcc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// Options are the per-call inputs of a verification.
type Options struct {
	// Now is the time to verify at: the terminal's trusted clock. A zero
	// Now is refused (ReasonClockUntrusted); the package never reads the
	// system clock.
	Now time.Time
	// Tolerance is how far in the future an issued-at may lie, for the
	// clock drift between issuer and terminal. Zero means none.
	Tolerance time.Duration
	// SkipSchema skips the JSON schema check of the health certificate.
	// The rule "exactly one of v, t and r" is enforced either way.
	SkipSchema bool
}

// Verify checks the code against the document signer certificates in
// store and, when it is genuine and valid at opts.Now, returns the
// credential. The checks, in order: the signature (with the key id, trying
// every certificate that shares it), the payload's structure, the time
// rule DSC notBefore ≤ iat ≤ now ≤ exp ≤ DSC notAfter, the certificate's
// key usage, the schema, and the codes against the store's value sets
// (when it holds any). The error is a *credential.Rejection; what was
// noticed without refusing is in the credential's Warnings.
func (u *Unverified) Verify(store *trust.Store, opts Options) (*credential.Credential, error) {
	if opts.Now.IsZero() {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonClockUntrusted, "no verification time given")
	}
	dsc, err := u.verifySignature(store)
	if err != nil {
		return nil, err
	}
	// The payload is decoded once (decodeOnce); what that fast path does
	// not take goes through the library, claims and schema apart.
	var p content
	ok, schemaOK := decodeOnce(u.msg.Payload, &p, !opts.SkipSchema)
	if !ok {
		if err := decodeContent(u.msg.Payload, &p); err != nil {
			return nil, err
		}
	}
	if err := checkTime(dsc, &p, opts.Now, opts.Tolerance); err != nil {
		return nil, err
	}
	if err := p.HCert.checkOne(); err != nil {
		return nil, err
	}
	if err := checkKeyUsage(dsc.Cert, &p.HCert); err != nil {
		return nil, err
	}
	if !opts.SkipSchema && !schemaOK {
		claims, err := decodeClaims(u.msg.Payload)
		if err != nil {
			return nil, err
		}
		if err := validateSchema(claims.HCert.V1, p.HCert.Ver); err != nil {
			return nil, err
		}
	}
	if err := checkBirth(p.HCert.DOB, p.IssuedAt); err != nil {
		return nil, err
	}
	p.HCert.lenient()
	warnings, err := p.HCert.checkValueSets(store.ValueSets())
	if err != nil {
		return nil, err
	}
	c := u.credential(store, dsc, &p)
	c.Warnings = warnings
	return c, nil
}

// verifySignature finds the document signer certificates with the code's
// key id and returns the one whose key verifies the signature (stage
// "verify").
func (u *Unverified) verifySignature(store *trust.Store) (*trust.DSC, error) {
	if store == nil || store.Len() == 0 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonNoTrust, "no trusted keys are loaded")
	}
	kid := u.msg.KID()
	if len(kid) == 0 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonUnknownKey, "the code names no key id")
	}
	dscs := store.DSCs(kid)
	if len(dscs) == 0 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonUnknownKey,
			"no trusted document signer certificate with key id %s", hex.EncodeToString(kid))
	}
	alg, ok := u.msg.Alg()
	if !ok {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadAlgorithm, "the code names no algorithm")
	}
	if alg != cose.AlgES256 && alg != cose.AlgPS256 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadAlgorithm,
			"algorithm %d: EU DCC allows only ES256 (-7) and PS256 (-37)", alg)
	}
	// Both algorithms hash with SHA-256: the digest is taken once, for
	// every candidate key and for the credential's fingerprint.
	u.digestSigStructure()
	var revoked *trust.DSC
	var algErr error
	nAlg := 0
	for _, d := range dscs {
		err := cose.VerifyDigest(alg, d.Public, &u.digest, u.msg.Signature)
		switch {
		case err == nil && !d.Revoked:
			return d, nil
		case err == nil:
			revoked = d
		case errors.Is(err, cose.ErrAlgorithm):
			algErr = err
			nAlg++
		}
	}
	switch {
	case revoked != nil:
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonKeyRevoked,
			"document signer certificate %s is revoked", revoked.KID)
	case nAlg == len(dscs):
		// ES256 must be P-256: an ES256 header over a P-384 key is refused
		// (cose checks the curve), as the eHealth Network allows no other.
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadAlgorithm, "%w", algErr)
	}
	return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadSignature,
		"signature does not verify with the %d certificate(s) of key id %s: %w", len(dscs), hex.EncodeToString(kid), cose.ErrSignature)
}

// checkTime applies the rule DSC notBefore ≤ iat ≤ now ≤ exp ≤ DSC
// notAfter (stage "expiration"). The code's own window is checked first, so
// that an expired code reads "expired" even when its certificate has
// lapsed as well.
func checkTime(dsc *trust.DSC, p *content, now time.Time, tolerance time.Duration) error {
	if p.IssuedAt.IsZero() || p.Expires.IsZero() {
		return credential.Reject(credential.FormatDCC, credential.ReasonBadStructure, "payload: no issued-at or expiry claim")
	}
	if p.IssuedAt.After(now.Add(tolerance)) {
		return credential.Reject(credential.FormatDCC, credential.ReasonNotYetValid,
			"issued at %s, after the verification time %s", p.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.After(p.Expires) {
		return credential.Reject(credential.FormatDCC, credential.ReasonExpired,
			"expired at %s", p.Expires.Format(time.RFC3339))
	}
	v := dscValidity(dsc)
	if !v.Contains(p.IssuedAt) {
		return credential.Reject(credential.FormatDCC, credential.ReasonKeyNotValid,
			"issued at %s, outside its document signer certificate's validity %s", p.IssuedAt.Format(time.RFC3339), window(v))
	}
	if !v.Contains(now) {
		return credential.Reject(credential.FormatDCC, credential.ReasonKeyNotValid,
			"the document signer certificate is not valid at %s (validity %s)", now.UTC().Format(time.RFC3339), window(v))
	}
	if !v.NotAfter.IsZero() && p.Expires.After(v.NotAfter) {
		return credential.Reject(credential.FormatDCC, credential.ReasonKeyNotValid,
			"expires at %s, after its document signer certificate (%s)", p.Expires.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// dscValidity is the intersection of the certificate's own validity and
// the window the trust store gives it.
func dscValidity(d *trust.DSC) trust.Validity {
	v := d.Validity
	if c := d.Cert; c != nil {
		if v.NotBefore.IsZero() || c.NotBefore.After(v.NotBefore) {
			v.NotBefore = c.NotBefore
		}
		if v.NotAfter.IsZero() || c.NotAfter.Before(v.NotAfter) {
			v.NotAfter = c.NotAfter
		}
	}
	return v
}

func window(v trust.Validity) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "open"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return f(v.NotBefore) + " to " + f(v.NotAfter)
}

// credential maps a verified payload to the credential. The full name goes
// no further than the pseudonym and the masked display name.
func (u *Unverified) credential(store *trust.Store, dsc *trust.DSC, p *content) *credential.Credential {
	h := &p.HCert
	c := &credential.Credential{
		Format:   credential.FormatDCC,
		Issuer:   p.Issuer,
		KeyID:    append([]byte(nil), dsc.KID[:]...),
		IssuedAt: p.IssuedAt,
		Expires:  p.Expires,
	}
	c.Fingerprint = u.digestSigStructure()
	c.Content = &Content{HCert: h, ValueSets: store.ValueSets()}
	c.Facts, c.Revocation = h.facts()
	if c.Issuer == "" {
		c.Issuer = h.country()
	}
	if key := store.PseudonymKey(); key != nil {
		c.Holder = credential.Holder{Kind: credential.HolderPseudonym,
			Pseudonym: credential.Pseudonym(key, h.Nam.FNT, h.Nam.GNT, h.DOB)}
	}
	family, given := h.Nam.FN, h.Nam.GN
	if family == "" {
		family = h.Nam.FNT
	}
	if given == "" {
		given = h.Nam.GNT
	}
	c.DisplayName = credential.MaskName(family, given)
	return c
}

// country returns the country of the single entry.
func (h *HCert) country() string {
	switch {
	case len(h.V) > 0:
		return h.V[0].CO
	case len(h.T) > 0:
		return h.T[0].CO
	case len(h.R) > 0:
		return h.R[0].CO
	}
	return ""
}

// digestSigStructure returns the SHA-256 digest of the Sig_structure the
// signature covers, computing it on the first call.
func (u *Unverified) digestSigStructure() [sha256.Size]byte {
	if !u.digested {
		var buf [1024]byte
		u.digest = sha256.Sum256(u.msg.AppendSigStructure(buf[:0]))
		u.digested = true
	}
	return u.digest
}

// Verifier verifies "HC1:" payloads against one trust store. It is safe
// for concurrent use as long as the store is not changed.
type Verifier struct {
	store *trust.Store
}

// NewVerifier returns a verifier over store.
func NewVerifier(store *trust.Store) *Verifier { return &Verifier{store: store} }

// Verify decodes and verifies one payload; see Decode and
// Unverified.Verify. The error is a *credential.Rejection.
func (v *Verifier) Verify(payload []byte, opts Options) (*credential.Credential, error) {
	var u Unverified
	if err := u.decode(payload); err != nil {
		return nil, err
	}
	return u.Verify(v.store, opts)
}
