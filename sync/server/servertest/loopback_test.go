package servertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sentinel/sync/server/servertest"
)

func TestRefuseNonLoopback(t *testing.T) {
	servertest.RefuseNonLoopback()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	resp.Body.Close()
	for _, url := range []string{"http://192.0.2.1/", "http://[2001:db8::1]/", "http://central.invalid/"} {
		_, err := http.Get(url)
		if err == nil || !strings.Contains(err.Error(), "refusing to dial") {
			t.Errorf("%s: got %v, want a refusal", url, err)
		}
	}
}
