package verify

import (
	"bytes"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/trust"
)

// Prefixes that identify the formats.
var (
	prefixNative = []byte("HCN1:")
	prefixDCC    = []byte("HC1:")
	prefixSHC    = []byte("shc:/")
)

// Options are the per-call inputs of a verification.
type Options struct {
	// Now is the time to verify at; the terminal passes its trusted clock.
	Now time.Time
	// Tolerance is the clock tolerance for issued-at and rolling codes;
	// zero means the formats' defaults.
	Tolerance time.Duration
	// SkipSchema skips the EU DCC JSON schema check (benchmarks only).
	SkipSchema bool
}

// Detect returns the format a payload claims by its prefix. A bare
// compact JWS is taken for a SMART Health Card.
func Detect(payload []byte) (credential.Format, bool) {
	switch {
	case bytes.HasPrefix(payload, prefixNative):
		return credential.FormatNative, true
	case bytes.HasPrefix(payload, prefixDCC):
		return credential.FormatDCC, true
	case bytes.HasPrefix(payload, prefixSHC), bytes.HasPrefix(payload, prefixJWS):
		return credential.FormatSHC, true
	}
	return "", false
}

// Verifier verifies payloads of every format against one trust store. It
// is safe for concurrent use; the store must not change while it is used.
type Verifier struct {
	store *trust.Store
	dcc   *dcc.Verifier
}

// New returns a verifier over store.
func New(store *trust.Store) *Verifier {
	return &Verifier{store: store, dcc: dcc.NewVerifier(store)}
}

// Verify verifies one payload. The error, when not nil, is a
// *credential.Rejection.
func (v *Verifier) Verify(payload []byte, opts Options) (*credential.Credential, error) {
	if len(payload) > credential.MaxPayload {
		return nil, credential.Reject("", credential.ReasonTooLarge, "payload of %d bytes, the limit is %d", len(payload), credential.MaxPayload)
	}
	if v.store == nil || v.store.Len() == 0 {
		return nil, credential.Reject("", credential.ReasonNoTrust, "no trusted keys are loaded")
	}
	f, ok := Detect(payload)
	if !ok {
		return nil, credential.Reject("", credential.ReasonUnknownFormat, "no known prefix (HCN1:, HC1:, shc:/)")
	}
	return v.verify(f, payload, opts)
}
