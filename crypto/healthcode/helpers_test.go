package healthcode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"testing"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/trust"

	"github.com/fxamacker/cbor/v2"
)

// seed derives a fixed 32-byte seed from a label, so that every test key
// is reproducible.
func seed(label string) []byte {
	s := sha256.Sum256([]byte("sentinel healthcode test key: " + label))
	return s[:]
}

// edKey returns the Ed25519 key of label.
func edKey(label string) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed(label)) }

// p256Key returns the P-256 key of label (the scalar is the seed).
func p256Key(t testing.TB, label string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed(label))
	if err != nil {
		t.Fatalf("p256 key %s: %v", label, err)
	}
	return k
}

// testClock is the pinned validation clock of the unit tests.
var testClock = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// fixture is an issuer with its trust store.
type fixture struct {
	issuer *Issuer
	store  *trust.Store
	key    *trust.NativeKey
}

func newFixture(t testing.TB, id string, signer crypto.Signer) fixture {
	t.Helper()
	is, err := NewIssuer(id, signer, &IssuerOptions{Clock: func() time.Time { return testClock }})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	st := trust.New()
	k, err := st.AddNativeKey(id, signer.Public(), trust.Validity{})
	if err != nil {
		t.Fatalf("AddNativeKey: %v", err)
	}
	return fixture{issuer: is, store: st, key: k}
}

func (f fixture) issue(t testing.TB, c Claims) string {
	t.Helper()
	text, err := f.issuer.Issue(c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return text
}

// craft signs arbitrary claims under an arbitrary protected header, for
// codes the Issuer refuses to make.
func craft(t testing.TB, signer crypto.Signer, protected map[int64]any, claims map[int64]any) string {
	t.Helper()
	em := cose.EncMode()
	payload, err := em.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return craftRaw(t, signer, protected, payload)
}

// craftRaw signs payload bytes as they are.
func craftRaw(t testing.TB, signer crypto.Signer, protected map[int64]any, payload []byte) string {
	t.Helper()
	em := cose.EncMode()
	ph, err := em.Marshal(protected)
	if err != nil {
		t.Fatal(err)
	}
	m := cose.Sign1{RawProtected: ph, Payload: payload}
	sig, err := cose.SignRaw(nil, signer, signAlg(signer), m.AppendSigStructure(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(cbor.Tag{Number: cose.TagSign1, Content: []any{ph, map[int64]any{}, payload, sig}})
	if err != nil {
		t.Fatal(err)
	}
	return encodeText(b)
}

func signAlg(s crypto.Signer) int64 {
	if _, ok := s.Public().(ed25519.PublicKey); ok {
		return cose.AlgEdDSA
	}
	return cose.AlgES256
}

// baseMap returns the claims map the fixture's issuer would sign for c.
func (f fixture) baseMap(t testing.TB, c Claims) map[int64]any {
	t.Helper()
	m, err := f.issuer.claimsMap(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// header returns the protected header the fixture's issuer writes.
func (f fixture) header() map[int64]any {
	kid := f.issuer.KeyID()
	return map[int64]any{1: signAlg(f.issuer.signer), 4: kid[:]}
}
