package client_test

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// countBytes counts the request bodies' bytes on the wire.
type countBytes struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countBytes) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(r.ContentLength)
	return c.base.RoundTrip(r)
}

// BenchmarkDrain drains a backlog of 20,000 passages over loopback into
// the in-memory store; it reports passages per second and the upload
// bytes per passage (compressed body, without HTTP headers).
func BenchmarkDrain(b *testing.B) {
	const n = 20_000
	f := newFixture(b, n, server.Options{Logger: slog.New(slog.DiscardHandler)}, nil)
	cb := &countBytes{base: &servertest.Transport{Device: dev}}
	var raw int
	f.j.Range(1, 0, func(_ journal.Seq, s []byte) error { raw += len(s); return nil })
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		f.store = servertest.NewMem()
		h, _ := server.New(server.Options{Store: f.store, Auth: servertest.HeaderAuth{}, Rate: 1e9, Burst: 1e9, Logger: slog.New(slog.DiscardHandler)})
		f.srv.Config.Handler = h
		c := f.client(b, forgetful{f.j}, client.Options{Batch: 4096, HTTP: &http.Client{Transport: cb}})
		b.StartTimer()
		if err := c.Drain(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "passages/s")
	b.ReportMetric(float64(cb.n.Load())/float64(n*b.N), "wire-B/passage")
	b.ReportMetric(float64(raw)/float64(n), "stored-B/passage")
}

// BenchmarkJournalFill is the cost of making the test backlog itself.
func BenchmarkJournalFill(b *testing.B) {
	for b.Loop() {
		servertest.Journal(b, 10_000)
	}
}
