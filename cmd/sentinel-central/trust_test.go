package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hpke"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
)

// sentinel runs the command in-process and returns its exit status and
// output.
func sentinel(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the command and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := sentinel(t, args...)
	if code != exitOK {
		t.Fatalf("sentinel-central %s: exit %d, want 0\nstderr: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fixtures makes the files a deployment starts from.
type fixtures struct {
	dir, root, rootPub, signer, signerPub, delegation string
	zjPub, hbPub, dsc, jwks, pseudo, hpkePub          string
}

const (
	at     = "2026-03-01T08:00:00Z"
	shcIss = "https://issuer.example/shc"
)

func newFixtures(t *testing.T) fixtures {
	t.Helper()
	dir := t.TempDir()
	f := fixtures{
		dir:  dir,
		root: filepath.Join(dir, "root", "root.key"), rootPub: filepath.Join(dir, "root", "root.pub"),
		signer: filepath.Join(dir, "online", "signer.key"), signerPub: filepath.Join(dir, "online", "signer.pub"),
		delegation: filepath.Join(dir, "online", "signer.delegation"),
		zjPub:      filepath.Join(dir, "issuers", "ZJ.pub"), hbPub: filepath.Join(dir, "issuers", "HB-WH.pub"),
		dsc: filepath.Join(dir, "dsc.pem"), jwks: filepath.Join(dir, "shc", "jwks.json"),
		pseudo: filepath.Join(dir, "pseudonym.key"), hpkePub: filepath.Join(dir, "centre.hpke.pub"),
	}
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"), "--type", "p256")
	mustRun(t, "trust", "delegate", "--root", f.root, "--pub", f.signerPub, "--kinds", "trust,status-delta",
		"--valid", "90d", "--from", "2026-02-01T00:00:00Z", "--out", f.delegation)
	mustRun(t, "trust", "keygen", "--issuer", "ZJ", "--out", filepath.Join(dir, "issuers"))
	mustRun(t, "trust", "keygen", "--issuer", "HB-WH", "--type", "p256", "--out", filepath.Join(dir, "issuers"))

	// A document signer certificate.
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "DSC test"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, f.dsc, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))

	// An SHC key set.
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := sk.PublicKey.Bytes()
	writeTestFile(t, f.jwks, fmt.Appendf(nil, `{"keys":[{"kty":"EC","kid":%q,"use":"sig","alg":"ES256","crv":"P-256","x":%q,"y":%q}]}`,
		trust.Thumbprint(&sk.PublicKey), base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:])))

	writeTestFile(t, f.pseudo, []byte(hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))+"\n"))
	hk, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, f.hpkePub, hk.PublicKey().Bytes())
	return f
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f fixtures) build(t *testing.T, version int, issued string, extra ...string) string {
	t.Helper()
	out := filepath.Join(f.dir, fmt.Sprintf("trust-v%d.cbor", version))
	args := []string{"trust", "build", "--delegation", f.delegation, "--key", f.signer, "--root-pub", f.rootPub,
		"--native", f.zjPub, "--native", f.hbPub, "--dsc", f.dsc, "--jwks", shcIss + "=" + f.jwks,
		"--pseudonym-key", f.pseudo, "--hpke-pub", f.hpkePub,
		"--version", fmt.Sprint(version), "--issued", issued, "--fresh", "24h", "--grace", "72h", "--out", out}
	mustRun(t, append(args, extra...)...)
	return out
}

func TestTrustKeyFiles(t *testing.T) {
	f := newFixtures(t)
	st, err := os.Stat(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("root.key mode: got %v, want 0600", st.Mode().Perm())
	}
	if _, err := trust.ParsePublicKey(readTestFile(t, f.rootPub)); err != nil {
		t.Errorf("root.pub: %v", err)
	}
	// The native key file carries its issuer, as the store reads it.
	s := trust.New()
	if err := s.AddFile(f.zjPub); err != nil {
		t.Errorf("ZJ.pub: %v", err)
	}
	if s.Len() != 1 {
		t.Errorf("got %d keys from ZJ.pub, want 1", s.Len())
	}
	// --json names the files and the key id.
	out := mustRun(t, "trust", "keygen", "--json", "--issuer", "SH", "--type", "p256", "--out", f.dir,
		"--from", "2026-03-01", "--to", "2026-09-01T00:00:00Z")
	var kp keyPairOut
	if err := json.Unmarshal([]byte(out), &kp); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	entries, err := trust.ParseNativeKeyFile(readTestFile(t, kp.Public))
	if err != nil {
		t.Fatal(err)
	}
	if kp.Issuer != "SH" || kp.Type != "p256" || len(entries) != 1 || entries[0].Issuer != "SH" ||
		!entries[0].NotAfter.Equal(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v and %+v", kp, entries)
	}
	if kid, _ := trust.KeyIDOfPublic(mustPub(t, entries[0].SPKI)); kid.String() != kp.KID {
		t.Errorf("got kid %s, the key's is %s", kp.KID, kid)
	}
	// Keys are never overwritten.
	code, _, errOut := sentinel(t, "trust", "root-keygen", "--out", filepath.Dir(f.root))
	if code != exitRefused || !strings.Contains(errOut, "exists already") {
		t.Errorf("second root-keygen: got exit %d %q, want 1 and \"exists already\"", code, errOut)
	}
}

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrustBuildInspect(t *testing.T) {
	f := newFixtures(t)
	bundle := f.build(t, 5, at)

	t.Run("text", func(t *testing.T) {
		out := mustRun(t, "trust", "inspect", bundle, "--root", f.rootPub, "--at", "2026-03-02T14:00:00Z")
		for _, want := range []string{
			"trust bundle version 5",
			"delegated for trust, status-delta",
			"30h0m0s old: grace",
			"native issuer keys: 2 (0 revoked)",
			"document signer certificates: 1 (0 revoked)",
			"SMART Health Card issuers: 1 (1 keys)",
			"pseudonym key: yes, centre's HPKE key: yes",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("got %q, want it to contain %q", out, want)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		out := mustRun(t, "trust", "inspect", "--json", "--root", f.rootPub, "--at", "2026-03-05T08:00:00Z", bundle)
		var got inspectOut
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if got.Kind != trust.KindTrust || got.Version != 5 || got.Freshness != trust.FreshnessStale || got.AgeSeconds != 4*24*3600 ||
			!got.Delegated || got.Counts == nil || got.Counts.NativeKeys != 2 || got.Counts.SHCKeys != 1 {
			t.Errorf("got %s", out)
		}
	})

	t.Run("the bundle loads as a terminal would", func(t *testing.T) {
		root, _ := trust.ParsePublicKey(readTestFile(t, f.rootPub))
		s, info, err := trust.LoadTrustBundle(readTestFile(t, bundle), root, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), trust.State{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Freshness != trust.FreshnessFresh || len(s.PseudonymKey()) != 32 || info.HPKE == nil {
			t.Errorf("got %+v", info)
		}

		// An older bundle built later is refused by a terminal that holds 5.
		older := f.build(t, 3, "2026-03-01T10:00:00Z")
		_, _, err = trust.LoadTrustBundle(readTestFile(t, older), root, time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), info.State())
		if !errors.Is(err, trust.ErrRollback) || err.Error() != "trust bundle version 3 is older than the installed version 5: refusing to roll back" {
			t.Errorf("got %v, want the rollback refused", err)
		}

		// Version 6 revokes HB-WH's key and the online signer's delegation;
		// the root signs it itself.
		v6 := filepath.Join(f.dir, "trust-v6.cbor")
		mustRun(t, "trust", "build", "--root", f.root, "--native", f.zjPub, "--revoke-native", f.hbPub,
			"--revoke-delegation", f.delegation, "--version", "6", "--issued", "2026-03-01T12:00:00Z", "--out", v6)
		s6, info6, err := trust.LoadTrustBundle(readTestFile(t, v6), root, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), info.State())
		if err != nil {
			t.Fatal(err)
		}
		hb, err := trust.ParsePublicKey(readTestFile(t, f.hbPub))
		if err != nil {
			t.Fatal(err)
		}
		kid, _ := trust.KeyIDOfPublic(hb)
		if keys := s6.NativeKeys(kid[:]); len(keys) != 1 || !keys[0].Revoked {
			t.Errorf("HB-WH key: got %+v, want one revoked key", keys)
		}
		v7 := f.build(t, 7, "2026-03-01T13:00:00Z")
		if _, _, err := trust.LoadTrustBundle(readTestFile(t, v7), root, time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), info6.State()); !errors.Is(err, trust.ErrDelegationRevoked) {
			t.Errorf("bundle from the revoked delegation: got %v, want ErrDelegationRevoked", err)
		}
	})
}

func TestTrustBuildJSON(t *testing.T) {
	f := newFixtures(t)
	out := filepath.Join(f.dir, "b.cbor")
	stdout := mustRun(t, "trust", "build", "--json", "--root", f.root, "--native", f.zjPub, "--version", "1",
		"--issued", at, "--out", out)
	var got buildOut
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if got.Version != 1 || got.Delegated || got.Counts.NativeKeys != 1 || !got.GraceUntil.Equal(time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v", got)
	}
	if !trust.IsBundle(readTestFile(t, out)) {
		t.Error("IsBundle is false for the built file")
	}
}

func TestTrustRefusals(t *testing.T) {
	f := newFixtures(t)
	bundle := f.build(t, 2, at)
	other := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", other)
	policyOnly := filepath.Join(f.dir, "policy.delegation")
	mustRun(t, "trust", "delegate", "--root", f.root, "--pub", f.signerPub, "--kinds", "policy", "--from", at, "--out", policyOnly)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no trust command", []string{"trust"}, exitUsage, "usage: sentinel-central trust"},
		{"unknown trust command", []string{"trust", "frobnicate"}, exitUsage, "unknown command"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"root-keygen without --out", []string{"trust", "root-keygen"}, exitUsage, "--out DIR is required"},
		{"bad key type", []string{"trust", "root-keygen", "--out", other, "--type", "rsa"}, exitUsage, "want ed25519 or p256"},
		{"bad flag", []string{"trust", "inspect", "--nope"}, exitUsage, "flag provided but not defined"},
		{"bad issuer", []string{"trust", "keygen", "--issuer", "zj", "--out", other}, exitUsage, "A-Z"},
		{"unknown kind", []string{"trust", "delegate", "--root", f.root, "--pub", f.signerPub, "--kinds", "trust,firmware", "--out", filepath.Join(other, "d")}, exitUsage, "unknown kind \"firmware\""},
		{"bad duration", []string{"trust", "delegate", "--root", f.root, "--pub", f.signerPub, "--kinds", "trust", "--valid", "soon", "--out", filepath.Join(other, "d")}, exitUsage, "90d"},
		{"root is a public key", []string{"trust", "delegate", "--root", f.rootPub, "--pub", f.signerPub, "--kinds", "trust", "--out", filepath.Join(other, "d")}, exitRefused, "is this a public key?"},
		{"build without a signer", []string{"trust", "build", "--version", "1", "--out", filepath.Join(other, "b")}, exitUsage, "--root KEY, or --delegation"},
		{"build without a version", []string{"trust", "build", "--root", f.root, "--out", filepath.Join(other, "b")}, exitUsage, "--version"},
		{"grace shorter than fresh", []string{"trust", "build", "--root", f.root, "--version", "1", "--fresh", "48h", "--grace", "24h", "--out", filepath.Join(other, "b")}, exitUsage, "shorter than --fresh"},
		{"delegation not for trust", []string{"trust", "build", "--delegation", policyOnly, "--key", f.signer, "--root-pub", f.rootPub, "--version", "1", "--issued", at, "--out", filepath.Join(other, "b")}, exitRefused, "not delegated for this kind"},
		{"delegation of another root", []string{"trust", "build", "--delegation", f.delegation, "--key", f.signer, "--root-pub", filepath.Join(other, "root.pub"), "--version", "1", "--out", filepath.Join(other, "b")}, exitRefused, "pinned operator root"},
		{"bad pseudonym key", []string{"trust", "build", "--root", f.root, "--pseudonym-key", f.dsc, "--version", "1", "--out", filepath.Join(other, "b")}, exitRefused, "32 raw bytes or 64 hex digits"},
		{"inspect without root", []string{"trust", "inspect", bundle}, exitUsage, "usage:"},
		{"inspect with the wrong root", []string{"trust", "inspect", bundle, "--root", filepath.Join(other, "root.pub")}, exitRefused, "not signed by the pinned operator root"},
		{"inspect a key file", []string{"trust", "inspect", f.zjPub, "--root", f.rootPub}, exitRefused, "not a Sentinel signed bundle"},
		{"inspect after the delegation ends", []string{"trust", "inspect", bundle, "--root", f.rootPub, "--at", "2026-06-01T00:00:00Z"}, exitRefused, "not delegated at this time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := sentinel(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("got exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(other, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused build left a file: %v", err)
	}
}

func TestParseDays(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"24h", 24 * time.Hour, true},
		{"30m", 30 * time.Minute, true},
		{"0d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDays(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("got %v, %v; want %v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestTrustBuildSHCRevocationList(t *testing.T) {
	f := newFixtures(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := k.PublicKey.Bytes()
	kid := trust.Thumbprint(&k.PublicKey)
	dir := filepath.Join(f.dir, "issuer2", ".well-known")
	writeTestFile(t, filepath.Join(dir, "jwks.json"), fmt.Appendf(nil,
		`{"keys":[{"kty":"EC","kid":%q,"use":"sig","alg":"ES256","crv":"P-256","x":%q,"y":%q,"crlVersion":1}]}`,
		kid, base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:])))
	writeTestFile(t, filepath.Join(dir, "crl", kid+".json"), fmt.Appendf(nil, `{"kid":%q,"method":"rid","ctr":1,"rids":["cmV2b2tlZA"]}`, kid))
	out := filepath.Join(f.dir, "shc.cbor")
	mustRun(t, "trust", "build", "--root", f.root, "--jwks", "https://issuer2.example="+filepath.Join(dir, "jwks.json"),
		"--version", "1", "--issued", at, "--out", out)
	root, _ := trust.ParsePublicKey(readTestFile(t, f.rootPub))
	s, _, err := trust.LoadTrustBundle(readTestFile(t, out), root, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), trust.State{})
	if err != nil {
		t.Fatal(err)
	}
	keys := s.SHCKeys(kid)
	if len(keys) != 1 || keys[0].Issuer != "https://issuer2.example" || !keys[0].CRL.Revoked("cmV2b2tlZA", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, want the key with its revocation list from crl/", keys)
	}
}

func mustPub(t *testing.T, spki []byte) crypto.PublicKey {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestTrustHPKEKeygen(t *testing.T) {
	f := newFixtures(t)
	for _, tt := range []struct {
		kem  string
		id   uint16
		flag string
	}{{"x25519", 0x20, "32"}, {"mlkem768-x25519", 0x647a, "25722"}} {
		t.Run(tt.kem, func(t *testing.T) {
			dir := filepath.Join(f.dir, tt.kem)
			out := mustRun(t, "trust", "hpke-keygen", "--json", "--kem", tt.kem, "--out", dir)
			var got hpkeOut
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			if got.KEM != tt.id {
				t.Errorf("got KEM %#x, want %#x", got.KEM, tt.id)
			}
			if st, err := os.Stat(got.Private); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("private key file: %v, %v; want mode 0600", st, err)
			}
			bundle := filepath.Join(dir, "b.cbor")
			mustRun(t, "trust", "build", "--root", f.root, "--hpke-pub", got.Public, "--hpke-kem", tt.flag,
				"--version", "1", "--issued", at, "--out", bundle)
			root, _ := trust.ParsePublicKey(readTestFile(t, f.rootPub))
			_, info, err := trust.LoadTrustBundle(readTestFile(t, bundle), root, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), trust.State{})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := info.HPKE.Key()
			if err != nil {
				t.Fatal(err)
			}
			// The centre opens what a terminal seals to the bundle's key.
			privHex, _ := hex.DecodeString(strings.TrimSpace(string(readTestFile(t, got.Private))))
			kem, _ := hpke.NewKEM(got.KEM)
			priv, err := kem.NewPrivateKey(privHex)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte("journal"), []byte("pseudonym"))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte("journal"), ct)
			if err != nil || string(pt) != "pseudonym" {
				t.Errorf("got %q, %v; want the sealed text back", pt, err)
			}
		})
	}
	if code, _, errOut := sentinel(t, "trust", "build", "--root", f.root, "--hpke-pub", f.hpkePub, "--hpke-kem", "25722",
		"--version", "1", "--out", filepath.Join(f.dir, "x.cbor")); code != exitRefused || !strings.Contains(errOut, "hpke key") {
		t.Errorf("X25519 key under the hybrid KEM: got exit %d %q, want 1", code, errOut)
	}
}

func TestTrustHelp(t *testing.T) {
	for _, name := range []string{"root-keygen", "signer-keygen", "delegate", "keygen", "hpke-keygen", "build", "inspect"} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := sentinel(t, "trust", name, "-h")
			if code != exitOK || !strings.Contains(errOut, "-json") {
				t.Errorf("got exit %d, stderr %q; want 0 and the flags", code, errOut)
			}
		})
	}
}
