package cose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestVerifyIndependentECDSA: Verify accepts ECDSA signatures made
// without this package (the Sig_structure built with the CBOR library,
// hashed with the algorithm's hash of RFC 9053, signed with
// crypto/ecdsa), for small payloads and big ones (whose Sig_structure
// Parse builds), and refuses signatures over the same bytes under
// another hash, with a non-empty external_aad or another context. Sign
// and Verify share their hashing, so a round trip alone would not see a
// wrong hash.
func TestVerifyIndependentECDSA(t *testing.T) {
	hashes := map[string]func([]byte) []byte{
		"SHA-256": func(b []byte) []byte { d := sha256.Sum256(b); return d[:] },
		"SHA-384": func(b []byte) []byte { d := sha512.Sum384(b); return d[:] },
		"SHA-512": func(b []byte) []byte { d := sha512.Sum512(b); return d[:] },
	}
	for _, tc := range []struct {
		name  string
		alg   int64
		curve elliptic.Curve
		hash  string
	}{
		{"ES256", AlgES256, elliptic.P256(), "SHA-256"},
		{"ES384", AlgES384, elliptic.P384(), "SHA-384"},
		{"ES512", AlgES512, elliptic.P521(), "SHA-512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			protected, err := cbor.Marshal(map[int]any{1: tc.alg, 4: []byte("kid")})
			if err != nil {
				t.Fatal(err)
			}
			size := (tc.curve.Params().BitSize + 7) / 8
			sign := func(t *testing.T, context string, aad, payload []byte, hash string) []byte {
				t.Helper()
				tbs, err := cbor.Marshal([]any{context, protected, aad, payload})
				if err != nil {
					t.Fatal(err)
				}
				r, s, err := ecdsa.Sign(rand.Reader, key, hashes[hash](tbs))
				if err != nil {
					t.Fatal(err)
				}
				sig := make([]byte, 2*size)
				r.FillBytes(sig[:size])
				s.FillBytes(sig[size:])
				msg, err := cbor.Marshal(cbor.Tag{Number: 18, Content: []any{protected, map[int]any{}, payload, sig}})
				if err != nil {
					t.Fatal(err)
				}
				return msg
			}
			for _, n := range []int{7, sigInPlaceMin + 3} {
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(i * 13)
				}
				verify := func(msg []byte) error {
					m, err := Parse(msg)
					if err != nil {
						t.Fatal(err)
					}
					return m.Verify(&key.PublicKey)
				}
				if err := verify(sign(t, "Signature1", []byte{}, payload, tc.hash)); err != nil {
					t.Errorf("%d-byte payload: %v", n, err)
				}
				for hash := range hashes {
					if hash == tc.hash {
						continue
					}
					if err := verify(sign(t, "Signature1", []byte{}, payload, hash)); !errors.Is(err, ErrSignature) {
						t.Errorf("%d-byte payload signed over its %s: got %v, want ErrSignature", n, hash, err)
					}
				}
				if err := verify(sign(t, "Signature1", []byte("aad"), payload, tc.hash)); !errors.Is(err, ErrSignature) {
					t.Errorf("%d-byte payload signed with an external_aad: got %v, want ErrSignature", n, err)
				}
				if err := verify(sign(t, "Signature", []byte{}, payload, tc.hash)); !errors.Is(err, ErrSignature) {
					t.Errorf("%d-byte payload signed in another context: got %v, want ErrSignature", n, err)
				}
			}
		})
	}
}
