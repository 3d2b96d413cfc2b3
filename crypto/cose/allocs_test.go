package cose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// TestVerifyWithoutGarbage: verifying a code-sized message under EdDSA
// allocates nothing, and under ECDSA nothing but what crypto/ecdsa does;
// it runs for every code shown at the gate.
func TestVerifyWithoutGarbage(t *testing.T) {
	pub, ed, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := make([]byte, 300)
	for _, c := range []struct {
		name string
		key  any
		sign func() ([]byte, error)
		max  float64
	}{
		{"EdDSA", pub, func() ([]byte, error) { return Sign(nil, ed, []byte("kid"), payload) }, 0},
		{"ES256", &p256.PublicKey, func() ([]byte, error) { return Sign(nil, p256, []byte("kid"), payload) }, ecdsaVerifyAllocs(t, p256)},
	} {
		msg, err := c.sign()
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(msg)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() {
			if err := m.Verify(c.key); err != nil {
				t.Fatal(err)
			}
		}); n > c.max {
			t.Errorf("%s: Verify made %v allocations, want at most %v", c.name, n, c.max)
		}
	}
}

// ecdsaVerifyAllocs is what crypto/ecdsa allocates to verify one
// signature, with the DER form built on the stack as verifyECDSA does.
func ecdsaVerifyAllocs(t *testing.T, k *ecdsa.PrivateKey) float64 {
	digest := make([]byte, 32)
	der, err := ecdsa.SignASN1(rand.Reader, k, digest)
	if err != nil {
		t.Fatal(err)
	}
	return testing.AllocsPerRun(100, func() {
		var buf [3 + 2*(3+66)]byte
		if !ecdsa.VerifyASN1(&k.PublicKey, digest, append(buf[:0], der...)) {
			t.Fatal("does not verify")
		}
	})
}
