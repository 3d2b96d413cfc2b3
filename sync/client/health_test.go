package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"sentinel/sync/client"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

type healthSink struct {
	mu  sync.Mutex
	got []*protocol.Health
	ch  chan struct{}
}

func (s *healthSink) PutHealth(_ context.Context, device string, h *protocol.Health, _ time.Time) error {
	s.mu.Lock()
	s.got = append(s.got, h)
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return nil
}

func healthServer(t *testing.T, sink *healthSink) *httptest.Server {
	t.Helper()
	h, err := server.NewHealth(server.HealthOptions{Store: sink, Auth: servertest.HeaderAuth{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestReporterSends(t *testing.T) {
	sink := &healthSink{ch: make(chan struct{}, 1)}
	srv := healthServer(t, sink)
	var n int
	build := func(context.Context) (*protocol.Health, error) {
		n++
		return &protocol.Health{Time: time.Now(), Last: uint64(10 + n), Acked: 10,
			Lanes: []protocol.LaneHealth{{Name: "scanner", State: protocol.LaneOK}}}, nil
	}
	r, err := client.NewReporter(build, client.ReporterOptions{URL: srv.URL, Device: "t1",
		HTTP: &http.Client{Transport: &servertest.Transport{Device: "t1"}}, Every: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.Start(context.Background())
	defer r.Stop()
	wait := func(want int) {
		t.Helper()
		select {
		case <-sink.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("no report %d within 5 s", want)
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if len(sink.got) != want {
			t.Fatalf("reports: got %d, want %d", len(sink.got), want)
		}
		if g := sink.got[want-1]; g.Device != "t1" || g.Backlog() != uint64(want) {
			t.Errorf("report %d: got device %q backlog %d, want t1 backlog %d", want, g.Device, g.Backlog(), want)
		}
	}
	wait(1) // at start
	r.Kick()
	wait(2) // on kick, long before Every
}

func TestReporterRefused(t *testing.T) {
	sink := &healthSink{ch: make(chan struct{}, 1)}
	srv := healthServer(t, sink)
	build := func(context.Context) (*protocol.Health, error) { return &protocol.Health{Time: time.Now()}, nil }
	tests := []struct {
		name string
		hc   *http.Client
		want error
	}{
		{"unidentified", http.DefaultClient, client.ErrRefused},
		{"other device", &http.Client{Transport: &servertest.Transport{Device: "t2"}}, client.ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := client.NewReporter(build, client.ReporterOptions{URL: srv.URL, Device: "t1", HTTP: tt.hc})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Report(context.Background()); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if len(sink.got) != 0 {
		t.Errorf("stored %d reports, want none", len(sink.got))
	}
}

// A 408 on the health report is the centre giving up waiting for the
// request, not a refusal: the report is retried and arrives (it was
// refused before, unlike the upload's).
func TestReporterRetriesRequestTimeout(t *testing.T) {
	sink := &healthSink{ch: make(chan struct{}, 1)}
	centre := healthServer(t, sink)
	var (
		mu       sync.Mutex
		timeouts = 2
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		timeout := timeouts > 0
		timeouts--
		mu.Unlock()
		if timeout {
			http.Error(w, "request timeout", http.StatusRequestTimeout)
			return
		}
		centre.Config.Handler.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	build := func(context.Context) (*protocol.Health, error) { return &protocol.Health{Time: time.Now()}, nil }
	r, err := client.NewReporter(build, client.ReporterOptions{URL: srv.URL, Device: "t1",
		HTTP: &http.Client{Transport: &servertest.Transport{Device: "t1"}}, Every: time.Hour,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Report(t.Context())
	if err == nil || errors.Is(err, client.ErrRefused) {
		t.Fatalf("report answered 408: got %v, want an error to retry, not ErrRefused", err)
	}
	r.Start(t.Context())
	defer r.Stop()
	select {
	case <-sink.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("the report answered 408 was not retried within 5 s")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) != 1 || sink.got[0].Device != "t1" {
		t.Errorf("stored %d reports %+v, want one from t1", len(sink.got), sink.got)
	}
}
