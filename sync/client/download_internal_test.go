package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sentinel/sync/server"
)

// TestDownloadNothingPublished: a kind the centre has not published yet is
// the normal state of a new deployment, not a fault to retry.
func TestDownloadNothingPublished(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set(server.HeaderState, server.StateNotPublished)
		http.Error(w, "no policy bundle is published yet", http.StatusNotFound)
	}))
	defer srv.Close()
	d := &Downloader{opts: DownloadOptions{URL: srv.URL, HTTP: srv.Client(), Timeout: time.Second}}
	if _, _, err := d.get(context.Background(), "/v1/bundles/policy", "", 1<<10); !errors.Is(err, errNotPublished) {
		t.Errorf("got %v, want errNotPublished", err)
	}
	if calls != 1 {
		t.Errorf("%d requests, want 1", calls)
	}
}
