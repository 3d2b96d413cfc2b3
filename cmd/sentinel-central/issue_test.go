package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"image"
	"image/color"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/device/camera"
)

var issueAt = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// runIssueCmd runs sentinel-central in-process.
func runIssueCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// writeKey writes k as a PKCS #8 PEM private key and its public key PEM,
// and returns their paths.
func writeKey(t *testing.T, dir, name string, k crypto.Signer) (priv, pub string) {
	t.Helper()
	b, err := trust.MarshalSigningKey(k)
	if err != nil {
		t.Fatal(err)
	}
	priv = filepath.Join(dir, name+".key")
	if err := os.WriteFile(priv, b, 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub = filepath.Join(dir, name+".pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func edSigner(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func nativeStore(t *testing.T, issuer string, pub crypto.PublicKey) *trust.Store {
	t.Helper()
	st := trust.New()
	if _, err := st.AddNativeKey(issuer, pub, trust.Validity{}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestIssueNative(t *testing.T) {
	dir := t.TempDir()
	k := edSigner(t)
	keyPath, _ := writeKey(t, dir, "ZJ", k)
	pngPath := filepath.Join(dir, "code.png")
	code, stdout, stderr := runIssueCmd(t, "issue", "--key", keyPath, "--issuer", "ZJ", "--index", "12345",
		"--colour", "yellow", "--since", "2026-02-27T08:00:00", "--ttl", "72h", "--name", "Zhang *",
		"--at", issueAt.Format(time.RFC3339), "--png", pngPath)
	if code != exitOK {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	text := strings.TrimSpace(stdout)
	cred, err := healthcode.Verify(text, nativeStore(t, "ZJ", k.Public()), healthcode.VerifyOptions{Now: issueAt.Add(time.Hour)})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cred.Holder.Index != 12345 || cred.Colour != credential.ColourYellow || cred.DisplayName != "Zhang *" ||
		!cred.ColourSince.Equal(issueAt.Add(-48*time.Hour)) || !cred.Expires.Equal(issueAt.Add(72*time.Hour)) || !cred.Paper {
		t.Errorf("got %+v, want ZJ:12345 yellow since 2026-02-27T08:00Z, paper, expiring after 72h", *cred)
	}
	res, err := camera.DecodeFile(pngPath)
	if err != nil {
		t.Fatalf("decode %s: %v", pngPath, err)
	}
	if res.Text() != text {
		t.Errorf("PNG holds %q, want %q", res.Text(), text)
	}
	if res.ECLevel != "M" {
		t.Errorf("got error correction %s, want M", res.ECLevel)
	}
}

// TestIssueWithTrustKeygen issues with the key files 'trust keygen' makes.
func TestIssueWithTrustKeygen(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runIssueCmd(t, "trust", "keygen", "--issuer", "HB-WH", "--type", "p256", "--out", dir); code != exitOK {
		t.Fatalf("trust keygen: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runIssueCmd(t, "issue", "--key", filepath.Join(dir, "HB-WH.key"), "--issuer", "HB-WH",
		"--index", "4294967295", "--colour", "red", "--json")
	if code != exitOK {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	var out issueOut
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	st := trust.New()
	if err := st.AddFile(filepath.Join(dir, "HB-WH.pub")); err != nil {
		t.Fatal(err)
	}
	cred, err := healthcode.Verify(out.Code, st, healthcode.VerifyOptions{Now: time.Now()})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cred.Holder.String() != "HB-WH:4294967295" || cred.Colour != credential.ColourRed {
		t.Errorf("got %v %v, want HB-WH:4294967295 red", cred.Holder, cred.Colour)
	}
	if out.KID != trust.KeyID(cred.KeyID).String() || out.Colour != "red" || out.Format != credential.FormatNative || out.QRModules < 21 {
		t.Errorf("got JSON %+v, want kid %x, colour red, format native and the QR size", out, cred.KeyID)
	}
}

func TestIssueRolling(t *testing.T) {
	dir := t.TempDir()
	k := edSigner(t)
	keyPath, _ := writeKey(t, dir, "ZJ", k)
	holderPriv, holderPub := writeKey(t, dir, "holder", p256(t))
	st := nativeStore(t, "ZJ", k.Public())
	now := healthcode.VerifyOptions{Now: issueAt.Add(10 * time.Second)}
	args := []string{"issue", "--key", keyPath, "--issuer", "ZJ", "--index", "1", "--colour", "green",
		"--holder-key", holderPub, "--at", issueAt.Format(time.RFC3339)}

	code, stdout, stderr := runIssueCmd(t, args...)
	if code != exitOK {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	if _, err := healthcode.Verify(strings.TrimSpace(stdout), st, now); credential.ReasonOf(err) != credential.ReasonLiveRequired {
		t.Errorf("bare holder-bound credential: got %v, want %s", err, credential.ReasonLiveRequired)
	}
	code, stdout, stderr = runIssueCmd(t, append(args, "--present", holderPriv)...)
	if code != exitOK {
		t.Fatalf("--present: got exit %d (%s), want 0", code, stderr)
	}
	cred, err := healthcode.Verify(strings.TrimSpace(stdout), st, now)
	if err != nil {
		t.Fatalf("rolling code: %v", err)
	}
	if !cred.Rolling || cred.Paper {
		t.Errorf("got rolling=%v paper=%v, want a rolling, holder-bound credential", cred.Rolling, cred.Paper)
	}
}

func p256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIssueTerminal reads the half-block drawing back into an image and
// decodes it like a camera frame.
func TestIssueTerminal(t *testing.T) {
	dir := t.TempDir()
	keyPath, _ := writeKey(t, dir, "ZJ", edSigner(t))
	code, stdout, stderr := runIssueCmd(t, "issue", "--key", keyPath, "--issuer", "ZJ", "--index", "7",
		"--colour", "green", "--terminal")
	if code != exitOK {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	text, drawing := lines[0], lines[1:]
	img := terminalImage(t, drawing, 4)
	res, err := camera.Decode(img)
	if err != nil {
		t.Fatalf("decode the terminal drawing: %v", err)
	}
	if res.Text() != text {
		t.Errorf("terminal QR holds %q, want %q", res.Text(), text)
	}
}

// terminalImage turns half-block lines into a grey image, scale pixels per
// module.
func terminalImage(t *testing.T, lines []string, scale int) *image.Gray {
	t.Helper()
	var rows [][]bool // true: light
	for _, l := range lines {
		l = strings.TrimPrefix(l, "\x1b[40;97m")
		l = strings.TrimSuffix(l, "\x1b[0m")
		var top, bottom []bool
		for _, r := range l {
			switch r {
			case '█':
				top, bottom = append(top, true), append(bottom, true)
			case '▀':
				top, bottom = append(top, true), append(bottom, false)
			case '▄':
				top, bottom = append(top, false), append(bottom, true)
			case ' ':
				top, bottom = append(top, false), append(bottom, false)
			default:
				t.Fatalf("unexpected character %q in the drawing", r)
			}
		}
		rows = append(rows, top, bottom)
	}
	w, h := len(rows[0]), len(rows)
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			if rows[y/scale][x/scale] {
				img.SetGray(x, y, color.Gray{Y: 0xff})
			}
		}
	}
	return img
}

func TestIssueRefuses(t *testing.T) {
	dir := t.TempDir()
	keyPath, _ := writeKey(t, dir, "ZJ", edSigner(t))
	junk := filepath.Join(dir, "junk.key")
	os.WriteFile(junk, []byte("not a key"), 0o600)
	base := []string{"issue", "--key", keyPath, "--issuer", "ZJ", "--index", "1", "--colour", "green"}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no flags", []string{"issue"}, exitUsage},
		{"unknown flag", append(base, "--bogus"), exitUsage},
		{"bad colour", append(base[:8:8], "blue"), exitUsage},
		{"index too big", []string{"issue", "--key", keyPath, "--issuer", "ZJ", "--index", "4294967296", "--colour", "green"}, exitUsage},
		{"lowercase issuer", []string{"issue", "--key", keyPath, "--issuer", "zj", "--index", "1", "--colour", "green"}, exitUsage},
		{"unmasked name", append(base, "--name", "Zhang Wei"), exitUsage},
		{"present without holder key", append(base, "--present", keyPath), exitUsage},
		{"stray argument", append(base, "extra"), exitUsage},
		{"missing key file", []string{"issue", "--key", filepath.Join(dir, "none.key"), "--issuer", "ZJ", "--index", "1", "--colour", "green"}, exitRefused},
		{"not a key", []string{"issue", "--key", junk, "--issuer", "ZJ", "--index", "1", "--colour", "green"}, exitRefused},
		{"paper code for 8 days", append(base, "--ttl", "192h"), exitRefused},
		{"help", []string{"issue", "-h"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIssueCmd(t, tc.args...)
			if code != tc.want {
				t.Errorf("got exit %d (stdout %q, stderr %q), want %d", code, stdout, stderr, tc.want)
			}
			if code != exitOK && stdout != "" {
				t.Errorf("got stdout %q on failure, want nothing", stdout)
			}
		})
	}
}

// selfSignedDSC makes a document signer certificate and its key files.
func selfSignedDSC(t *testing.T, dir string) (certPath, keyPath string, cert *x509.Certificate) {
	t.Helper()
	k := p256(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{Country: []string{"DE"}, CommonName: "Sentinel demo DSC"},
		NotBefore:    issueAt.Add(-24 * time.Hour),
		NotAfter:     issueAt.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	certPath = filepath.Join(dir, "dsc.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	keyPath, _ = writeKey(t, dir, "dsc", k)
	return certPath, keyPath, cert
}

func TestIssueDCC(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, cert := selfSignedDSC(t, dir)
	st := trust.New()
	if _, err := st.AddDSC(cert); err != nil {
		t.Fatal(err)
	}
	v := dcc.NewVerifier(st)
	for _, tc := range []struct {
		typ, kind string
	}{
		{"v", "vaccination"}, {"t", "test"}, {"r", "recovery"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			pngPath := filepath.Join(dir, tc.typ+".png")
			code, stdout, stderr := runIssueCmd(t, "issue", "dcc", "--cert", certPath, "--key", keyPath, "--type", tc.typ,
				"--family", "Müller", "--given", "Erika", "--dob", "1964-08-12", "--at", issueAt.Format(time.RFC3339), "--png", pngPath)
			if code != exitOK {
				t.Fatalf("got exit %d (%s), want 0", code, stderr)
			}
			text := strings.TrimSpace(stdout)
			cred, err := v.Verify([]byte(text), dcc.Options{Now: issueAt.Add(time.Hour)})
			if err != nil {
				t.Fatalf("dcc Verify: %v", err)
			}
			if cred.Format != credential.FormatDCC || cred.Facts == nil || cred.Facts.Kind != tc.kind {
				t.Errorf("got format %s facts %+v, want eu-dcc %s", cred.Format, cred.Facts, tc.kind)
			}
			res, err := camera.DecodeFile(pngPath)
			if err != nil || res.Text() != text {
				t.Errorf("PNG: got %q, %v; want the printed code", res.Text(), err)
			}
		})
	}
	if code, _, _ := runIssueCmd(t, "issue", "dcc", "--cert", certPath, "--key", keyPath, "--type", "x", "--family", "A", "--dob", "1964-08-12"); code != exitUsage {
		t.Errorf("--type x: got exit %d, want %d", code, exitUsage)
	}
}
