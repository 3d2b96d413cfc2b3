package issuance

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central/memstore"
)

// FuzzServe feeds the handler arbitrary request bodies from a token holder:
// it must answer 200 with a code that verifies, or a 4xx with a JSON error.
func FuzzServe(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	der, _ := x509.MarshalPKIXPublicKey(seed.Public())
	for _, s := range []string{
		`{"index": 7}`,
		`{"index": 7, "display_name": "Zhang *", "ttl": "72h"}`,
		`{"index": 4294967295, "holder_key": "` + base64.StdEncoding.EncodeToString(der) + `"}`,
		`{"index": -1}`, `{"index": 1, "ttl": "-1s"}`, `{"index": 1} {"index": 2}`, `[]`, ``, `{"holder_key": "%%%"}`,
		`{"index": 1, "display_name": "` + strings.Repeat("\u00e9", 40) + ` *"}`,
	} {
		f.Add(s)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	is, err := healthcode.NewIssuer("ZJ", priv, &healthcode.IssuerOptions{Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	store := trust.New()
	if _, err := store.AddNativeKey("ZJ", priv.Public(), trust.Validity{}); err != nil {
		f.Fatal(err)
	}
	db := memstore.New(nil)
	h, err := New(Options{Issuers: []*healthcode.Issuer{is}, Statuses: db, Now: clock,
		Tokens: []Token{{Name: "zj", Secret: zjToken, Issuer: "ZJ"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+zjToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			var res Response
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("200 with a bad body: %v", err)
			}
			code := res.Code
			if !res.Paper {
				// A phone code verifies only as the phone presents it.
				if code, err = healthcode.Present(res.Code, seed, now); err != nil {
					if _, derr := healthcode.Decode(res.Code); derr != nil {
						t.Fatalf("issued a phone code that does not decode: %v", derr)
					}
					return // another key than the seed's: cannot present it here
				}
			}
			if _, err := healthcode.Verify(code, store, healthcode.VerifyOptions{Now: now}); err != nil {
				t.Fatalf("issued a code that does not verify: %v (body %q)", err, body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var msg map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil || msg["error"] == "" {
				t.Fatalf("%d without a JSON error: %q", rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("got %d %q for body %q, want 200 or 4xx", rec.Code, rec.Body.String(), body)
		}
	})
}
