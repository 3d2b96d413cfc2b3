package dcc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"runtime"
	"testing"

	"sentinel/crypto/trust"
)

// measure runs f in the benchmark loop and adds the CPU time of the
// benchmark's thread per operation (cpu-ns/op) beside the wall time.
func measure(b *testing.B, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start, n := threadCPU(), 0
	for b.Loop() {
		f()
		n++
	}
	if cpu := threadCPU() - start; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

// benchCode signs a vaccination certificate with one of our DSCs and
// returns the code, a verifier that trusts the DSC, and the decoded
// message (for the bare baselines: the same key, signature and digest).
func benchCode(b *testing.B, dsc string) ([]byte, *Verifier, *Unverified) {
	b.Helper()
	cert, key := loadDSC(b, dsc)
	code, err := Sign(cert, key, vaccination(), "DE", vecIat, vecExp)
	if err != nil {
		b.Fatal(err)
	}
	store := trust.New()
	if _, err := store.AddDSC(cert); err != nil {
		b.Fatal(err)
	}
	store.SetPseudonymKey(vecPseudonymKey)
	u, err := DecodeString(code)
	if err != nil {
		b.Fatal(err)
	}
	return []byte(code), NewVerifier(store), u
}

func benchVerify(b *testing.B, dsc string, opts Options) {
	code, v, _ := benchCode(b, dsc)
	if _, err := v.Verify(code, opts); err != nil {
		b.Fatal(err)
	}
	measure(b, func() {
		if _, err := v.Verify(code, opts); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkVerifyES256 goes from the "HC1:" text to a verified credential
// (pseudonym included), without the schema check.
func BenchmarkVerifyES256(b *testing.B) {
	benchVerify(b, "es256-any", Options{Now: vecClock, SkipSchema: true})
}

// BenchmarkVerifyPS256 is the same with an RSA-2048 DSC.
func BenchmarkVerifyPS256(b *testing.B) {
	benchVerify(b, "ps256-any", Options{Now: vecClock, SkipSchema: true})
}

// BenchmarkVerifyFull adds the JSON schema check.
func BenchmarkVerifyFull(b *testing.B) {
	benchVerify(b, "es256-any", Options{Now: vecClock})
}

// BenchmarkBareP256Verify is the physical limit of BenchmarkVerifyES256:
// ecdsa.VerifyASN1 with the same key over the same, precomputed digest of
// the Sig_structure, the signature already in ASN.1.
func BenchmarkBareP256Verify(b *testing.B) {
	_, _, u := benchCode(b, "es256-any")
	cert, _ := loadDSC(b, "es256-any")
	pub := cert.PublicKey.(*ecdsa.PublicKey)
	digest := sha256.Sum256(u.msg.AppendSigStructure(nil))
	sig := u.msg.Signature
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		b.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], der) {
		b.Fatal("the bare signature does not verify")
	}
	measure(b, func() {
		if !ecdsa.VerifyASN1(pub, digest[:], der) {
			b.Fatal("does not verify")
		}
	})
}

// BenchmarkBareRSAPSSVerify is the physical limit of BenchmarkVerifyPS256.
func BenchmarkBareRSAPSSVerify(b *testing.B) {
	_, _, u := benchCode(b, "ps256-any")
	cert, _ := loadDSC(b, "ps256-any")
	pub := cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256(u.msg.AppendSigStructure(nil))
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], u.msg.Signature, opts); err != nil {
		b.Fatal(err)
	}
	measure(b, func() {
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], u.msg.Signature, opts); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSchema is the schema check alone: the hcert CBOR decoded and
// walked by the schema compiled into Go checks (what Verify runs).
func BenchmarkSchema(b *testing.B) { benchSchema(b, validateSchema) }

// BenchmarkSchemaJSON is the reference validator: CBOR to JSON values and
// validation by the jsonschema library.
func BenchmarkSchemaJSON(b *testing.B) { benchSchema(b, validateSchemaJSON) }

func benchSchema(b *testing.B, validateSchema func([]byte, string) error) {
	_, _, u := benchCode(b, "es256-any")
	claims, err := decodeClaims(u.msg.Payload)
	if err != nil {
		b.Fatal(err)
	}
	if err := validateSchema(claims.HCert.V1, "1.3.0"); err != nil {
		b.Fatal(err)
	}
	measure(b, func() {
		if err := validateSchema(claims.HCert.V1, "1.3.0"); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDecode is the text-to-COSE stages alone (prefix, Base45, zlib,
// COSE parse).
func BenchmarkDecode(b *testing.B) {
	code, _, _ := benchCode(b, "es256-any")
	var u Unverified
	measure(b, func() {
		if err := u.decode(code); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTerminalPath is what a terminal does with an EU DCC: from the
// "HC1:" text to a verified credential with the signature, the JSON schema
// and the codes checked against the EU value sets (issue 14's "decode +
// signature + schema + value sets"). Compare it with
// BenchmarkBareP256Verify for the ratio.
func BenchmarkTerminalPath(b *testing.B) {
	code, v, _ := benchCode(b, "es256-any")
	v.store.SetValueSets(testValueSets(b, false))
	opts := Options{Now: vecClock}
	if c, err := v.Verify(code, opts); err != nil || len(c.Warnings) > 0 {
		b.Fatalf("%v %v", err, c)
	}
	measure(b, func() {
		if _, err := v.Verify(code, opts); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkValueSets is the value-set check alone.
func BenchmarkValueSets(b *testing.B) {
	h := vaccination()
	vs := testValueSets(b, false)
	measure(b, func() {
		if _, err := h.checkValueSets(vs); err != nil {
			b.Fatal(err)
		}
	})
}
