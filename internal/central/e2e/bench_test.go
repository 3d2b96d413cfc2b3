package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central/syncstore"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server/servertest"
)

// BenchmarkDrain times draining a backlog of b.N sealed passages from one
// journal through the real client, a healthy proxy (which counts the
// bytes) and the real server into each central store, and reports the
// bytes on the wire per passage. Run it with e.g. -benchtime=20000x.
func BenchmarkDrain(b *testing.B) {
	for _, k := range storeKinds {
		b.Run(k.name, func(b *testing.B) {
			key := newCentreKey(b)
			j, err := journal.Open(filepath.Join(b.TempDir(), journal.FileName), journal.Options{CentreKey: key.PublicKey(), PurgeEvery: -1, MaxBatch: 1024})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			fill(b, j, b.N)
			s := k.open(b)
			defer s.Close()
			srv := newServer(b, newHandler(b, syncstore.New(s, syncstore.Options{CentreKey: key}), 0))
			px, err := newProxy(1)
			if err != nil {
				b.Fatal(err)
			}
			defer px.close()
			px.healed.Store(true)
			px.setTarget(srv)
			c, err := client.New(j, client.Options{URL: "http://" + px.addr(), Device: "gate-1",
				HTTP: &http.Client{Transport: &servertest.Transport{Device: "gate-1"}}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := c.Drain(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if acked, _ := j.Acked(); acked != journal.Seq(b.N) {
				b.Fatalf("got acked %d, want %d", acked, b.N)
			}
			b.ReportMetric(float64(px.up.Load()+px.down.Load())/float64(b.N), "wire-B/passage")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "passages/s")
		})
	}
}

// fill appends n sealed passages from 256 lanes at once.
func fill(tb testing.TB, j *journal.Journal, n int) {
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 256 {
		wg.Go(func() {
			for i := range next {
				if _, err := j.Append(context.Background(), passageOf(at.Add(time.Duration(i)*time.Second), "in-1", uint32(i))); err != nil {
					tb.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
