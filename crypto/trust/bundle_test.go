package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/cose"
)

// t0 pins the clock of every bundle test.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// seededKey returns a deterministic Ed25519 key for name.
func seededKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("sentinel test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func mustKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	k, err := GenerateKey(nil, kt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustDelegate(t testing.TB, root crypto.Signer, pub crypto.PublicKey, kinds []Kind, from, to time.Time) *Delegation {
	t.Helper()
	d, err := Delegate(root, pub, kinds, from, to)
	if err != nil {
		t.Fatalf("Delegate: %v", err)
	}
	return d
}

func mustSeal(t testing.TB, signer crypto.Signer, d *Delegation, b Bundle) []byte {
	t.Helper()
	out, err := SealBundle(signer, d, b)
	if err != nil {
		t.Fatalf("SealBundle: %v", err)
	}
	return out
}

func header(kind Kind, version uint64, issued time.Time) Bundle {
	return Bundle{
		Kind: kind, Version: version, IssuedAt: issued,
		FreshUntil: issued.Add(24 * time.Hour), GraceUntil: issued.Add(72 * time.Hour),
		Payload: []byte("payload"),
	}
}

// sealRaw builds a bundle file without SealBundle's checks, as an attacker
// or a broken centre could.
func sealRaw(t testing.TB, signer crypto.Signer, d *Delegation, env envelope) []byte {
	t.Helper()
	kid, err := KeyIDOfPublic(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := cose.EncMode().Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cose.Sign(nil, signer, kid[:], payload)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if d != nil {
		raw = d.Raw
	}
	out, err := cose.EncMode().Marshal(bundleFile{Magic: bundleMagic, Delegation: nonNil(raw), Envelope: msg})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenBundle(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	rootP256 := mustKey(t, KeyP256)
	other := mustKey(t, KeyEd25519)
	online := mustKey(t, KeyP256)
	d := mustDelegate(t, root, online.Public(), []Kind{KindTrust, KindStatusDelta}, t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	dP256Root := mustDelegate(t, rootP256, online.Public(), []Kind{KindPolicy}, t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	shortD := mustDelegate(t, root, online.Public(), []Kind{KindTrust}, t0.Add(-time.Hour), t0.Add(2*time.Hour))

	valid := mustSeal(t, online, d, header(KindTrust, 7, t0))
	delta := header(KindStatusDelta, 12, t0)
	delta.Base = 11

	tampered := bytes.Clone(valid)
	i := bytes.Index(tampered, []byte("payload"))
	if i < 0 {
		t.Fatal("payload not found in the sealed bundle")
	}
	tampered[i] ^= 0x01

	// A delegation used outside its window, signed by hand.
	early := envelope{Kind: "trust", Version: 1, IssuedAt: t0.Add(-2 * time.Hour).Unix(),
		FreshUntil: t0.Unix(), GraceUntil: t0.Add(time.Hour).Unix(), Payload: []byte{}}

	tests := []struct {
		name    string
		data    []byte
		root    crypto.PublicKey
		now     time.Time
		last    State
		want    error // nil: accepted
		wantVer uint64
		wantFr  Freshness
	}{
		{"delegated", valid, root.Public(), t0.Add(time.Hour), State{}, nil, 7, FreshnessFresh},
		{"root signs itself", mustSeal(t, root, nil, header(KindConfig, 3, t0)), root.Public(), t0, State{}, nil, 3, FreshnessFresh},
		{"P-256 root", mustSeal(t, online, dP256Root, header(KindPolicy, 1, t0)), rootP256.Public(), t0, State{}, nil, 1, FreshnessFresh},
		{"status delta", mustSeal(t, online, d, delta), root.Public(), t0, State{Version: 11}, nil, 12, FreshnessFresh},
		{"newer than installed", valid, root.Public(), t0, State{Version: 6}, nil, 7, FreshnessFresh},
		{"wrong root", valid, other.Public(), t0, State{}, ErrUntrustedRoot, 0, 0},
		{"wrong root, root-signed", mustSeal(t, root, nil, header(KindConfig, 3, t0)), other.Public(), t0, State{}, ErrUntrustedRoot, 0, 0},
		{"wrong kind for the delegation", sealRaw(t, online, d, envelope{Kind: "policy", Version: 1, IssuedAt: t0.Unix(), FreshUntil: t0.Unix(), GraceUntil: t0.Unix(), Payload: []byte{}}), root.Public(), t0, State{}, ErrKindNotDelegated, 0, 0},
		{"tampered payload", tampered, root.Public(), t0, State{}, ErrBundleSignature, 0, 0},
		{"revoked delegation", valid, root.Public(), t0, State{Revoked: []KeyID{d.KID}}, ErrDelegationRevoked, 0, 0},
		{"other delegation revoked", valid, root.Public(), t0, State{Revoked: []KeyID{{9}}}, nil, 7, FreshnessFresh},
		{"delegation expired now", mustSeal(t, online, shortD, header(KindTrust, 2, t0)), root.Public(), t0.Add(3 * time.Hour), State{}, ErrDelegationValidity, 0, 0},
		{"issued before the delegation", sealRaw(t, online, d, early), root.Public(), t0, State{}, ErrDelegationValidity, 0, 0},
		{"clock before the delegation", valid, root.Public(), t0.Add(-2 * time.Hour), State{}, ErrDelegationValidity, 0, 0},
		{"older than installed", valid, root.Public(), t0, State{Version: 9}, ErrRollback, 0, 0},
		{"same version, same content", valid, root.Public(), t0, State{Version: 7, Digest: digestOf(t, valid)}, nil, 7, FreshnessFresh},
		{"same version, other content", mustSeal(t, online, d, header(KindTrust, 7, t0.Add(time.Minute))), root.Public(), t0.Add(time.Hour), State{Version: 7, Digest: digestOf(t, valid)}, ErrRollback, 0, 0},
		{"version 0", sealRaw(t, root, nil, envelope{Kind: "trust", Version: 0, IssuedAt: t0.Unix(), FreshUntil: t0.Unix(), GraceUntil: t0.Unix()}), root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
		{"unknown kind", sealRaw(t, root, nil, envelope{Kind: "firmware", Version: 1, IssuedAt: t0.Unix(), FreshUntil: t0.Unix(), GraceUntil: t0.Unix()}), root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
		{"grace before fresh", sealRaw(t, root, nil, envelope{Kind: "trust", Version: 1, IssuedAt: t0.Unix(), FreshUntil: t0.Unix() + 10, GraceUntil: t0.Unix()}), root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
		{"delta without base", sealRaw(t, root, nil, envelope{Kind: "status-delta", Version: 4, IssuedAt: t0.Unix(), FreshUntil: t0.Unix(), GraceUntil: t0.Unix()}), root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
		{"not a bundle", []byte("HC1:NCFOXN%TS3DH"), root.Public(), t0, State{}, ErrNotBundle, 0, 0},
		{"empty", nil, root.Public(), t0, State{}, ErrNotBundle, 0, 0},
		{"truncated", valid[:len(valid)-10], root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
		{"trailing bytes", append(bytes.Clone(valid), 0), root.Public(), t0, State{}, ErrMalformedBundle, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, fr, err := OpenBundle(tt.data, tt.root, tt.now, tt.last)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("got error %v, want %v", err, tt.want)
				}
				if b != nil || fr != FreshnessBlocked {
					t.Errorf("got bundle %v and %v with an error, want nil and blocked", b, fr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if b.Version != tt.wantVer || fr != tt.wantFr {
				t.Errorf("got version %d %v, want %d %v", b.Version, fr, tt.wantVer, tt.wantFr)
			}
		})
	}
}

func digestOf(t *testing.T, data []byte) [32]byte {
	t.Helper()
	var f bundleFile
	if err := bundleDecMode.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	msg, err := cose.Parse(f.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(msg.Payload)
}

func TestOpenBundleFields(t *testing.T) {
	root := seededKey("root")
	online := seededKey("online")
	d := mustDelegate(t, root, online.Public(), []Kind{KindStatusDelta}, t0, t0.Add(time.Hour))
	in := Bundle{Kind: KindStatusDelta, Version: 42, Base: 40, IssuedAt: t0.Add(90 * time.Second),
		FreshUntil: t0.Add(10 * time.Minute), GraceUntil: t0.Add(20 * time.Minute), Payload: []byte{1, 2, 3}}
	data := mustSeal(t, online, d, in)
	b, _, err := OpenBundle(data, root.Public(), t0.Add(5*time.Minute), State{Version: 41})
	if err != nil {
		t.Fatal(err)
	}
	if b.Kind != in.Kind || b.Version != in.Version || b.Base != in.Base ||
		!b.IssuedAt.Equal(in.IssuedAt) || !b.FreshUntil.Equal(in.FreshUntil) || !b.GraceUntil.Equal(in.GraceUntil) ||
		!bytes.Equal(b.Payload, in.Payload) {
		t.Errorf("got %+v, want %+v", b, in)
	}
	if b.Signer != d.KID || b.Delegation == nil || b.Delegation.KID != d.KID {
		t.Errorf("got signer %s, want the delegated key %s", b.Signer, d.KID)
	}
	if got, want := b.Age(t0.Add(5*time.Minute)), 210*time.Second; got != want {
		t.Errorf("got age %v, want %v", got, want)
	}
	// Ed25519 and deterministic CBOR: sealing again gives the same bytes.
	if again := mustSeal(t, online, d, in); !bytes.Equal(again, data) {
		t.Error("sealing the same bundle twice gave different bytes")
	}
}

func TestFreshness(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	data := mustSeal(t, root, nil, header(KindPolicy, 1, t0)) // fresh 24 h, grace 72 h
	tests := []struct {
		name string
		at   time.Time
		want Freshness
	}{
		{"just issued", t0, FreshnessFresh},
		{"23h59", t0.Add(24*time.Hour - time.Second), FreshnessFresh},
		{"at fresh_until", t0.Add(24 * time.Hour), FreshnessGrace},
		{"two days", t0.Add(48 * time.Hour), FreshnessGrace},
		{"at grace_until", t0.Add(72 * time.Hour), FreshnessStale},
		{"a month", t0.Add(30 * 24 * time.Hour), FreshnessStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := OpenBundle(data, root.Public(), tt.at, State{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	var f Freshness
	if err := f.UnmarshalText([]byte("old")); err == nil {
		t.Error("UnmarshalText accepted \"old\"")
	}
	_, got, err := OpenBundle(data[:20], root.Public(), t0, State{})
	if err == nil || got != FreshnessBlocked {
		t.Errorf("got %v, %v for a broken bundle, want blocked and an error", got, err)
	}
	for f, s := range map[Freshness]string{FreshnessBlocked: "blocked", FreshnessFresh: "fresh", FreshnessGrace: "grace", FreshnessStale: "stale"} {
		if f.String() != s {
			t.Errorf("got %q, want %q", f.String(), s)
		}
		var back Freshness = -1
		if err := back.UnmarshalText([]byte(s)); err != nil || back != f {
			t.Errorf("UnmarshalText(%q): got %v, %v; want %v", s, back, err, f)
		}
	}
}

func TestRollbackMessage(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	data := mustSeal(t, root, nil, header(KindTrust, 3, t0))
	_, _, err := OpenBundle(data, root.Public(), t0, State{Version: 5})
	var rb *RollbackError
	if !errors.As(err, &rb) {
		t.Fatalf("got %v, want a *RollbackError", err)
	}
	if got, want := err.Error(), "trust bundle version 3 is older than the installed version 5: refusing to roll back"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSealBundleRefuses(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	online := mustKey(t, KeyEd25519)
	stranger := mustKey(t, KeyEd25519)
	d := mustDelegate(t, root, online.Public(), []Kind{KindStatusDelta}, t0, t0.Add(time.Hour))
	tests := []struct {
		name   string
		signer crypto.Signer
		b      Bundle
		want   string
	}{
		{"kind not delegated", online, header(KindTrust, 1, t0), "not delegated"},
		{"outside the delegation", online, func() Bundle { b := header(KindStatusDelta, 2, t0.Add(2*time.Hour)); b.Base = 1; return b }(), "not delegated at this time"},
		{"not the delegated key", stranger, func() Bundle { b := header(KindStatusDelta, 2, t0); b.Base = 1; return b }(), "is not the delegated key"},
		{"delta base not older", online, func() Bundle { b := header(KindStatusDelta, 2, t0); b.Base = 2; return b }(), "must apply to an older one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SealBundle(tt.signer, d, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDelegate(t *testing.T) {
	root := mustKey(t, KeyP256)
	online := mustKey(t, KeyEd25519)
	d := mustDelegate(t, root, online.Public(), []Kind{KindStatusBase, KindStatusDelta}, t0, t0.Add(24*time.Hour))
	got, err := ParseDelegation(d.Raw, root.Public())
	if err != nil {
		t.Fatal(err)
	}
	wantKID, _ := KeyIDOfPublic(online.Public())
	if got.KID != wantKID || len(got.Kinds) != 2 || !got.Validity.NotBefore.Equal(t0) || !got.Validity.NotAfter.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("got %+v", got)
	}
	if !online.Public().(ed25519.PublicKey).Equal(got.Public) {
		t.Error("delegated public key differs")
	}
	if _, err := ParseDelegation(d.Raw, mustKey(t, KeyP256).Public()); !errors.Is(err, ErrUntrustedRoot) {
		t.Errorf("got %v under another root, want ErrUntrustedRoot", err)
	}
	for name, fn := range map[string]func() error{
		"no kinds": func() error { _, err := Delegate(root, online.Public(), nil, t0, t0.Add(time.Hour)); return err },
		"unknown kind": func() error {
			_, err := Delegate(root, online.Public(), []Kind{"x"}, t0, t0.Add(time.Hour))
			return err
		},
		"empty window": func() error { _, err := Delegate(root, online.Public(), []Kind{KindTrust}, t0, t0); return err },
		"root itself": func() error {
			_, err := Delegate(root, root.Public(), []Kind{KindTrust}, t0, t0.Add(time.Hour))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := fn(); err == nil {
				t.Error("got no error")
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	for _, kt := range []KeyType{KeyEd25519, KeyP256} {
		k := mustKey(t, kt)
		priv, err := MarshalSigningKey(k)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParseSigningKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := MarshalPublicKey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		p2, err := ParsePublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		type equaler interface{ Equal(crypto.PublicKey) bool }
		if !k.Public().(equaler).Equal(k2.Public()) || !k.Public().(equaler).Equal(p2) {
			t.Errorf("key type %d: keys differ after a round trip", kt)
		}
		if _, err := ParseSigningKey(pub); err == nil {
			t.Error("a public key parsed as a private key")
		}
		if _, ok := p2.(*ecdsa.PublicKey); ok != (kt == KeyP256) {
			t.Errorf("key type %d parsed as %T", kt, p2)
		}
	}
	// A native issuer key file (with an Issuer header) is a public key too.
	k := mustKey(t, KeyEd25519)
	native, err := MarshalNativeKey("ZJ", k.Public(), Validity{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(native); err != nil {
		t.Errorf("native key file: %v", err)
	}
}

func TestIsBundle(t *testing.T) {
	root := mustKey(t, KeyEd25519)
	data := mustSeal(t, root, nil, header(KindTrust, 1, t0))
	if !IsBundle(data) {
		t.Error("got false for a bundle")
	}
	for _, s := range []string{"", "-----BEGIN PUBLIC KEY-----", `{"keys":[]}`, "\x83"} {
		if IsBundle([]byte(s)) {
			t.Errorf("got true for %q", s)
		}
	}
}

func FuzzOpenBundle(f *testing.F) {
	root := seededKey("fuzz root")
	online := seededKey("fuzz online")
	d, err := Delegate(root, online.Public(), Kinds(), t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	valid, err := BuildTrustBundle(online, d, header(KindTrust, 2, t0), &TrustContent{
		Native: []NativeEntry{{Issuer: "ZJ", SPKI: mustSPKI(f, online.Public())}},
	})
	if err != nil {
		f.Fatal(err)
	}
	byRoot := mustSeal(f, root, nil, header(KindPolicy, 2, t0))
	f.Add(valid)
	f.Add(byRoot)
	f.Add(valid[:len(valid)/2])
	for _, i := range []int{len(bundleMagic) + 2, len(valid) / 2, len(valid) - 1} {
		flipped := bytes.Clone(valid)
		flipped[i] ^= 0x40
		f.Add(flipped)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, fr, err := OpenBundle(data, root.Public(), t0, State{Version: 1})
		if err != nil {
			if b != nil || fr != FreshnessBlocked {
				t.Fatalf("error %v came with a bundle", err)
			}
			return
		}
		// Only the two signed seeds can open: nothing else is signed.
		if b.Version != 2 || b.IssuedAt != t0 || fr != FreshnessFresh {
			t.Fatalf("opened an unexpected bundle: %+v", b)
		}
		if b.Kind == KindTrust {
			if _, _, err := LoadTrustBundle(data, root.Public(), t0, State{}); err != nil {
				t.Fatalf("trust bundle opens but does not load: %v", err)
			}
		}
	})
}
