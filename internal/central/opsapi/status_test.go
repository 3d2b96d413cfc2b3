package opsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

// statusFixture serves a Handler whose status calls publish into a
// memstore with a real signer; pub is nil for a server without one.
func statusFixture(t testing.TB, withPublisher bool) (*httptest.Server, *memstore.Store) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	st := memstore.New(nil)
	opts := Options{Tokens: testTokens(t), Store: st, Audit: st}
	if withPublisher {
		k := bundlestest.NewKeys(t, now.Add(-time.Hour))
		opts.Status = &statuspub.Publisher{Store: st, DataDir: t.TempDir(), Root: k.Root.Public(),
			Signer: statuspub.Signer{Key: k.Signer, Delegation: k.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

func postStatus(t testing.TB, srv *httptest.Server, token, path, body string) (int, StatusAnswer, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var a StatusAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
			t.Fatalf("answer %s: %v", buf.String(), err)
		}
	}
	return resp.StatusCode, a, buf.String()
}

// TestStatusCalls: an ops token sets a status, revokes a certificate and
// republishes the base through the running server, which records the
// change with the caller as its source and publishes it; bad requests,
// other roles and a server without a publisher are refused, and nothing
// is recorded then.
func TestStatusCalls(t *testing.T) {
	srv, st := statusFixture(t, true)
	ctx := context.Background()
	code, a, body := postStatus(t, srv, opsToken, StatusSetPath, `{"holder":"ZJ:900002","status":"yellow","reason":"close-contact","note":"trace of case 17"}`)
	if code != http.StatusOK || a.Bundle.Kind != trust.KindStatusBase || a.Entry == nil || a.Entry.Source != "ops:olga" {
		t.Fatalf("set: got %d %s, want a base recording the caller", code, body)
	}
	h, _ := credential.ParseHolder("ZJ:900002")
	e, ok, err := st.StatusOf(ctx, h)
	if !ok || err != nil || e.Status != status.Yellow || e.Note != "trace of case 17" || e.Source != "ops:olga" {
		t.Errorf("stored: got %+v %v %v, want yellow from olga", e, ok, err)
	}
	code, a, body = postStatus(t, srv, opsToken, StatusSetPath, `{"holder":"ZJ:900002","status":"green","reason":"test-negative"}`)
	if code != http.StatusOK || a.Bundle.Kind != trust.KindStatusDelta || a.Previous == nil || a.Previous.Status != status.Yellow {
		t.Errorf("second set: got %d %s, want a delta naming the yellow it replaced", code, body)
	}
	code, a, body = postStatus(t, srv, opsToken, StatusRevokePath, `{"dcc":["URN:UVCI:01:DE:X"]}`)
	if code != http.StatusOK || len(a.Revoked) != 1 || a.Bundle.Kind != trust.KindStatusDelta {
		t.Errorf("revoke: got %d %s, want a delta", code, body)
	}
	code, a, body = postStatus(t, srv, opsToken, StatusPublishPath, `{}`)
	if code != http.StatusOK || a.Bundle.Kind != trust.KindStatusBase || !strings.Contains(a.Why, "olga") {
		t.Errorf("publish: got %d %s, want a base saying who asked", code, body)
	}
	for _, tc := range []struct {
		name, token, path, body string
		want                    int
	}{
		{"a name as holder", opsToken, StatusSetPath, `{"holder":"Zhang San","status":"red","reason":"confirmed"}`, http.StatusBadRequest},
		{"unknown reason", opsToken, StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"bored"}`, http.StatusBadRequest},
		{"in the future", opsToken, StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"confirmed","effective":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, http.StatusBadRequest},
		{"unknown field", opsToken, StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"confirmed","colour":"red"}`, http.StatusBadRequest},
		{"no identifier", opsToken, StatusRevokePath, `{"dcc":[]}`, http.StatusBadRequest},
		{"admin token", adminToken, StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"confirmed"}`, http.StatusForbidden},
		{"no token", "", StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"confirmed"}`, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, body := postStatus(t, srv, tc.token, tc.path, tc.body); code != tc.want {
				t.Errorf("got %d %s, want %d", code, body, tc.want)
			}
		})
	}
	h1, _ := credential.ParseHolder("ZJ:1")
	if _, ok, _ := st.StatusOf(ctx, h1); ok {
		t.Error("a refused call recorded ZJ:1")
	}

	srv, _ = statusFixture(t, false)
	if code, _, body := postStatus(t, srv, opsToken, StatusSetPath, `{"holder":"ZJ:1","status":"red","reason":"confirmed"}`); code != http.StatusNotImplemented || !strings.Contains(body, "--key") {
		t.Errorf("no publisher: got %d %s, want 501 saying why", code, body)
	}
}

// FuzzStatusSet posts arbitrary bodies to the status set call: the answer
// is 200 with the entry recorded as asked, or 400 with nothing recorded;
// never a 500, never a crash.
func FuzzStatusSet(f *testing.F) {
	for _, s := range []string{
		`{"holder":"ZJ:900002","status":"yellow","reason":"close-contact","note":"trace of case 17"}`,
		`{"holder":"p:00112233445566778899aabbccddeeff","status":"withheld","reason":"no-code"}`,
		`{"holder":"HB-WH:7","status":"red","reason":"confirmed","effective":"2026-01-01T00:00:00Z","until":"2026-01-15T00:00:00Z"}`,
		`{"holder":"ZJ:1","status":"red","reason":"confirmed","until":"2000-01-01T00:00:00Z"}`,
		`{"holder":"330102199001011234","status":"red","reason":"confirmed"}`,
		`{"holder":"ZJ:1","status":"purple","reason":"confirmed"}`,
		`{"holder":"ZJ:1"}`, `{}`, `[]`, `null`, `{"holder":1}`, "",
	} {
		f.Add(s)
	}
	srv, st := statusFixture(f, true)
	f.Fuzz(func(t *testing.T, body string) {
		code, a, out := postStatus(t, srv, opsToken, StatusSetPath, body)
		switch code {
		case http.StatusOK:
			if a.Entry == nil {
				t.Fatalf("200 without the entry: %s", out)
			}
			got, ok, err := st.StatusOf(context.Background(), a.Entry.Holder)
			if !ok || err != nil || got.Status != a.Entry.Status || !got.Effective.Equal(a.Entry.Effective) {
				t.Fatalf("answered %+v, stored %+v %v %v", a.Entry, got, ok, err)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("body %q: got %d %s, want 200 or 400", body, code, out)
		}
	})
}
