package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"runtime"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func keys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"Ed25519": ed, "P-256": p256, "P-384": p384, "RSA-2048": rk}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for name, k := range keys(t) {
		t.Run(name, func(t *testing.T) {
			kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			msg, err := Sign(nil, k, kid, []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(m.KID()); got != "0102030405060708" {
				t.Errorf("kid = %s, want 0102030405060708", got)
			}
			if err := m.Verify(k.Public()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			m.Payload = []byte("payloae")
			if err := m.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("tampered payload: got %v, want ErrSignature", err)
			}
		})
	}
}

// TestBigPayloadCopiedOnce: a big payload (a status base) is copied once
// by Parse and not again by Verify, which verifies what the message holds
// even when the caller changed its payload or protected header.
func TestBigPayloadCopiedOnce(t *testing.T) {
	const size = 4 << 20
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for name, k := range keys(t) {
		t.Run(name, func(t *testing.T) {
			msg, err := Sign(nil, k, []byte("kid"), payload)
			if err != nil {
				t.Fatal(err)
			}
			if !sameAsLib(t, msg) {
				t.Fatal("a signed message with a big payload did not take the fast path")
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Verify(k.Public()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			runtime.ReadMemStats(&after)
			// Before: one copy in Parse, one in Verify's Sig_structure.
			if got := after.TotalAlloc - before.TotalAlloc; got > size+size/4 {
				t.Errorf("Parse and Verify allocated %d bytes for a %d-byte payload, want one copy", got, size)
			}
			if !bytes.Equal(m.Payload, payload) {
				t.Fatal("payload differs")
			}
			for i := range msg {
				msg[i] = 0 // the message owns its bytes
			}
			if !bytes.Equal(m.Payload, payload) || m.Verify(k.Public()) != nil {
				t.Fatal("the message changed with the bytes it was parsed from")
			}
			m.Payload[size/2] ^= 1
			if err := m.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("payload changed in place: got %v, want ErrSignature", err)
			}
			m.Payload[size/2] ^= 1
			m.Payload = bytes.Clone(m.Payload) // no longer the Sig_structure's tail
			if err := m.Verify(k.Public()); err != nil {
				t.Errorf("payload replaced by an equal copy: %v", err)
			}
			m.Payload = m.Payload[:size-1]
			if err := m.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("payload shortened: got %v, want ErrSignature", err)
			}
			m2, err := Parse(mustSign(t, k, payload))
			if err != nil {
				t.Fatal(err)
			}
			m2.Payload = m2.Payload[1:] // a tail of the Sig_structure still, but not the payload signed
			if err := m2.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("payload cut at its start: got %v, want ErrSignature", err)
			}
			m4, err := Parse(mustSign(t, k, payload))
			if err != nil {
				t.Fatal(err)
			}
			other := bytes.Clone(m4.Payload)
			other[0] ^= 1
			m4.Payload = other // other bytes of the same length, not the Sig_structure's tail
			if err := m4.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("payload replaced by other bytes of its length: got %v, want ErrSignature", err)
			}
			m3, err := Parse(mustSign(t, k, payload))
			if err != nil {
				t.Fatal(err)
			}
			m3.RawProtected = append(bytes.Clone(m3.RawProtected[:len(m3.RawProtected)-1]), 'X')
			if err := m3.Verify(k.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("protected header changed: got %v, want ErrSignature", err)
			}
		})
	}
}

func mustSign(t *testing.T, k crypto.Signer, payload []byte) []byte {
	t.Helper()
	msg, err := Sign(nil, k, []byte("kid"), payload)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestVerifyWrongKeyType(t *testing.T) {
	ks := keys(t)
	msg, _ := Sign(nil, ks["P-256"], nil, []byte("x"))
	m, _ := Parse(msg)
	if err := m.Verify(ks["P-384"].Public()); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("ES256 with a P-384 key: got %v, want ErrAlgorithm", err)
	}
	if err := m.Verify(ks["Ed25519"].Public()); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("ES256 with an Ed25519 key: got %v, want ErrAlgorithm", err)
	}
}

func TestParseTagsAndKidPlacement(t *testing.T) {
	k := keys(t)["P-256"]
	tagged, _ := Sign(nil, k, []byte("kid-prot"), []byte("p"))
	untagged := tagged[1:] // drop tag 18 (0xd2)
	cwt := append([]byte{0xd8, 0x3d}, tagged...)
	for name, in := range map[string][]byte{"tagged": tagged, "untagged": untagged, "cwt": cwt} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.KID()) != "kid-prot" {
				t.Errorf("kid = %q, want kid-prot", m.KID())
			}
			if err := m.Verify(k.Public()); err != nil {
				t.Error(err)
			}
		})
	}
	// Unprotected kid is used only when the protected header has none.
	prot, _ := encMode.Marshal(map[int]any{1: AlgES256})
	msg, _ := encMode.Marshal([]any{prot, map[int]any{4: []byte("unprot")}, []byte("p"), make([]byte, 64)})
	m, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.KID()) != "unprot" {
		t.Errorf("kid = %q, want unprot", m.KID())
	}
}

func TestParseMalformed(t *testing.T) {
	prot, _ := encMode.Marshal(map[int]any{1: AlgES256})
	enc := func(v any) []byte { b, _ := encMode.Marshal(v); return b }
	tests := map[string][]byte{
		"empty":            nil,
		"not array":        enc(map[int]int{1: 2}),
		"three items":      enc([]any{prot, map[int]any{}, []byte("p")}),
		"wrong tag":        enc(cbor.Tag{Number: 98, Content: []any{prot, map[int]any{}, []byte("p"), []byte("s")}}),
		"nil payload":      enc([]any{prot, map[int]any{}, nil, []byte("s")}),
		"text alg":         enc([]any{enc(map[int]any{1: "ES256"}), map[int]any{}, []byte("p"), []byte("s")}),
		"prot not map":     enc([]any{enc([]int{1}), map[int]any{}, []byte("p"), []byte("s")}),
		"text kid":         enc([]any{prot, map[int]any{4: "kid"}, []byte("p"), []byte("s")}),
		"truncated":        enc([]any{prot, map[int]any{}, []byte("p"), []byte("s")})[:8],
		"dup key in unpro": append(append([]byte{0x84, 0x40, 0xa2, 0x04, 0x41, 0x01, 0x04, 0x41, 0x02}, 0x41, 'p'), 0x41, 's'),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(in); !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNumericDate(t *testing.T) {
	tests := []struct {
		in   any
		want NumericDate
	}{
		{int64(1620000000), 1620000000},
		{float64(1620000000.7), 1620000000},
		{float32(1.6e9), 1600000000},
	}
	for _, tt := range tests {
		b, _ := encMode.Marshal(tt.in)
		var d NumericDate
		if err := decMode.Unmarshal(b, &d); err != nil || d != tt.want {
			t.Errorf("%v: got %d, %v, want %d", tt.in, d, err, tt.want)
		}
	}
	b, _ := encMode.Marshal("2021-01-01")
	var d NumericDate
	if err := decMode.Unmarshal(b, &d); err == nil {
		t.Error("a text date decoded")
	}
}

func FuzzParse(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := Sign(nil, k, []byte("kid"), []byte("payload"))
	f.Add(good)
	f.Add(good[1:])
	f.Add(append([]byte{0xd8, 0x3d}, good...))
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})
	refused, accepted := contradictoryHeaders(f, k)
	for _, in := range refused {
		f.Add(in)
	}
	for _, in := range accepted {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := CheckHeaders(&m.Protected, &m.Unprotected); err != nil {
			t.Fatalf("accepted contradictory headers: %v", err)
		}
		// Verifying garbage must fail cleanly, never panic.
		if err := m.Verify(k.Public()); err == nil && string(m.Payload) != "payload" {
			t.Fatalf("garbage verified: %x", in)
		}
	})
}

func FuzzParseClaims(f *testing.F) {
	b, _ := encMode.Marshal(map[int]any{1: "ZJ", 4: 1700000000, 6: 1699990000.5})
	f.Add(b)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := ParseClaims(in); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// contradictoryHeaders returns COSE_Sign1 messages whose unprotected
// header contradicts the protected one, and ones where it does not.
func contradictoryHeaders(t testing.TB, k crypto.Signer) (refused, accepted map[string][]byte) {
	t.Helper()
	good, err := Sign(nil, k, []byte("kid-prot"), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	with := func(unprot map[int]any) []byte {
		b, err := encMode.Marshal(cbor.Tag{Number: TagSign1, Content: []any{m.RawProtected, unprot, m.Payload, m.Signature}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	refused = map[string][]byte{
		"other alg":          with(map[int]any{1: AlgEdDSA}),
		"other kid":          with(map[int]any{4: []byte("kid-other")}),
		"empty kid":          with(map[int]any{4: []byte{}}),
		"same alg other kid": with(map[int]any{1: AlgES256, 4: []byte("kid-other")}),
	}
	accepted = map[string][]byte{
		"empty":            with(map[int]any{}),
		"same kid":         with(map[int]any{4: []byte("kid-prot")}),
		"same alg and kid": with(map[int]any{1: AlgES256, 4: []byte("kid-prot")}),
		"other label":      with(map[int]any{33: []byte("x5chain")}),
	}
	return refused, accepted
}

// TestParseContradictoryHeaders: RFC 9052 §3 wants the buckets disjoint;
// an unprotected alg or kid that disagrees with the signed one is refused.
func TestParseContradictoryHeaders(t *testing.T) {
	k := keys(t)["P-256"]
	refused, accepted := contradictoryHeaders(t, k)
	for name, in := range refused {
		t.Run(name, func(t *testing.T) {
			if m, err := Parse(in); !errors.Is(err, ErrMalformed) {
				t.Errorf("got %+v, %v, want ErrMalformed", m, err)
			}
		})
	}
	for name, in := range accepted {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(in)
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if err := m.Verify(k.Public()); err != nil {
				t.Errorf("verify: %v", err)
			}
			if string(m.KID()) != "kid-prot" {
				t.Errorf("kid = %q, want kid-prot", m.KID())
			}
		})
	}
}

// TestParsePreferProtected: the EU DCC parse keeps only what was signed
// where the two headers disagree, and still verifies.
func TestParsePreferProtected(t *testing.T) {
	k := keys(t)["P-256"]
	refused, accepted := contradictoryHeaders(t, k)
	for name, in := range refused {
		t.Run(name, func(t *testing.T) {
			m, err := ParsePreferProtected(in)
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if err := CheckHeaders(&m.Protected, &m.Unprotected); err != nil {
				t.Errorf("a contradiction was kept: %v", err)
			}
			if m.Protected.KID != nil && string(m.KID()) != string(m.Protected.KID) {
				t.Errorf("kid = %q, want the protected %q", m.KID(), m.Protected.KID)
			}
		})
	}
	for name, in := range accepted {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePreferProtected(in); err != nil {
				t.Errorf("got %v, want it accepted", err)
			}
		})
	}
}

// FuzzBytesNoCopy: a BytesNoCopy decodes what a []byte decodes, from the
// same bytes, and fails where it fails.
func FuzzBytesNoCopy(f *testing.F) {
	for _, seed := range [][]byte{{0x40}, {0x43, 1, 2, 3}, {0x58, 2, 9, 9}, {0x59, 0, 1, 7}, {0xf6}, {0xf7}, {0x5f, 0x41, 1, 0xff}, {0x01}, {0x61, 'a'}, {0x5a, 0, 0, 0, 1, 5}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []byte
		werr := DecMode().Unmarshal(data, &want)
		var got BytesNoCopy
		gerr := DecMode().Unmarshal(data, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("[]byte: %v; BytesNoCopy: %v", werr, gerr)
		}
		if werr == nil && (!bytes.Equal(want, got) || (want == nil) != (got == nil)) {
			t.Fatalf("[]byte %x, BytesNoCopy %x", want, got)
		}
		if len(got) > 0 && data[0]>>5 == 2 && data[0] != 0x5f && &got[0] != &data[len(data)-len(got)] {
			t.Fatal("BytesNoCopy copied")
		}
	})
}
