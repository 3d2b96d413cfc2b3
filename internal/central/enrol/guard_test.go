package enrol_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

type checker struct {
	revoked bool
	err     error
}

func (c checker) CheckRevoked(string) (bool, error) { return c.revoked, c.err }

// TestGuardUnreadableRegistry: a registry the centre cannot read refuses
// the request as unavailable (retried), never as device-revoked, which the
// terminal would record and show as removed from service.
func TestGuardUnreadableRegistry(t *testing.T) {
	u, _ := url.Parse(syncenrol.DeviceURIPrefix + "t-1")
	leaf := &x509.Certificate{URIs: []*url.URL{u}}
	for _, tc := range []struct {
		name   string
		c      checker
		status int
		header string
	}{
		{"not revoked", checker{}, http.StatusTeapot, ""},
		{"revoked", checker{revoked: true}, http.StatusForbidden, syncenrol.CodeRevoked},
		{"registry unreadable", checker{err: errors.New("disk")}, http.StatusServiceUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &enrol.Guard{Rev: tc.c, Logger: slog.New(slog.DiscardHandler),
				Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })}
			r := httptest.NewRequest(http.MethodGet, "/v1/time", nil)
			r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get(syncenrol.RefusalHeader) != tc.header {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get(syncenrol.RefusalHeader), tc.status, tc.header)
			}
		})
	}
}
