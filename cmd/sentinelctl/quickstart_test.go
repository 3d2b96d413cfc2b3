package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"image/png"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"sentinel/crypto/base45"
	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
)

var updateCodes = flag.Bool("update-codes", false, "regenerate testdata/codes, the README's quick-start codes")

// The README's quick start verifies testdata/codes as of quickStartAt.
var (
	quickStartDir = filepath.Join("..", "..", "testdata", "codes")
	quickStartAt  = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
)

// quickStartWant is the verdict of each quick-start file: "" accepted,
// otherwise the reason code.
var quickStartWant = map[string]credential.Reason{
	"green.png":          "",
	"green.txt":          "",
	"yellow.txt":         "",
	"red.txt":            "",
	"live.txt":           "",
	"es256-green.txt":    "",
	"eu-dcc.png":         "",
	"shc.txt":            "",
	"expired.txt":        credential.ReasonExpired,
	"forged.txt":         credential.ReasonBadSignature,
	"screenshot.txt":     credential.ReasonLiveRequired,
	"old-live.txt":       credential.ReasonLiveStale,
	"unknown-issuer.txt": credential.ReasonUnknownKey,
}

// seeded returns a deterministic reader for key generation, so that the
// regenerated files differ only where signatures are randomised.
func seed(label string) []byte {
	s := sha256.Sum256([]byte("sentinel quick start " + label))
	return s[:]
}

func writeCode(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(quickStartDir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeQR(t *testing.T, name, text string) {
	t.Helper()
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_ERROR_CORRECTION: "M", gozxing.EncodeHintType_MARGIN: 4}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		t.Fatal(err)
	}
	// Scale up: 4 pixels a module, as a phone screen would show it.
	w, h := m.GetWidth(), m.GetHeight()
	big, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, w*4, h*4, hints)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, big); err != nil {
		t.Fatal(err)
	}
	writeCode(t, name, buf.Bytes())
}

// generateQuickStart writes testdata/codes: keys in trust/, one code a file.
func generateQuickStart(t *testing.T) {
	if err := os.RemoveAll(quickStartDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(quickStartDir, "trust"), 0o755); err != nil {
		t.Fatal(err)
	}
	issued := quickStartAt.Add(-2 * time.Hour)
	clock := func() time.Time { return issued }

	// Native issuer ZJ, Ed25519 and P-256 keys.
	edKey := ed25519.NewKeyFromSeed(seed("issuer ZJ"))
	pemKey, err := trust.MarshalNativeKey("ZJ", edKey.Public(), trust.Validity{})
	if err != nil {
		t.Fatal(err)
	}
	writeCode(t, "trust/issuer-ZJ.pem", pemKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), bytes.NewReader(bytes.Repeat(seed("issuer HB-WH"), 8)))
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err = trust.MarshalNativeKey("HB-WH", ecKey.Public(), trust.Validity{})
	if err != nil {
		t.Fatal(err)
	}
	writeCode(t, "trust/issuer-HB-WH.pem", pemKey)

	zj, err := healthcode.NewIssuer("ZJ", edKey, &healthcode.IssuerOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(is *healthcode.Issuer, c healthcode.Claims) string {
		t.Helper()
		s, err := is.Issue(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	green := issue(zj, healthcode.Claims{Index: 1001, Colour: credential.ColourGreen, DisplayName: "Zhang *"})
	writeCode(t, "green.txt", []byte(green+"\n"))
	writeQR(t, "green.png", green)
	writeCode(t, "yellow.txt", []byte(issue(zj, healthcode.Claims{Index: 1002, Colour: credential.ColourYellow, DisplayName: "Li *"})+"\n"))
	writeCode(t, "red.txt", []byte(issue(zj, healthcode.Claims{Index: 1003, Colour: credential.ColourRed, DisplayName: "Wang *"})+"\n"))

	oldIssuer, _ := healthcode.NewIssuer("ZJ", edKey, &healthcode.IssuerOptions{Clock: func() time.Time { return quickStartAt.Add(-30 * time.Hour) }})
	writeCode(t, "expired.txt", []byte(issue(oldIssuer, healthcode.Claims{Index: 1004, Colour: credential.ColourGreen, DisplayName: "Zhao *"})+"\n"))

	// A code signed by a key nobody here trusts, and a forgery: the green
	// code with one bit of its signature changed.
	forger, _ := healthcode.NewIssuer("ZJ", ed25519.NewKeyFromSeed(seed("forger")), &healthcode.IssuerOptions{Clock: clock})
	forged := issue(forger, healthcode.Claims{Index: 1001, Colour: credential.ColourGreen, DisplayName: "Zhang *"})
	writeCode(t, "unknown-issuer.txt", []byte(forged+"\n"))
	writeCode(t, "forged.txt", []byte(forgeSignature(t, green)+"\n"))

	// A live code: credential bound to the holder's key, presented now.
	holder := ed25519.NewKeyFromSeed(seed("holder 1005"))
	cred := issue(zj, healthcode.Claims{Index: 1005, Colour: credential.ColourGreen, DisplayName: "Chen *", HolderKey: holder.Public()})
	live, err := healthcode.Present(cred, holder, quickStartAt)
	if err != nil {
		t.Fatal(err)
	}
	writeCode(t, "live.txt", []byte(live+"\n"))
	writeCode(t, "screenshot.txt", []byte(cred+"\n"))
	old, err := healthcode.Present(cred, holder, quickStartAt.Add(-5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	writeCode(t, "old-live.txt", []byte(old+"\n"))

	hb, _ := healthcode.NewIssuer("HB-WH", ecKey, &healthcode.IssuerOptions{Clock: clock})
	writeCode(t, "es256-green.txt", []byte(issue(hb, healthcode.Claims{Index: 77, Colour: credential.ColourGreen, DisplayName: "Liu *"})+"\n"))

	// EU DCC by a document signer of our own.
	dscKey, _ := ecdsa.GenerateKey(elliptic.P256(), bytes.NewReader(bytes.Repeat(seed("dsc"), 8)))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2026), Subject: pkix.Name{CommonName: "Sentinel demo DSC", Country: []string{"CN"}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(bytes.NewReader(bytes.Repeat(seed("dsc cert"), 8)), tmpl, tmpl, dscKey.Public(), dscKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	writeCode(t, "trust/dsc-CN.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	hc := map[string]any{
		"ver": "1.3.0", "dob": "1990-01-01",
		"nam": map[string]any{"fn": "Zhang", "fnt": "ZHANG", "gn": "San", "gnt": "SAN"},
		"v": []any{map[string]any{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
			"dn": 2, "sd": 2, "dt": "2026-06-01", "co": "CN", "is": "Sentinel demo", "ci": "URN:UVCI:01:CN:SENTINEL#1"}},
	}
	hc1, err := dcc.Sign(cert, dscKey, hc, "CN", issued, quickStartAt.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	writeQR(t, "eu-dcc.png", hc1)

	// A SMART Health Card by an issuer key of our own.
	shcKey, _ := ecdsa.GenerateKey(elliptic.P256(), bytes.NewReader(bytes.Repeat(seed("shc"), 8)))
	raw, _ := shcKey.PublicKey.Bytes()
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": trust.Thumbprint(&shcKey.PublicKey),
		"x": b64(raw[1:33]), "y": b64(raw[33:]),
	}}})
	writeCode(t, "trust/shc-jwks.json", jwks)
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection", "entry": []any{
				map[string]any{"fullUrl": "resource:0", "resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"family": "Zhang", "given": []string{"San"}}}, "birthDate": "1990-01-01"}},
				map[string]any{"fullUrl": "resource:1", "resource": map[string]any{"resourceType": "Immunization", "status": "completed",
					"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}}},
					"patient":            map[string]any{"reference": "resource:0"},
					"occurrenceDateTime": "2026-06-01"}},
			}}},
	}
	jws, err := shc.Sign(shcKey, "", "https://issuer.sentinel.example", vc, issued, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	writeCode(t, "shc.txt", []byte(shc.EncodeNumeric(jws)+"\n"))
}

func b64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j <= k; j++ {
			sb.WriteByte(enc[n>>(18-6*j)&63])
		}
	}
	return sb.String()
}

// forgeSignature flips one bit of the signature inside a native code, so
// that it still decodes but no longer verifies.
func forgeSignature(t *testing.T, text string) string {
	t.Helper()
	raw, err := base45.DecodeString(strings.TrimPrefix(text, healthcode.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	msg[len(msg)-1] ^= 0x01 // the COSE_Sign1 ends with the signature
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(msg)
	zw.Close()
	return healthcode.Prefix + base45.EncodeToString(z.Bytes())
}

// TestQuickStart runs the README's first command in-process and checks the
// verdict of every code in testdata/codes.
func TestQuickStart(t *testing.T) {
	if *updateCodes {
		generateQuickStart(t)
	}
	files, err := filepath.Glob(filepath.Join(quickStartDir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no quick-start codes in %s (run go test ./cmd/sentinelctl -run QuickStart -update-codes): %v", quickStartDir, err)
	}
	var args []string
	args = append(args, "verify", "--json", "--trust", filepath.Join(quickStartDir, "trust"), "--at", quickStartAt.Format(time.RFC3339))
	for _, f := range files {
		if st, _ := os.Stat(f); !st.IsDir() {
			args = append(args, f)
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	if code != exitRefused {
		t.Errorf("exit status %d, want %d (some quick-start codes are refused on purpose); stderr: %s", code, exitRefused, stderr.String())
	}
	seen := map[string]bool{}
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var v verdict
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		want, ok := quickStartWant[v.Input]
		if !ok {
			t.Errorf("%s: not in quickStartWant", v.Input)
			continue
		}
		seen[v.Input] = true
		if v.Reason != want || v.Accepted != (want == "") {
			t.Errorf("%s: accepted=%v reason=%q (%s), want reason %q", v.Input, v.Accepted, v.Reason, v.Detail, want)
		}
	}
	for name := range quickStartWant {
		if !seen[name] {
			t.Errorf("%s: no verdict printed", name)
		}
	}
}
