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
