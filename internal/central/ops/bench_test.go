package ops_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// benchStore holds 20 000 passages over a day at 10 sites, 2 000 holders.
func benchStore(b *testing.B, pg bool) central.Store {
	var st central.Store
	var err error
	if pg {
		st, err = pgstore.Open(context.Background(), pgtest.NewDatabase(b), nil)
	} else {
		st, err = boltstore.Open(filepath.Join(b.TempDir(), "central.db"), &boltstore.Options{NoSync: true})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	const n = 20000
	recs := make([]central.Record, n)
	for i := range recs {
		recs[i] = central.Record{Seq: uint64(i + 1), Stored: []byte{1}, Time: t0.Add(time.Duration(i) * 4320 * time.Millisecond),
			Site: fmt.Sprintf("site-%d", i%10), Holder: fmt.Sprintf("ZJ:%d", i%2000), Decision: "pass"}
	}
	if _, err := storetest.Ingest(context.Background(), st, "dev", central.Epoch{1}, recs); err != nil {
		b.Fatal(err)
	}
	return st
}

// stores runs f on bbolt and on PostgreSQL.
func benchStores(b *testing.B, f func(b *testing.B, st central.Store)) {
	for _, pg := range []bool{false, true} {
		b.Run(map[bool]string{false: "bolt", true: "postgres"}[pg], func(b *testing.B) { f(b, benchStore(b, pg)) })
	}
}

func BenchmarkExportCSV(b *testing.B) {
	benchStores(b, func(b *testing.B, st central.Store) {
		for b.Loop() {
			if n, err := ops.Export(context.Background(), st, central.Filter{}, ops.CSV, io.Discard); err != nil || n != 20000 {
				b.Fatal(n, err)
			}
		}
	})
}

func BenchmarkTrace(b *testing.B) {
	q := ops.TraceQuery{Holder: "ZJ:7", From: t0, To: t0.Add(48 * time.Hour), Window: 30 * time.Minute}
	benchStores(b, func(b *testing.B, st central.Store) {
		for b.Loop() {
			res, err := ops.Trace(context.Background(), st, q)
			if err != nil || len(res.Visits) != 10 {
				b.Fatal(err)
			}
		}
	})
}
