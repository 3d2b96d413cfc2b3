package trustbuild

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
)

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func selfSigned(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "DSC test", Country: []string{"ZZ"}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestBuild builds a bundle from files of every kind the command takes
// and checks that it loads as a terminal would, holding each of them.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	_, root, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuerPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nativePEM, err := trust.MarshalNativeKey("ZJ", issuerPub, trust.Validity{})
	if err != nil {
		t.Fatal(err)
	}
	dsc1, dsc2 := selfSigned(t), selfSigned(t)
	twoPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dsc1}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dsc2})...)
	pseudo := make([]byte, trust.PseudonymKeySize)
	src := Sources{
		Native:             []string{write(t, dir, "zj.pub", nativePEM)},
		DSC:                []string{write(t, dir, "dscs.pem", twoPEM)},
		RevokedDSC:         []string{write(t, dir, "old.der", selfSigned(t))},
		RevokedDelegations: []string{"0123456789abcdef"},
		PseudonymKey:       write(t, dir, "pseudonym.key", []byte(hex.EncodeToString(pseudo)+"\n")),
	}
	c, err := src.Content(root.Public())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	data, info, err := Build(Signing{Signer: root, Root: root.Public()}, Header(3, at, 24*time.Hour, 72*time.Hour), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || info.Version != 3 || !info.IssuedAt.Equal(at) || !info.GraceUntil.Equal(at.Add(72*time.Hour)) || info.Delegated {
		t.Errorf("info = %+v, want version 3 issued %v by the root", info, at)
	}
	want := trust.TrustCounts{NativeKeys: 1, DSCs: 3, DSCsRevoked: 1, PseudonymKey: true, RevokedSigners: 1}
	if info.Counts != want {
		t.Errorf("counts = %+v, want %+v (DSCs counts the revoked too)", info.Counts, want)
	}
}

// TestContentErrors: a file that does not hold what it should is refused
// with its name.
func TestContentErrors(t *testing.T) {
	dir := t.TempDir()
	notCert := write(t, dir, "notcert.pem", []byte("hello"))
	key := write(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}))
	shortPseudo := write(t, dir, "short.key", []byte("abcd"))
	tests := []struct {
		name string
		src  Sources
		want string
	}{
		{"dsc not a certificate", Sources{DSC: []string{notCert}}, "notcert.pem: not a certificate"},
		{"dsc pem of a key", Sources{DSC: []string{key}}, `is not a certificate`},
		{"pseudonym key too short", Sources{PseudonymKey: shortPseudo}, "short.key: a pseudonym key is 32 raw bytes"},
		{"revoked delegation neither", Sources{RevokedDelegations: []string{"nothing-here"}}, "neither a key id"},
		{"missing native file", Sources{Native: []string{filepath.Join(dir, "absent.pub")}}, "absent.pub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.src.Content(nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Content: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
