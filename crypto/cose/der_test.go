package cose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
)

// TestSignatureDER: the hand-written DER of an ECDSA signature is what
// encoding/asn1 makes of the two big.Int, for every curve's size and the
// edge values (zero, leading zeros, a high bit, all ones).
func TestSignatureDER(t *testing.T) {
	for _, size := range []int{32, 48, 66} {
		var cases [][2][]byte
		edge := func(f func(b []byte)) []byte { b := make([]byte, size); f(b); return b }
		vals := [][]byte{
			edge(func(b []byte) {}),
			edge(func(b []byte) { b[size-1] = 1 }),
			edge(func(b []byte) { b[0] = 0x80 }),
			edge(func(b []byte) { b[0] = 0x7f; b[1] = 0xff }),
			edge(func(b []byte) { b[1] = 0x80 }),
			edge(func(b []byte) {
				for i := range b {
					b[i] = 0xff
				}
			}),
		}
		for range 200 {
			b := make([]byte, size)
			rand.Read(b)
			b[0] &= byte(0xff >> (b[1] % 9))
			vals = append(vals, b)
		}
		for _, r := range vals {
			for _, s := range vals[:8] {
				cases = append(cases, [2][]byte{r, s}, [2][]byte{s, r})
			}
		}
		for _, c := range cases {
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(c[0]), new(big.Int).SetBytes(c[1])})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendSignatureDER(nil, c[0], c[1]); string(got) != string(want) {
				t.Fatalf("size %d, r %x s %x:\n got %x\nwant %x", size, c[0], c[1], got, want)
			}
		}
	}
}

// TestVerifyDigest: VerifyDigest gives VerifySignature's verdict for ES256
// and PS256, on good signatures and damaged ones (r or s zero, the order,
// a flipped bit), and refuses the algorithms that do not hash with
// SHA-256.
func TestVerifyDigest(t *testing.T) {
	ks := keys(t)
	msg := []byte("Signature1 structure stand-in")
	digest := sha256.Sum256(msg)
	for _, name := range []string{"P-256", "RSA-2048"} {
		signer := ks[name]
		alg, _ := AlgFor(signer.Public())
		sig, err := SignRaw(nil, signer, alg, msg)
		if err != nil {
			t.Fatal(err)
		}
		sigs := [][]byte{sig}
		for i := range sig {
			if i%7 == 0 {
				bad := append([]byte(nil), sig...)
				bad[i] ^= 0x10
				sigs = append(sigs, bad)
			}
		}
		if alg == AlgES256 {
			n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
			zero := make([]byte, 32)
			sigs = append(sigs, append(append([]byte(nil), zero...), sig[32:]...), append(append([]byte(nil), sig[:32]...), zero...),
				append(append([]byte(nil), n...), sig[32:]...), append(append([]byte(nil), sig[:32]...), n...), sig[:63])
		}
		for i, s := range sigs {
			want := VerifySignature(alg, signer.Public(), msg, s)
			got := VerifyDigest(alg, signer.Public(), &digest, s)
			if (want == nil) != (got == nil) || !errors.Is(got, ErrSignature) && got != nil {
				t.Errorf("%s signature %d: VerifySignature %v, VerifyDigest %v", name, i, want, got)
			}
			if i == 0 && got != nil {
				t.Errorf("%s: the good signature does not verify: %v", name, got)
			}
		}
	}
	p384 := ks["P-384"].(*ecdsa.PrivateKey)
	for _, c := range []struct {
		alg int64
		key any
	}{{AlgES256, &p384.PublicKey}, {AlgES384, &p384.PublicKey}, {AlgEdDSA, ks["Ed25519"].Public()}, {AlgES256, ks["RSA-2048"].Public()}} {
		if err := VerifyDigest(c.alg, c.key, &digest, make([]byte, 64)); !errors.Is(err, ErrAlgorithm) {
			t.Errorf("alg %d with a %T: %v, want ErrAlgorithm", c.alg, c.key, err)
		}
	}
}
