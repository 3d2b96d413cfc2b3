package pgshard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central/syncstore"
	"sentinel/sync/client"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// logs keeps the records of a slog.Logger.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// take returns the records since the last call.
func (l *logs) take() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.recs
	l.recs = nil
	return out
}

// TestSyncRefusals runs a terminal's sync client against the sync server
// over a routed store: an upload after the terminal was registered at
// another site is refused for good (403, the terminal's ErrRefused) with
// what to do, and stores nothing; a registry that cannot be read, and a
// site being moved, are temporary (503, retried), the move logged as
// expected (not at Error).
func TestSyncRefusals(t *testing.T) {
	ctx := context.Background()
	s := setup(t, servers(t, 1), 2, &Options{MoveWait: 50 * time.Millisecond})
	var (
		mu      sync.Mutex
		site    = "SM-1"
		readErr error
	)
	registry := func(context.Context, string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return site, readErr
	}
	set := func(s string, err error) {
		mu.Lock()
		defer mu.Unlock()
		site, readErr = s, err
	}
	var log logs
	h, err := server.New(server.Options{Store: syncstore.New(s, syncstore.Options{Site: registry}),
		Auth: servertest.HeaderAuth{}, Logger: slog.New(&log), Rate: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	j := servertest.Journal(t, 5)
	c, err := client.New(j, client.Options{URL: srv.URL, Device: "t-1",
		HTTP: &http.Client{Transport: &servertest.Transport{Device: "t-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Drain(ctx); err != nil {
		t.Fatalf("first upload at SM-1: %v", err)
	}
	passages := func() int { return countRows(t, s, "c2", "SELECT count(*) FROM passages") }
	if n := passages(); n != 5 {
		t.Fatalf("c2 holds %d passages, want 5", n)
	}
	levels := func(want slog.Level, msg string) {
		t.Helper()
		recs := log.take()
		if len(recs) == 0 {
			t.Fatalf("%s: nothing logged", msg)
		}
		for _, r := range recs {
			if r.Level != want {
				t.Errorf("%s: logged %q at %v, want %v", msg, r.Message, r.Level, want)
			}
		}
	}
	log.take()

	// The registry cannot be read: temporary, nothing stored.
	servertest.Append(t, j, 3)
	set("SM-1", errors.New("registry unreachable"))
	err = c.Drain(ctx)
	var re *client.RetryError
	if err == nil || errors.Is(err, client.ErrRefused) || !errors.As(err, &re) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("upload with the registry down: %v; want a 503 to retry", err)
	}
	if n := passages(); n != 5 {
		t.Fatalf("with the registry down c2 holds %d passages, want 5", n)
	}
	levels(slog.LevelError, "registry down")

	// Re-sited: refused for good, with what happened and what to do.
	set("SM-2", nil)
	err = c.Drain(ctx)
	if !errors.Is(err, client.ErrRefused) {
		t.Fatalf("upload after the terminal was re-sited: %v; want ErrRefused", err)
	}
	for _, want := range []string{"403", `registered at site "SM-2"`, `kept at site "SM-1"`, "enrol it afresh", "clusters move"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if n := passages(); n != 5 {
		t.Fatalf("after the refusal c2 holds %d passages, want 5", n)
	}
	levels(slog.LevelWarn, "re-sited")

	// Back at SM-1, while SM-1 is being moved: temporary, logged as
	// expected; after the move the upload goes through.
	set("SM-1", nil)
	if err := s.pause(ctx, "c2", "SM-1"); err != nil {
		t.Fatal(err)
	}
	err = c.Drain(ctx)
	if err == nil || errors.Is(err, client.ErrRefused) || !errors.As(err, &re) {
		t.Fatalf("upload during the move: %v; want a 503 to retry", err)
	}
	levels(slog.LevelInfo, "site moving")
	if _, err := s.MoveSite(ctx, "SM-1", Home, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Drain(ctx); err != nil {
		t.Fatalf("upload after the move: %v", err)
	}
	if n := countRows(t, s, Home, "SELECT count(*) FROM passages WHERE site = 'SM-1'"); n != 8 {
		t.Fatalf("home holds %d passages of SM-1, want 8", n)
	}
}
