package shc

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors and the test issuer's key set")

// The test issuer of testdata/: its key set and revocation list sit where
// an issuer publishes them, and its private key (for tests only) beside.
const (
	vecIss    = "https://issuer.sentinel.example/shc"
	vecDir    = "testdata/vectors"
	vecKeyPEM = "testdata/issuer/test-only-private-key.pem"
	vecJWKS   = "testdata/issuer/.well-known/jwks.json"
	vecCRLDir = "testdata/issuer/.well-known/crl"
)

// vecNbf is when the vector cards are issued.
var vecNbf = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

// vector is one case of testdata/vectors: case.json says when to verify
// and what to expect; qr-N.txt are the QR texts (several for a chunked
// card).
type vector struct {
	At   time.Time         `json:"at"`
	Want credential.Reason `json:"want"` // "" for accepted
	Note string            `json:"note"`
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	store := trust.New()
	if _, err := store.AddJWKS(vecIss, []byte(readFile(t, vecJWKS))); err != nil {
		t.Fatal(err)
	}
	crls, _ := filepath.Glob(filepath.Join(vecCRLDir, "*.json"))
	for _, c := range crls {
		if err := store.AddSHCCRL([]byte(readFile(t, c))); err != nil {
			t.Fatal(err)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(vecDir, "*"))
	if len(dirs) == 0 {
		t.Fatal("no vectors: run go test -run TestVectors -update")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var v vector
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "case.json"))), &v); err != nil {
				t.Fatal(err)
			}
			qrs, _ := filepath.Glob(filepath.Join(dir, "qr-*.txt"))
			sort.Strings(qrs)
			var a Assembler
			var jws string
			var err error
			for _, q := range qrs {
				if jws, _, err = a.Add(readFile(t, q)); err != nil {
					break
				}
			}
			if err == nil && jws == "" {
				t.Fatalf("%d QR texts do not make a whole card", len(qrs))
			}
			if err == nil {
				_, _, err = verifyJWS(jws, store, v.At)
			}
			if got := credential.ReasonOf(err); got != v.Want {
				t.Errorf("got reason %q (%v), want %q", got, err, v.Want)
			}
		})
	}
}

// writeVectors regenerates the test issuer's key set and list (keeping its
// key) and every vector.
func writeVectors(t *testing.T) {
	t.Helper()
	block, _ := pem.Decode([]byte(readFile(t, vecKeyPEM)))
	if block == nil {
		t.Fatalf("%s: no PEM block", vecKeyPEM)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*ecdsa.PrivateKey)
	kid := trust.Thumbprint(&key.PublicKey)
	raw, _ := key.PublicKey.Bytes()
	writeJSON(t, vecJWKS, map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256", "crlVersion": 1,
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:]),
	}}})
	revokedAt := vecNbf.Add(24 * time.Hour)
	writeJSON(t, filepath.Join(vecCRLDir, kid+".json"), map[string]any{
		"kid": kid, "method": "rid", "ctr": 1,
		"rids": []string{"revokedOnce." + itoa64(revokedAt.Unix()), "revokedAll"},
	})

	other := newKey(t)
	at := vecNbf.Add(30 * 24 * time.Hour)
	exp := vecNbf.Add(365 * 24 * time.Hour)
	sign := func(k *ecdsa.PrivateKey, iss, rid string, nbf, exp time.Time) string {
		return mustSign(t, k, iss, testVC(rid), nbf, exp)
	}
	good := sign(key, vecIss, "aGoodRid", vecNbf, exp)
	h, p, s := splitDots(good)
	cases := []struct {
		name string
		qrs  []string
		v    vector
	}{
		{"valid", []string{EncodeNumeric(good)}, vector{at, "", "an immunization card"}},
		{"valid-chunked", EncodeChunks(good, 3), vector{at, "", "the same card in the deprecated 3-part form"}},
		{"single-chunk-header", []string{strings.Replace(EncodeNumeric(good), Prefix, Prefix+"1/1/", 1)}, vector{at, "", "shc:/1/1/: accepted with a warning"}},
		{"expired", []string{EncodeNumeric(good)}, vector{exp, credential.ReasonExpired, "verified at its exp"}},
		{"not-yet-valid", []string{EncodeNumeric(good)}, vector{vecNbf.Add(-time.Hour), credential.ReasonNotYetValid, "verified an hour before its nbf"}},
		{"revoked", []string{EncodeNumeric(sign(key, vecIss, "revokedAll", vecNbf, exp))}, vector{at, credential.ReasonRevoked, "rid on the list without a timestamp"}},
		{"revoked-before-timestamp", []string{EncodeNumeric(sign(key, vecIss, "revokedOnce", vecNbf, exp))}, vector{at, credential.ReasonRevoked, "issued before the rid's timestamp"}},
		{"reissued-after-timestamp", []string{EncodeNumeric(sign(key, vecIss, "revokedOnce", revokedAt.Add(time.Hour), exp))}, vector{at, "", "issued after the rid's timestamp"}},
		{"exp-before-nbf", []string{EncodeNumeric(sign(key, vecIss, "", vecNbf, vecNbf.Add(-time.Second)))}, vector{at, credential.ReasonExpired, "never valid"}},
		{"wrong-issuer", []string{EncodeNumeric(sign(key, "https://other.example/shc", "", vecNbf, exp))}, vector{at, credential.ReasonBadIssuer, "signed by the key of another issuer"}},
		{"unknown-key", []string{EncodeNumeric(sign(other, vecIss, "", vecNbf, exp))}, vector{at, credential.ReasonUnknownKey, "a key no one trusts"}},
		{"forged", []string{EncodeNumeric(func() string { j, _ := Sign(other, kid, vecIss, testVC(""), vecNbf, exp); return j }())}, vector{at, credential.ReasonBadSignature, "the trusted kid, another key"}},
		{"der-signature", []string{EncodeNumeric(h + "." + p + "." + derSig(t, s))}, vector{at, credential.ReasonBadSignature, "DER instead of r||s"}},
		{"zlib-payload", []string{EncodeNumeric(rawJWS(t, key, `{"zip":"DEF","alg":"ES256","kid":"`+kid+`"}`, []byte(`{"iss":"`+vecIss+`"}`), zlibbed))}, vector{at, credential.ReasonBadCompression, "zlib instead of raw DEFLATE"}},
		{"odd-digits", []string{EncodeNumeric(good)[:102]}, vector{at, credential.ReasonBadEncoding, "cut off after an odd number of digits"}},
		{"parts-mixed", []string{EncodeChunks(good, 3)[0], EncodeChunks(sign(key, vecIss, "", vecNbf, exp), 2)[1]}, vector{at, credential.ReasonBadEncoding, "parts of two cards, of 3 and of 2 parts"}},
	}
	if err := os.RemoveAll(vecDir); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		dir := filepath.Join(vecDir, c.name)
		writeJSON(t, filepath.Join(dir, "case.json"), c.v)
		for i, q := range c.qrs {
			writeFile(t, filepath.Join(dir, "qr-"+itoa(i+1)+".txt"), q)
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b)+"\n")
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
