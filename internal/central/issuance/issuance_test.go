package issuance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/status"
)

const (
	zjToken = "zj-app-backend-token-0123456789"
	hbToken = "hb-app-backend-token-0123456789"
)

// env is the centre's issuance endpoint on loopback and a terminal's trust
// store for its codes.
type env struct {
	srv   *httptest.Server
	db    central.Store
	store *trust.Store
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{now: time.Now().UTC().Truncate(time.Second), store: trust.New()}
	clock := func() time.Time { return e.now }
	var issuers []*healthcode.Issuer
	for _, id := range []string{"ZJ", "HB-WH"} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		is, err := healthcode.NewIssuer(id, priv, &healthcode.IssuerOptions{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddNativeKey(id, pub, trust.Validity{}); err != nil {
			t.Fatal(err)
		}
		issuers = append(issuers, is)
	}
	db, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	h, err := New(Options{Issuers: issuers, Statuses: db, Now: clock, Tokens: []Token{
		{Name: "zj-app", Secret: zjToken, Issuer: "ZJ"}, {Name: "hb-app", Secret: hbToken, Issuer: "HB-WH"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// app stands in for the holder's app backend: it asks for a code.
func (e *env) app(t *testing.T, method, token, body string) (int, Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+Path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	var out Response
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
			t.Fatalf("response: %v: %s", err, buf.String())
		}
	}
	if res.StatusCode == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	return res.StatusCode, out, buf.String()
}

func (e *env) set(t *testing.T, holder string, st status.Status, effective time.Time) {
	t.Helper()
	h, err := credential.ParseHolder(holder)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = e.db.UpdateStatus(ctx, func(tx central.StatusTx) error {
		_, _, err := tx.SetStatus(ctx, central.StatusEntry{Holder: h, Status: st, Effective: effective, SetAt: effective})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// verify checks the code as a terminal would.
func (e *env) verify(t *testing.T, code string) *credential.Credential {
	t.Helper()
	c, err := healthcode.Verify(code, e.store, healthcode.VerifyOptions{Now: e.now.Add(time.Second)})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return c
}

func TestIssue(t *testing.T) {
	e := newEnv(t)
	// A paper code for a holder with no status entry: green.
	code, res, body := e.app(t, http.MethodPost, zjToken, `{"index": 7, "display_name": "Zhang *", "ttl": "72h"}`)
	if code != http.StatusOK || res.Colour != credential.ColourGreen || !res.Paper || res.Issuer != "ZJ" {
		t.Fatalf("paper code: got %d %+v %s, want 200 green paper from ZJ", code, res, body)
	}
	c := e.verify(t, res.Code)
	if c.Holder.String() != "ZJ:7" || c.Colour != credential.ColourGreen || !c.Paper || c.DisplayName != "Zhang *" ||
		!c.Expires.Equal(e.now.Add(72*time.Hour)) {
		t.Errorf("paper code: got %+v, want ZJ:7 green paper Zhang * for 72h", c)
	}

	// A phone code carries the holder's key; the phone presents it rolling.
	hpub, hpriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(hpub)
	code, res, body = e.app(t, http.MethodPost, hbToken, `{"index": 9, "holder_key": "`+base64.StdEncoding.EncodeToString(der)+`"}`)
	if code != http.StatusOK || res.Paper || res.Issuer != "HB-WH" {
		t.Fatalf("phone code: got %d %+v %s, want 200 from HB-WH", code, res, body)
	}
	shown, err := healthcode.Present(res.Code, hpriv, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.verify(t, shown); !c.Rolling || c.Holder.String() != "HB-WH:9" {
		t.Errorf("rolling presentation: got %+v, want rolling HB-WH:9", c)
	}

	// The centre's status gives the colour: red, then green again.
	redAt := e.now.Add(-time.Hour)
	e.set(t, "ZJ:7", status.Red, redAt)
	code, res, body = e.app(t, http.MethodPost, zjToken, `{"index": 7}`)
	if code != http.StatusOK || res.Colour != credential.ColourRed || !res.ColourSince.Equal(redAt) {
		t.Fatalf("red holder: got %d %+v %s, want a red code since %s", code, res, body, redAt)
	}
	if c := e.verify(t, res.Code); c.Colour != credential.ColourRed || !c.ColourSince.Equal(redAt) {
		t.Errorf("red code: got %s since %s, want red since %s", c.Colour, c.ColourSince, redAt)
	}
	greenAt := e.now
	e.set(t, "ZJ:7", status.Green, greenAt)
	e.now = e.now.Add(time.Minute)
	_, res, _ = e.app(t, http.MethodPost, zjToken, `{"index": 7}`)
	if c := e.verify(t, res.Code); c.Colour != credential.ColourGreen || !c.ColourSince.Equal(greenAt) || !c.IssuedAt.After(greenAt) {
		t.Errorf("red then green: got %s since %s issued %s, want green since %s issued after it", c.Colour, c.ColourSince, c.IssuedAt, greenAt)
	}
	// A lapsed entry no longer colours the code.
	e.set(t, "ZJ:8", status.Yellow, e.now.Add(-2*time.Hour))
	ctx := context.Background()
	e.db.UpdateStatus(ctx, func(tx central.StatusTx) error {
		h, _ := credential.ParseHolder("ZJ:8")
		_, _, err := tx.SetStatus(ctx, central.StatusEntry{Holder: h, Status: status.Yellow, Effective: e.now.Add(-2 * time.Hour), Until: e.now.Add(-time.Hour)})
		return err
	})
	if _, res, _ = e.app(t, http.MethodPost, zjToken, `{"index": 8}`); res.Colour != credential.ColourGreen {
		t.Errorf("lapsed yellow: got %s, want green", res.Colour)
	}
}

func TestIssueRefuses(t *testing.T) {
	e := newEnv(t)
	e.set(t, "ZJ:5", status.Withheld, e.now.Add(-time.Minute))
	for _, tc := range []struct {
		name, method, token, body string
		want                      int
	}{
		{"no token", http.MethodPost, "", `{"index": 1}`, http.StatusUnauthorized},
		{"unknown token", http.MethodPost, "not-a-token-of-this-centre", `{"index": 1}`, http.StatusUnauthorized},
		{"GET", http.MethodGet, zjToken, "", http.StatusMethodNotAllowed},
		{"not JSON", http.MethodPost, zjToken, `index=1`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, zjToken, `{"index": 1, "id_number": "330102199001011234"}`, http.StatusBadRequest},
		{"full name", http.MethodPost, zjToken, `{"index": 1, "display_name": "Zhang San"}`, http.StatusBadRequest},
		{"paper TTL too long", http.MethodPost, zjToken, `{"index": 1, "ttl": "200h"}`, http.StatusBadRequest},
		{"bad holder key", http.MethodPost, zjToken, `{"index": 1, "holder_key": "AAAA"}`, http.StatusBadRequest},
		{"oversized", http.MethodPost, zjToken, `{"index": 1, "display_name": "` + strings.Repeat("x", MaxRequest) + `"}`, http.StatusRequestEntityTooLarge},
		{"withheld", http.MethodPost, zjToken, `{"index": 5}`, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, res, body := e.app(t, tc.method, tc.token, tc.body)
			if code != tc.want || res.Code != "" {
				t.Fatalf("got %d %s, want %d and no code", code, body, tc.want)
			}
			var msg map[string]string
			if err := json.Unmarshal([]byte(body), &msg); err != nil || msg["error"] == "" {
				t.Errorf("body: got %q, want a JSON error", body)
			}
		})
	}
}

func TestNewRefusesBadTokens(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	is, err := healthcode.NewIssuer("ZJ", priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no issuers", Options{Statuses: db}},
		{"no statuses", Options{Issuers: []*healthcode.Issuer{is}}},
		{"short token", Options{Issuers: []*healthcode.Issuer{is}, Statuses: db, Tokens: []Token{{Name: "a", Secret: "short", Issuer: "ZJ"}}}},
		{"unknown issuer", Options{Issuers: []*healthcode.Issuer{is}, Statuses: db, Tokens: []Token{{Name: "a", Secret: zjToken, Issuer: "HB"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, err := New(tc.opts); err == nil {
				t.Fatalf("got %v, want an error", h)
			}
		})
	}
}
