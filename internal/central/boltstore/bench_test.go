package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

// BenchmarkIngest measures IngestLinked on the sync server's path
// (storetest.Ingest) in batches of 5000 records of 200 stored bytes, with
// fsync on commit as in production.
func BenchmarkIngest(b *testing.B) {
	const batch = 5000
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "central.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	stored := make([]byte, 200)
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	mk := func(from uint64) []central.Record {
		out := make([]central.Record, batch)
		for i := range out {
			s := from + uint64(i)
			out[i] = central.Record{Seq: s, Stored: stored, Time: day.Add(time.Duration(s) * time.Millisecond),
				Site: fmt.Sprintf("gate-%d", s%50), Holder: fmt.Sprintf("ZJ:%d", s%100_000), Decision: "pass"}
		}
		return out
	}
	var next uint64 = 1
	for b.Loop() {
		b.StopTimer()
		recs := mk(next)
		b.StartTimer()
		if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs); err != nil {
			b.Fatal(err)
		}
		next += batch
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPassagesByHolder reads one holder's passages (what contact
// derivation and a fever's visits ask) from a store of 200,000 passages
// of 20,000 holders: by=index through the holder index, by=scan as every
// read did before it (all records, filtered).
func BenchmarkPassagesByHolder(b *testing.B) {
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "central.db"), &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	stored := make([]byte, 150)
	for from := uint64(1); from <= 200_000; from += 10_000 {
		recs := make([]central.Record, 10_000)
		for i := range recs {
			n := from + uint64(i)
			recs[i] = central.Record{Seq: n, Stored: stored, Time: day.Add(time.Duration(n) * time.Second),
				Site: fmt.Sprintf("gate-%d", n%500), Holder: fmt.Sprintf("ZJ:%d", n%20_000), Decision: "admit"}
		}
		if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs); err != nil {
			b.Fatal(err)
		}
	}
	f := central.Filter{Holder: "ZJ:77", From: day, To: day.Add(14 * 24 * time.Hour)}
	b.Run("by=index", func(b *testing.B) {
		for b.Loop() {
			if n := len(storetest.All(b, s, f)); n != 10 {
				b.Fatalf("%d passages, want 10", n)
			}
		}
	})
	b.Run("by=scan", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for _, p := range storetest.All(b, s, central.Filter{From: f.From, To: f.To}) {
				if f.Match(&p) {
					n++
				}
			}
			if n != 10 {
				b.Fatalf("%d passages, want 10", n)
			}
		}
	})
}
