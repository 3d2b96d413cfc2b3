package healthcode

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"runtime"
	"testing"

	"sentinel/crypto/credential"
)

// Benchmarks of full verification from the text beside the bare signature
// check on the same key over the same message (the code's Sig_structure),
// the physical limit.

func benchVerify(b *testing.B, text string, f fixture) {
	b.Helper()
	opts := VerifyOptions{Now: testClock}
	if _, err := Verify(text, f.store, opts); err != nil {
		b.Fatal(err)
	}
	loop(b, func() {
		if _, err := Verify(text, f.store, opts); err != nil {
			b.Fatal(err)
		}
	})
}

// loop runs op b.N times on one locked thread and reports, besides the
// wall time, the thread's CPU time per operation (cpu-ns/op), which a
// loaded machine disturbs much less.
func loop(b *testing.B, op func()) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start := threadCPU()
	for b.Loop() {
		op()
	}
	if cpu := threadCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func greenClaims() Claims {
	return Claims{Index: 12345, Colour: credential.ColourGreen, DisplayName: "Zhang *"}
}

// sigStructure returns the COSE Sig_structure and signature of a code.
func sigStructure(b *testing.B, text string) (tbs, sig []byte) {
	b.Helper()
	u, err := Decode(text)
	if err != nil {
		b.Fatal(err)
	}
	return u.msg.AppendSigStructure(nil), u.msg.Signature
}

func BenchmarkVerifyEd25519(b *testing.B) {
	f := newFixture(b, "ZJ", edKey("issuer ZJ"))
	benchVerify(b, f.issue(b, greenClaims()), f)
}

func BenchmarkBareEd25519(b *testing.B) {
	k := edKey("issuer ZJ")
	f := newFixture(b, "ZJ", k)
	tbs, sig := sigStructure(b, f.issue(b, greenClaims()))
	pub := k.Public().(ed25519.PublicKey)
	loop(b, func() {
		if !ed25519.Verify(pub, tbs, sig) {
			b.Fatal("bad signature")
		}
	})
}

func BenchmarkVerifyES256(b *testing.B) {
	f := newFixture(b, "ZJ", p256Key(b, "issuer ZJ p256"))
	benchVerify(b, f.issue(b, greenClaims()), f)
}

// BenchmarkBareP256 is ecdsa.Verify on the same key, the digest and the
// signature's integers computed beforehand: stricter than the code's
// path, which also hashes the Sig_structure.
func BenchmarkBareP256(b *testing.B) {
	k := p256Key(b, "issuer ZJ p256")
	f := newFixture(b, "ZJ", k)
	tbs, sig := sigStructure(b, f.issue(b, greenClaims()))
	digest := sha256.Sum256(tbs)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	pub := &k.PublicKey
	loop(b, func() {
		if !ecdsa.Verify(pub, digest[:], r, s) {
			b.Fatal("bad signature")
		}
	})
}

func BenchmarkVerifyRolling(b *testing.B) {
	f := newFixture(b, "ZJ", edKey("issuer ZJ"))
	holder := edKey("holder 12345")
	c := greenClaims()
	c.HolderKey = holder.Public()
	text, err := Present(f.issue(b, c), holder, testClock)
	if err != nil {
		b.Fatal(err)
	}
	benchVerify(b, text, f)
}

func BenchmarkDecode(b *testing.B) {
	f := newFixture(b, "ZJ", edKey("issuer ZJ"))
	text := f.issue(b, greenClaims())
	loop(b, func() {
		if _, err := Decode(text); err != nil {
			b.Fatal(err)
		}
	})
}
