package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/valueset"
)

func mustSPKI(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// selfSigned makes a document signer certificate valid for a year from t0.
func selfSigned(t testing.TB, cn string) []byte {
	t.Helper()
	k := mustKey(t, KeyP256)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, Country: []string{"DE"}},
		NotBefore:    t0.Add(-24 * time.Hour),
		NotAfter:     t0.Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// jwksOf makes an SHC key set with one ES256 key and returns it with its kid.
func jwksOf(t testing.TB) ([]byte, string) {
	t.Helper()
	k := mustKey(t, KeyP256).(*ecdsa.PrivateKey)
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	kid := Thumbprint(&k.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(raw[1:33])
	y := base64.RawURLEncoding.EncodeToString(raw[33:])
	return fmt.Appendf(nil, `{"keys":[{"kty":"EC","kid":%q,"use":"sig","alg":"ES256","crv":"P-256","x":%q,"y":%q,"crlVersion":1}]}`, kid, x, y), kid
}

func hpkeKey(t testing.TB) *HPKEPublicKey {
	t.Helper()
	kem := hpke.DHKEM(ecdh.X25519())
	priv, err := kem.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.PublicKey().Bytes()
	return &HPKEPublicKey{KEM: kem.ID(), Public: pub}
}

func TestLoadTrustBundle(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	online := mustKey(t, KeyEd25519)
	d := mustDelegate(t, root, online.Public(), []Kind{KindTrust}, t0.Add(-time.Hour), t0.Add(90*24*time.Hour))

	// Key rotation: ZJ's old key ends at t0+10d, the new one starts at t0+9d.
	oldZJ, newZJ, revoked := seededKey("zj old"), seededKey("zj new"), seededKey("hb revoked")
	rotation := t0.Add(10 * 24 * time.Hour)
	dscA, dscB := selfSigned(t, "DSC A"), selfSigned(t, "DSC B")
	jwks, shcKID := jwksOf(t)
	crl := fmt.Appendf(nil, `{"kid":%q,"method":"rid","ctr":1,"rids":["MTIzNDU2Nzg5MDEy"]}`, shcKID)
	pseudo := bytes.Repeat([]byte{7}, PseudonymKeySize)
	hk := hpkeKey(t)
	gone := KeyID{1, 2, 3, 4, 5, 6, 7, 8}
	content := &TrustContent{
		Native: []NativeEntry{
			{Issuer: "ZJ", SPKI: mustSPKI(t, oldZJ.Public()), Validity: Validity{NotBefore: t0.Add(-100 * 24 * time.Hour), NotAfter: rotation}},
			{Issuer: "ZJ", SPKI: mustSPKI(t, newZJ.Public()), Validity: Validity{NotBefore: rotation.Add(-24 * time.Hour)}},
			{Issuer: "HB-WH", SPKI: mustSPKI(t, revoked.Public()), Revoked: true},
		},
		DSCs:               []DSCEntry{{Cert: dscA}, {Cert: dscB, Revoked: true}},
		SHC:                []SHCEntry{{Issuer: "https://spec.smarthealth.cards/examples/issuer", JWKS: jwks, CRLs: [][]byte{crl}}},
		PseudonymKey:       pseudo,
		HPKE:               hk,
		RevokedDelegations: []KeyID{gone},
	}
	data, err := BuildTrustBundle(online, d, header(KindTrust, 5, t0), content)
	if err != nil {
		t.Fatal(err)
	}
	s, info, err := LoadTrustBundle(data, root.Public(), t0.Add(30*time.Hour), State{Version: 4, Revoked: []KeyID{{9}}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("info", func(t *testing.T) {
		if info.Version != 5 || info.Freshness != FreshnessGrace || info.Age != 30*time.Hour || !info.Delegated || info.Signer != d.KID {
			t.Errorf("got %+v", info)
		}
		want := TrustCounts{NativeKeys: 3, NativeKeysRevoked: 1, DSCs: 2, DSCsRevoked: 1, SHCIssuers: 1, SHCKeys: 1, PseudonymKey: true, HPKEKey: true, RevokedSigners: 1}
		if info.Counts != want {
			t.Errorf("got counts %+v, want %+v", info.Counts, want)
		}
		if len(info.Revoked) != 2 || info.Revoked[0] != (KeyID{9}) || info.Revoked[1] != gone {
			t.Errorf("got revoked %v, want the union of the known and the new", info.Revoked)
		}
		if info.HPKE == nil || info.HPKE.KEM != 0x20 || !bytes.Equal(info.HPKE.Public, hk.Public) {
			t.Errorf("got HPKE key %+v, want %+v", info.HPKE, hk)
		}
		if _, err := info.HPKE.Key(); err != nil {
			t.Errorf("HPKE key does not load: %v", err)
		}
		if st := info.State(); st.Version != 5 || st.Digest != info.Digest || len(st.Revoked) != 2 {
			t.Errorf("got state %+v", st)
		}
	})

	t.Run("key rotation", func(t *testing.T) {
		msg := []byte("a native code")
		for _, tt := range []struct {
			name     string
			at       time.Time
			old, new bool // which keys are in force
		}{
			{"before the overlap", t0, true, false},
			{"overlap", rotation.Add(-time.Hour), true, true},
			{"after the old key ends", rotation.Add(time.Hour), false, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for _, c := range []struct {
					key  ed25519.PrivateKey
					want bool
				}{{oldZJ, tt.old}, {newZJ, tt.new}} {
					kid, _ := KeyIDOfPublic(c.key.Public())
					keys := s.NativeKeys(kid[:])
					if len(keys) != 1 || keys[0].Issuer != "ZJ" {
						t.Fatalf("got %d keys for %s, want 1 of ZJ", len(keys), kid)
					}
					ok := keys[0].Validity.Contains(tt.at) && !keys[0].Revoked &&
						ed25519.Verify(keys[0].Public.(ed25519.PublicKey), msg, ed25519.Sign(c.key, msg))
					if ok != c.want {
						t.Errorf("key %s in force at %s: got %v, want %v", kid, tt.at.Format(time.RFC3339), ok, c.want)
					}
				}
			})
		}
	})

	t.Run("revoked issuer key", func(t *testing.T) {
		kid, _ := KeyIDOfPublic(revoked.Public())
		keys := s.NativeKeys(kid[:])
		if len(keys) != 1 || !keys[0].Revoked {
			t.Fatalf("got %+v, want one revoked key", keys)
		}
		kidNew, _ := KeyIDOfPublic(newZJ.Public())
		if s.NativeKeys(kidNew[:])[0].Revoked {
			t.Error("ZJ's new key is revoked too")
		}
	})

	t.Run("dsc", func(t *testing.T) {
		a, b := KeyIDOf(dscA), KeyIDOf(dscB)
		if got := s.DSCs(a[:]); len(got) != 1 || got[0].Revoked {
			t.Errorf("DSC A: got %+v, want one trusted certificate", got)
		}
		if got := s.DSCs(b[:]); len(got) != 1 || !got[0].Revoked {
			t.Errorf("DSC B: got %+v, want one revoked certificate", got)
		}
	})

	t.Run("shc", func(t *testing.T) {
		keys := s.SHCKeys(shcKID)
		if len(keys) != 1 || keys[0].Issuer != "https://spec.smarthealth.cards/examples/issuer" {
			t.Fatalf("got %+v", keys)
		}
		if !keys[0].CRL.Revoked("MTIzNDU2Nzg5MDEy", t0) {
			t.Error("rid of the revocation list is not revoked")
		}
	})

	t.Run("pseudonym key", func(t *testing.T) {
		if !bytes.Equal(s.PseudonymKey(), pseudo) {
			t.Errorf("got %x, want %x", s.PseudonymKey(), pseudo)
		}
	})
}

func TestTrustBundleSequence(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	online1 := mustKey(t, KeyEd25519)
	online2 := mustKey(t, KeyP256)
	d1 := mustDelegate(t, root, online1.Public(), []Kind{KindTrust, KindStatusDelta}, t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	d2 := mustDelegate(t, root, online2.Public(), []Kind{KindTrust}, t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	build := func(signer crypto.Signer, d *Delegation, version uint64, at time.Time, c *TrustContent) []byte {
		t.Helper()
		data, err := BuildTrustBundle(signer, d, header(KindTrust, version, at), c)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	v3 := build(online1, d1, 3, t0, &TrustContent{})
	v5 := build(online1, d1, 5, t0.Add(time.Hour), &TrustContent{})
	_, info5, err := LoadTrustBundle(v5, root.Public(), t0.Add(2*time.Hour), State{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("older after newer", func(t *testing.T) {
		_, _, err := LoadTrustBundle(v3, root.Public(), t0.Add(2*time.Hour), info5.State())
		if !errors.Is(err, ErrRollback) {
			t.Fatalf("got %v, want ErrRollback", err)
		}
		if got, want := err.Error(), "trust bundle version 3 is older than the installed version 5: refusing to roll back"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("the same bundle again", func(t *testing.T) {
		if _, _, err := LoadTrustBundle(v5, root.Public(), t0.Add(2*time.Hour), info5.State()); err != nil {
			t.Errorf("got %v, want the repeated download accepted", err)
		}
	})

	// Version 6, signed by the second key, revokes the first delegation.
	v6 := build(online2, d2, 6, t0.Add(3*time.Hour), &TrustContent{RevokedDelegations: []KeyID{d1.KID}})
	_, info6, err := LoadTrustBundle(v6, root.Public(), t0.Add(4*time.Hour), info5.State())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("revoked delegation", func(t *testing.T) {
		v7 := build(online1, d1, 7, t0.Add(5*time.Hour), &TrustContent{})
		_, _, err := LoadTrustBundle(v7, root.Public(), t0.Add(6*time.Hour), info6.State())
		if !errors.Is(err, ErrDelegationRevoked) {
			t.Errorf("got %v, want ErrDelegationRevoked", err)
		}
		// The revocation holds for every kind the key signs.
		delta := header(KindStatusDelta, 9, t0.Add(5*time.Hour))
		delta.Base = 8
		_, _, err = OpenBundle(mustSeal(t, online1, d1, delta), root.Public(), t0.Add(6*time.Hour), State{Revoked: info6.Revoked})
		if !errors.Is(err, ErrDelegationRevoked) {
			t.Errorf("status delta: got %v, want ErrDelegationRevoked", err)
		}
		// A later bundle that no longer lists it cannot lift the revocation.
		v8 := build(online2, d2, 8, t0.Add(5*time.Hour), &TrustContent{})
		_, info8, err := LoadTrustBundle(v8, root.Public(), t0.Add(6*time.Hour), info6.State())
		if err != nil {
			t.Fatal(err)
		}
		v9 := build(online1, d1, 9, t0.Add(5*time.Hour), &TrustContent{})
		if _, _, err := LoadTrustBundle(v9, root.Public(), t0.Add(6*time.Hour), info8.State()); !errors.Is(err, ErrDelegationRevoked) {
			t.Errorf("after a bundle without the revocation: got %v, want ErrDelegationRevoked", err)
		}
	})

	t.Run("revokes its own signer", func(t *testing.T) {
		c := &TrustContent{RevokedDelegations: []KeyID{d2.KID}}
		if _, err := BuildTrustBundle(online2, d2, header(KindTrust, 10, t0), c); !errors.Is(err, ErrDelegationRevoked) {
			t.Errorf("BuildTrustBundle: got %v, want ErrDelegationRevoked", err)
		}
		payload, err := MarshalTrustContent(c)
		if err != nil {
			t.Fatal(err)
		}
		b := header(KindTrust, 10, t0)
		b.Payload = payload
		if _, _, err := LoadTrustBundle(mustSeal(t, online2, d2, b), root.Public(), t0, State{}); !errors.Is(err, ErrDelegationRevoked) {
			t.Errorf("LoadTrustBundle: got %v, want ErrDelegationRevoked", err)
		}
	})

	t.Run("wrong root", func(t *testing.T) {
		if _, _, err := LoadTrustBundle(v5, mustKey(t, KeyEd25519).Public(), t0.Add(2*time.Hour), State{}); !errors.Is(err, ErrUntrustedRoot) {
			t.Errorf("got %v, want ErrUntrustedRoot", err)
		}
	})

	t.Run("not a trust bundle", func(t *testing.T) {
		delta := header(KindStatusDelta, 2, t0)
		delta.Base = 1
		if _, _, err := LoadTrustBundle(mustSeal(t, online1, d1, delta), root.Public(), t0, State{}); !errors.Is(err, ErrWrongKind) {
			t.Errorf("got %v, want ErrWrongKind", err)
		}
	})

	t.Run("wrong kind for the delegation", func(t *testing.T) {
		d3 := mustDelegate(t, root, online1.Public(), []Kind{KindStatusDelta}, t0.Add(-time.Hour), t0.Add(time.Hour))
		if _, err := BuildTrustBundle(online1, d3, header(KindTrust, 11, t0), &TrustContent{}); !errors.Is(err, ErrKindNotDelegated) {
			t.Errorf("got %v, want ErrKindNotDelegated", err)
		}
	})
}

func TestBuildTrustBundleRefusesBadContent(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	k := seededKey("k")
	tests := []struct {
		name string
		c    TrustContent
		want error
	}{
		{"bad issuer", TrustContent{Native: []NativeEntry{{Issuer: "zj lower", SPKI: mustSPKI(t, k.Public())}}}, ErrIssuer},
		{"bad SPKI", TrustContent{Native: []NativeEntry{{Issuer: "ZJ", SPKI: []byte{1, 2, 3}}}}, ErrTrustContent},
		{"bad certificate", TrustContent{DSCs: []DSCEntry{{Cert: []byte("nope")}}}, ErrTrustContent},
		{"bad JWKS", TrustContent{SHC: []SHCEntry{{Issuer: "https://x", JWKS: []byte("{")}}}, ErrJWKS},
		{"SHC without issuer", TrustContent{SHC: []SHCEntry{{JWKS: []byte(`{"keys":[]}`)}}}, ErrTrustContent},
		{"short pseudonym key", TrustContent{PseudonymKey: []byte{1, 2, 3}}, ErrTrustContent},
		{"bad HPKE key", TrustContent{HPKE: &HPKEPublicKey{KEM: 0x20, Public: []byte{1}}}, ErrTrustContent},
		{"unknown KEM", TrustContent{HPKE: &HPKEPublicKey{KEM: 0x7777, Public: make([]byte, 32)}}, ErrTrustContent},
		{"broken value set", TrustContent{ValueSets: []ValueSetEntry{{JSON: []byte(`{"valueSetId":"x"}`)}}}, valueset.ErrShape},
		{"value set twice", TrustContent{ValueSets: []ValueSetEntry{{JSON: []byte(testValueSet)}, {JSON: []byte(testValueSet)}}}, valueset.ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildTrustBundle(root, nil, header(KindTrust, 1, t0), &tt.c)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTrustContentRoundTrip(t *testing.T) {
	k := seededKey("round trip")
	jwks, _ := jwksOf(t)
	in := &TrustContent{
		Native:             []NativeEntry{{Issuer: "ZJ", SPKI: mustSPKI(t, k.Public()), Validity: Validity{NotBefore: t0, NotAfter: t0.Add(time.Hour)}, Revoked: true}},
		DSCs:               []DSCEntry{{Cert: selfSigned(t, "x"), Revoked: true}},
		SHC:                []SHCEntry{{Issuer: "https://x", JWKS: jwks}},
		PseudonymKey:       make([]byte, 32),
		HPKE:               hpkeKey(t),
		RevokedDelegations: []KeyID{{1}},
		ValueSets:          []ValueSetEntry{{JSON: []byte(testValueSet), Example: true}},
	}
	payload, err := MarshalTrustContent(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseTrustContent(payload)
	if err != nil {
		t.Fatal(err)
	}
	again, err := MarshalTrustContent(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payload, again) {
		t.Error("content changed in a round trip")
	}
	if !out.Native[0].NotBefore.Equal(t0) || !out.Native[0].Revoked || !out.DSCs[0].Revoked || out.RevokedDelegations[0] != (KeyID{1}) {
		t.Errorf("got %+v", out)
	}
	if len(out.ValueSets) != 1 || !out.ValueSets[0].Example || string(out.ValueSets[0].JSON) != testValueSet {
		t.Errorf("value sets %+v", out.ValueSets)
	}
}

// testValueSet is a value set of the EU's format.
const testValueSet = `{"valueSetId":"covid-19-lab-result","valueSetDate":"2021-04-27","valueSetValues":{` +
	`"260415000":{"display":"Not detected","lang":"en","active":true,"version":"v","system":"s"}}}`

// TestTrustBundleValueSets: the value sets travel in the trust bundle and
// reach the store a terminal verifies with, example flag included; a
// bundle without them gives a store without them.
func TestTrustBundleValueSets(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	for _, example := range []bool{false, true} {
		data, err := BuildTrustBundle(root, nil, header(KindTrust, 1, t0), &TrustContent{
			ValueSets: []ValueSetEntry{{JSON: []byte(testValueSet), Example: example}},
		})
		if err != nil {
			t.Fatal(err)
		}
		s, info, err := LoadTrustBundle(data, root.Public(), t0, State{})
		if err != nil {
			t.Fatal(err)
		}
		set := s.ValueSets().Get(valueset.TestResult)
		if info.Counts.ValueSets != 1 || set == nil || !set.Has("260415000") || set.Example != example {
			t.Fatalf("counts %+v, set %+v", info.Counts, set)
		}
	}
	data, err := BuildTrustBundle(root, nil, header(KindTrust, 2, t0), &TrustContent{})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := LoadTrustBundle(data, root.Public(), t0, State{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ValueSets() != nil {
		t.Error("a bundle without value sets gave some")
	}
}

// FuzzTrustContent fuzzes the trust payload decoder and the store it
// builds: signed content from a broken centre must not crash a terminal.
func FuzzTrustContent(f *testing.F) {
	k := seededKey("fuzz content")
	jwks := []byte(`{"keys":[{"kty":"EC","kid":"x","crv":"P-256","x":"","y":""}]}`)
	for _, c := range []*TrustContent{
		{},
		{Native: []NativeEntry{{Issuer: "ZJ", SPKI: mustSPKI(f, k.Public()), Validity: Validity{NotBefore: t0}, Revoked: true}}},
		{PseudonymKey: make([]byte, PseudonymKeySize), RevokedDelegations: []KeyID{{1}}},
		{ValueSets: []ValueSetEntry{{JSON: []byte(testValueSet), Example: true}}},
	} {
		payload, err := MarshalTrustContent(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(payload)
	}
	// Forms MarshalTrustContent refuses, encoded by hand.
	for _, w := range []trustWire{
		{SHC: []shcWire{{Issuer: "https://x", JWKS: jwks, CRLs: [][]byte{[]byte(`{"kid":"x","method":"rid"}`)}}}},
		{DSC: []dscWire{{Cert: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}}},
		{HPKE: &hpkeWire{KEM: 0x20, Public: make([]byte, 32)}, Revoked: [][]byte{{1, 2}}},
	} {
		payload, err := cose.EncMode().Marshal(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(payload)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseTrustContent(payload)
		if err != nil {
			return
		}
		s, n, err := c.store()
		if err != nil {
			return
		}
		if s.Len() != n.NativeKeys+n.DSCs+n.SHCKeys {
			t.Fatalf("store holds %d keys, counts say %+v", s.Len(), n)
		}
		if _, err := MarshalTrustContent(c); err != nil {
			t.Fatalf("loadable content does not encode: %v", err)
		}
	})
}

func TestTrustCountsDuplicates(t *testing.T) {
	root := seededKey("dup root")
	cert := selfSigned(t, "twice")
	data, err := BuildTrustBundle(root, nil, header(KindTrust, 1, t0), &TrustContent{
		DSCs: []DSCEntry{{Cert: cert}, {Cert: cert, Revoked: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, info, err := LoadTrustBundle(data, root.Public(), t0, State{})
	if err != nil {
		t.Fatal(err)
	}
	kid := KeyIDOf(cert)
	if info.Counts.DSCs != 1 || info.Counts.DSCsRevoked != 1 || s.Len() != 1 || !s.DSCs(kid[:])[0].Revoked {
		t.Errorf("got counts %+v and %d keys, want one revoked certificate", info.Counts, s.Len())
	}
}

func BenchmarkOpenBundle(b *testing.B) {
	root := seededKey("bench root")
	online := seededKey("bench online")
	d := mustDelegate(b, root, online.Public(), []Kind{KindStatusDelta}, t0.Add(-time.Hour), t0.Add(time.Hour))
	h := header(KindStatusDelta, 2, t0)
	h.Base = 1
	data := mustSeal(b, online, d, h)
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := OpenBundle(data, root.Public(), t0, State{Version: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The physical limit: the two Ed25519 signatures a delegated bundle
	// needs (the root's on the delegation, the delegated key's on it).
	msg := make([]byte, len(data))
	rootPub, onlinePub := root.Public().(ed25519.PublicKey), online.Public().(ed25519.PublicKey)
	sigRoot, sigOnline := ed25519.Sign(root, msg), ed25519.Sign(online, msg)
	b.Run("bare-2x-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(rootPub, msg, sigRoot) || !ed25519.Verify(onlinePub, msg, sigOnline) {
				b.Fatal("verify")
			}
		}
	})
}

func BenchmarkLoadTrustBundle(b *testing.B) {
	root := seededKey("bench root")
	c := &TrustContent{PseudonymKey: make([]byte, PseudonymKeySize)}
	for i := range 200 {
		k := seededKey(fmt.Sprint("issuer ", i))
		c.Native = append(c.Native, NativeEntry{Issuer: "ZJ", SPKI: mustSPKI(b, k.Public())})
	}
	for i := range 50 {
		c.DSCs = append(c.DSCs, DSCEntry{Cert: selfSigned(b, fmt.Sprint("DSC ", i))})
	}
	data, err := BuildTrustBundle(root, nil, header(KindTrust, 1, t0), c)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := LoadTrustBundle(data, root.Public(), t0, State{}); err != nil {
			b.Fatal(err)
		}
	}
}
