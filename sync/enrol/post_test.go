package enrol_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sentinel/sync/enrol"
)

// TestPostClassifies: only an unreachable or busy centre is worth a retry
// (*UnavailableError); a port that is not the enrolment's answers at once
// with an error that says what to change.
func TestPostClassifies(t *testing.T) {
	req := &enrol.Request{Token: "AAAAAAAAAAAAAAAAAAAAAAAAAA"}
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	busy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	notFound := httptest.NewTLSServer(http.NotFoundHandler())
	defer notFound.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		retry  bool
		is     error
	}{
		{"nothing listens", http.DefaultClient, down, true, nil},
		{"centre busy", busy.Client(), busy.URL, true, nil},
		{"plain HTTP port", http.DefaultClient, "https://" + plain.Listener.Addr().String(), false, enrol.ErrNotEnrolment},
		{"another service", notFound.Client(), notFound.URL, false, enrol.ErrNotEnrolment},
		{"unknown CA", http.DefaultClient, busy.URL, false, enrol.ErrUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := enrol.Post(ctx, tc.client, tc.url, req)
			var u *enrol.UnavailableError
			if errors.As(err, &u) != tc.retry {
				t.Errorf("got %v: retry %v, want %v", err, errors.As(err, &u), tc.retry)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got %v, want %v", err, tc.is)
			}
		})
	}
}
