package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// benchBatch is the size of one upload, as a terminal sends it.
const benchBatch = 5000

// benchRecs returns records from..from+n-1 with 200 stored bytes each,
// all within one UTC day.
func benchRecs(from uint64, n int) []central.Record {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	stored := make([]byte, 200)
	for i := range stored {
		stored[i] = byte(i * 7)
	}
	out := make([]central.Record, n)
	for i := range out {
		s := from + uint64(i)
		out[i] = central.Record{Seq: s, Stored: stored, Time: day.Add(time.Duration(s%86_400_000) * time.Millisecond),
			Site: fmt.Sprintf("gate-%d", s%50), Holder: fmt.Sprintf("ZJ:%d", s%100_000), Decision: "pass"}
	}
	return out
}

// BenchmarkIngest measures IngestLinked on the sync server's path
// (storetest.Ingest) in batches of benchBatch records beside a raw COPY of
// the same rows straight into passages: the bound ingest is held to (target: ≥ 0.7× its rows/s). Each iteration does one
// of each, alternating which goes first, into the same table, so that both
// see the same table size and server state; the metrics are the two rates
// and their ratio.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	recs := benchRecs(1, benchBatch)
	cs := pgtest.NewDatabase(b)
	s := open(b, cs)
	defer s.Close()
	if _, err := storetest.Ingest(ctx, s, "warm", central.Epoch{}, recs[:1]); err != nil { // creates the day's partition
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var inStore, inCopy time.Duration
	store := func(lap int) {
		t0 := time.Now()
		if _, err := storetest.Ingest(ctx, s, "ingest", central.Epoch{byte(lap), byte(lap >> 8), byte(lap >> 16)}, recs); err != nil {
			b.Fatal(err)
		}
		inStore += time.Since(t0)
	}
	raw := func(lap int) {
		t0 := time.Now()
		e := []byte{byte(lap), byte(lap >> 8), byte(lap >> 16)}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"passages"}, copyColumns, &copySource{device: "raw", epoch: e, recs: recs, i: -1}); err != nil {
			b.Fatal(err)
		}
		inCopy += time.Since(t0)
	}
	for lap := 0; b.Loop(); lap++ {
		if lap%2 == 0 {
			store(lap)
			raw(lap)
		} else {
			raw(lap)
			store(lap)
		}
	}
	storeRate := float64(b.N*benchBatch) / inStore.Seconds()
	copyRate := float64(b.N*benchBatch) / inCopy.Seconds()
	b.ReportMetric(storeRate, "store-rows/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(storeRate/copyRate, "ratio")
}
