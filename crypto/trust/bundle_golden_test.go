package trust

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateBundle = flag.Bool("update-bundle", false, "rewrite the golden bundles under testdata/bundle")

// goldenTrustBundle builds the golden trust bundle from seeded keys: Ed25519
// and deterministic CBOR make it the same bytes every time.
func goldenTrustBundle(t *testing.T) (root []byte, bundle []byte) {
	t.Helper()
	rootKey := seededKey("golden root")
	online := seededKey("golden online")
	d := mustDelegate(t, rootKey, online.Public(), []Kind{KindTrust}, t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	hk, err := hpke.DHKEM(ecdh.X25519()).DeriveKeyPair(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &TrustContent{
		Native: []NativeEntry{
			{Issuer: "ZJ", SPKI: mustSPKI(t, seededKey("golden zj").Public()), Validity: Validity{NotBefore: t0, NotAfter: t0.Add(180 * 24 * time.Hour)}},
			{Issuer: "HB-WH", SPKI: mustSPKI(t, seededKey("golden hb").Public()), Revoked: true},
		},
		PseudonymKey:       bytes.Repeat([]byte{0x5a}, PseudonymKeySize),
		HPKE:               &HPKEPublicKey{KEM: 0x20, Public: hk.PublicKey().Bytes()},
		RevokedDelegations: []KeyID{{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1}},
	}
	bundle, err = BuildTrustBundle(online, d, header(KindTrust, 1, t0), c)
	if err != nil {
		t.Fatal(err)
	}
	root, err = MarshalPublicKey(rootKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	return root, bundle
}

// TestGoldenTrustBundle pins the wire format: a change that alters the
// bytes of a bundle breaks every terminal in the field.
func TestGoldenTrustBundle(t *testing.T) {
	dir := filepath.Join("testdata", "bundle", "delegated-trust")
	root, bundle := goldenTrustBundle(t)
	if *updateBundle {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"root.pem": root, "bundle.cbor": bundle} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantRoot, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenTrustBundle -update-bundle)", err)
	}
	wantBundle, err := os.ReadFile(filepath.Join(dir, "bundle.cbor"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, wantRoot) || !bytes.Equal(bundle, wantBundle) {
		t.Error("the golden trust bundle changed: the wire format moved (if on purpose, run with -update-bundle and bump bundleMagic)")
	}
	pub, err := ParsePublicKey(wantRoot)
	if err != nil {
		t.Fatal(err)
	}
	s, info, err := LoadTrustBundle(wantBundle, pub, t0.Add(time.Hour), State{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 1 || info.Freshness != FreshnessFresh || info.Counts.NativeKeys != 2 || info.Counts.NativeKeysRevoked != 1 || s.Len() != 2 {
		t.Errorf("got %+v with %d keys", info, s.Len())
	}
}
