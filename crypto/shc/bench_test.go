package shc

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"testing"
	"time"
)

// BenchmarkVerifySHC verifies one card from its shc:/ numeric text to the
// credential; BenchmarkBareP256Verify is the bare ES256 check of the same
// signature with the same key, the physical limit.
func BenchmarkVerifySHC(b *testing.B) {
	key := newKey(b)
	store := storeWithCRL(b, key, testIss, "revokedRid.1740834000")
	qr := EncodeNumeric(mustSign(b, key, testIss, testVC("aRid"), testNbf, time.Time{}))
	now := testNbf.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		u, err := Decode(qr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := u.Verify(store, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareP256Verify(b *testing.B) {
	key := newKey(b)
	jws := mustSign(b, key, testIss, testVC("aRid"), testNbf, time.Time{})
	h, p, s := splitDots(jws)
	sig, _ := base64.RawURLEncoding.DecodeString(s)
	msg := []byte(h + "." + p)
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(msg)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&key.PublicKey, sum[:], r, s) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkDecodeSHC is the decoding alone: numeric, base64url, inflate
// and the JSON envelope.
func BenchmarkDecodeSHC(b *testing.B) {
	key := newKey(b)
	qr := EncodeNumeric(mustSign(b, key, testIss, testVC("aRid"), testNbf, time.Time{}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(qr); err != nil {
			b.Fatal(err)
		}
	}
}
