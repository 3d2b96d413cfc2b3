package terminal

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"sentinel/sync/server"
)

// answers is a RoundTripper that answers each path as told.
type answers map[string]func() (*http.Response, error)

func (a answers) RoundTrip(r *http.Request) (*http.Response, error) { return a[r.URL.Path]() }

func answer(code int, h ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		resp := &http.Response{StatusCode: code, Header: http.Header{}}
		for i := 0; i+1 < len(h); i += 2 {
			resp.Header.Set(h[i], h[i+1])
		}
		return resp, nil
	}
}

// TestTrackOnline: "Online" only while every kind of exchange with the
// centre succeeds (issue 8: the display said Online while downloads
// failed, because any answer below 500 counted).
func TestTrackOnline(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	a := answers{}
	tr := &trackTransport{base: a, now: func() time.Time { return t0 }}
	get := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://centre.test"+path+"?since=3", nil)
		tr.RoundTrip(req)
	}
	if st := tr.state(); st.Online || st.Failing || !st.Last.IsZero() {
		t.Fatalf("before any exchange: %+v, want offline, never", st)
	}
	a["/v1/upload"] = answer(200)
	a["/v1/bundles/trust"] = answer(304)
	a["/v1/bundles/config"] = answer(404, server.HeaderState, server.StateNotPublished)
	a["/v1/status"] = answer(403)
	for _, p := range []string{"/v1/upload", "/v1/bundles/trust", "/v1/bundles/config", "/v1/status", "/v1/upload"} {
		get(p)
	}
	if st := tr.state(); st.Online || !st.Failing || !st.Last.Equal(t0) {
		t.Errorf("uploads work, the status download is refused: got %+v, want failing, last success at t0", st)
	}
	a["/v1/status"] = answer(200)
	get("/v1/status")
	if st := tr.state(); !st.Online || st.Failing {
		t.Errorf("every exchange works: got %+v, want online", st)
	}
	a["/v1/upload"] = func() (*http.Response, error) { return nil, errors.New("dial tcp: connection refused") }
	get("/v1/upload")
	if st := tr.state(); st.Online || st.Failing {
		t.Errorf("the centre unreachable: got %+v, want offline", st)
	}
	a["/v1/upload"] = answer(503)
	get("/v1/upload")
	if st := tr.state(); st.Online || st.Failing {
		t.Errorf("the centre unavailable: got %+v, want offline", st)
	}
}
