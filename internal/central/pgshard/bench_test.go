package pgshard

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// benchRecs returns the records from..from+n-1 of one terminal at site,
// 200 stored bytes each, within one UTC day, as pgstore's BenchmarkIngest.
func benchRecs(site string, from uint64, n int) []central.Record {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	stored := make([]byte, 200)
	for i := range stored {
		stored[i] = byte(i * 7)
	}
	out := make([]central.Record, n)
	for i := range out {
		s := from + uint64(i)
		out[i] = central.Record{Seq: s, Stored: stored, Time: day.Add(time.Duration(s%86_400_000) * time.Millisecond),
			Site: site, Holder: fmt.Sprintf("ZJ:%d", s%100_000), Decision: "pass"}
	}
	return out
}

// BenchmarkIngestClusters measures the ingest rate of 6 terminals at 6
// sites uploading at once, in batches of 2,000 records, into 1, 2 and 3
// clusters, each cluster a PostgreSQL server of its own, the sites spread
// evenly. Each iteration runs one batch from each terminal into each of
// the set-ups, in turn, in a rotating order, so that all see the same
// load of this shared machine: one database without routing (pgstore,
// rows/s-0), and 1, 2 and 3 clusters (rows/s-1..3). The metrics are the
// rates (total rows over total time), the ratio of one cluster's to the
// unrouted store's (what routing costs), and of 2 and 3 clusters' to
// one's. On one machine the
// servers share its cores: the ratio shows what routing costs and that
// nothing is serialised, not what more machines would give.
func BenchmarkIngestClusters(b *testing.B) {
	const (
		terminals = 6
		batch     = 2000
	)
	ctx := context.Background()
	srvs := servers(b, 3)
	// stores[0] is one database without routing (pgstore), stores[n] n
	// clusters.
	stores := make([]central.Store, 4)
	plain, err := pgstore.Open(ctx, pgtest.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	stores[0] = plain
	next := make([][]uint64, 4)
	for i := range stores {
		n := i
		if n > 0 {
			stores[i] = setup(b, srvs, n, nil)
		}
		next[i] = make([]uint64, terminals)
		for d := range terminals {
			if _, err := storetest.Ingest(ctx, stores[i], fmt.Sprintf("t%d", d), central.Epoch{byte(d)}, benchRecs(fmt.Sprintf("site-%d", d), 1, 1)); err != nil {
				b.Fatal(err)
			}
			next[i][d] = 2
		}
		if n == 0 {
			continue
		}
		sites, err := stores[i].(*Store).Sites(ctx)
		if err != nil {
			b.Fatal(err)
		}
		per := map[string]int{}
		for _, si := range sites {
			per[si.Cluster]++
		}
		if len(per) != n {
			b.Fatalf("sites on %d clusters, want %d: %v", len(per), n, per)
		}
	}
	round := func(i int) time.Duration {
		s := stores[i]
		recs := make([][]central.Record, terminals)
		for d := range terminals {
			recs[d] = benchRecs(fmt.Sprintf("site-%d", d), next[i][d], batch)
		}
		var wg sync.WaitGroup
		errs := make(chan error, terminals)
		t0 := time.Now()
		for d := range terminals {
			wg.Go(func() {
				if _, err := s.IngestLinked(ctx, fmt.Sprintf("t%d", d), central.Epoch{byte(d)}, recs[d], nil, admitAll(recs[d])); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		took := time.Since(t0)
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		for d := range terminals {
			next[i][d] += batch
		}
		return took
	}
	laps := make([][]time.Duration, 4)
	for lap := 0; b.Loop(); lap++ {
		for k := range 4 {
			i := (lap + k) % 4
			laps[i] = append(laps[i], round(i))
		}
	}
	var rate [4]float64
	for i := range 4 {
		var total time.Duration
		for _, d := range laps[i] {
			total += d
		}
		rate[i] = float64(len(laps[i])*terminals*batch) / total.Seconds()
		b.ReportMetric(rate[i], fmt.Sprintf("rows/s-%d", i))
	}
	b.ReportMetric(rate[1]/rate[0], "ratio-1/plain")
	b.ReportMetric(rate[2]/rate[1], "ratio-2/1")
	b.ReportMetric(rate[3]/rate[1], "ratio-3/1")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// admitAll admits the records past the mark, without checking the chain
// (the records of a benchmark batch start a chain of their own).
func admitAll(recs []central.Record) central.AdmitFunc {
	return func(m central.Link) ([]central.Record, central.EngineStep, error) {
		i := 0
		for i < len(recs) && recs[i].Seq <= m.Seq {
			i++
		}
		return recs[i:], nil, nil
	}
}

// BenchmarkTrace measures ops.Trace of one holder over four days with a
// window of 10 minutes, on one store and on three clusters (three
// servers) holding the same 120,000 passages at 24 sites by 2,000
// holders (60 visits each on average). The first step reads every
// cluster at once; the second reads one cluster per visit. Each iteration
// traces the next holder on both, in alternating order; the metrics are
// the median latency of each and their ratio.
func BenchmarkTrace(b *testing.B) {
	ctx := context.Background()
	srvs := servers(b, 3)
	one, err := pgstore.Open(ctx, pgtest.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer one.Close()
	sharded := setup(b, srvs, 3, nil)
	f := newFleet(24, 48)
	for d := range f.devs {
		recs := journalOf(f, d, 1, 2500, 2000)
		for _, st := range []central.Store{one, sharded} {
			if _, err := storetest.Ingest(ctx, st, f.devs[d], epochOf(d, 1), recs); err != nil {
				b.Fatal(err)
			}
		}
	}
	q := ops.TraceQuery{From: t0, To: t0.Add(96 * time.Hour), Window: 10 * time.Minute}
	srcs := []ops.Source{one, sharded}
	laps := make([][]time.Duration, 2)
	visits := 0
	for lap := 0; b.Loop(); lap++ {
		q.Holder = fmt.Sprintf("ZJ:%d", lap%2000)
		for k := range 2 {
			i := (lap + k) % 2
			t := time.Now()
			r, err := ops.Trace(ctx, srcs[i], q)
			if err != nil {
				b.Fatal(err)
			}
			laps[i] = append(laps[i], time.Since(t))
			if i == 0 {
				visits += len(r.Visits)
			}
		}
	}
	m1, m3 := median(laps[0]), median(laps[1])
	b.ReportMetric(float64(m1.Microseconds())/1000, "p50-ms-one")
	b.ReportMetric(float64(m3.Microseconds())/1000, "p50-ms-clusters3")
	b.ReportMetric(float64(m3)/float64(m1), "ratio")
	b.ReportMetric(float64(visits)/float64(b.N), "visits/op")
}

// BenchmarkFDWCopy measures the other design issue 15 offers, declarative
// partitioning with postgres_fdw foreign partitions on a coordinator,
// against routing: a COPY of one upload's 2,000 passages of one site
// straight into the cluster that holds the site (what pgshard does),
// and the same COPY into the coordinator's partitioned table, whose
// partition for the site is a foreign table on that cluster. Each
// cluster is a server of its own. (The exactly-once transaction itself
// cannot go through postgres_fdw: it does not support the mark's INSERT
// ... ON CONFLICT DO UPDATE, and commits its remote transactions without
// two-phase commit.)
func BenchmarkFDWCopy(b *testing.B) {
	ctx := context.Background()
	srvs := servers(b, 3)
	coord := pgtest.NewDatabase(b)
	conn, err := pgx.Connect(ctx, coord)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION postgres_fdw"); err != nil {
		b.Skipf("SKIPPING: postgres_fdw is not installed (Debian: postgresql-contrib): %v", err)
	}
	const cols = "device text COLLATE \"C\" NOT NULL, epoch bytea NOT NULL, seq bigint NOT NULL, time timestamptz NOT NULL, site text COLLATE \"C\" NOT NULL, holder text COLLATE \"C\" NOT NULL, decision text NOT NULL, reasons text[] NOT NULL, stored bytea NOT NULL, chain_break text NOT NULL DEFAULT ''"
	if _, err := conn.Exec(ctx, "CREATE TABLE passages ("+cols+") PARTITION BY LIST (site)"); err != nil {
		b.Fatal(err)
	}
	direct := make([]*pgx.Conn, 2)
	for i := range 2 {
		cs, err := srvs[i+1].CreateDatabase(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c, err := pgstore.Open(ctx, cs, nil) // the cluster's own schema
		if err != nil {
			b.Fatal(err)
		}
		if err := c.EnsureDays(ctx, []time.Time{time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}); err != nil {
			b.Fatal(err)
		}
		c.Close()
		if direct[i], err = pgx.Connect(ctx, cs); err != nil {
			b.Fatal(err)
		}
		defer direct[i].Close(ctx)
		cfg, err := pgx.ParseConfig(cs)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{
			fmt.Sprintf("CREATE SERVER c%d FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '%s', port '%d', dbname '%s', batch_size '1000')", i, cfg.Host, cfg.Port, cfg.Database),
			fmt.Sprintf("CREATE USER MAPPING FOR CURRENT_USER SERVER c%d OPTIONS (user '%s')", i, cfg.User),
			fmt.Sprintf("CREATE FOREIGN TABLE passages_site%d PARTITION OF passages FOR VALUES IN ('site-%d') SERVER c%d OPTIONS (table_name 'passages')", i, i, i),
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	}
	columns := []string{"device", "epoch", "seq", "time", "site", "holder", "decision", "reasons", "stored", "chain_break"}
	rows := func(site string, lap int) [][]any {
		recs := benchRecs(site, uint64(lap)*2000+1, 2000)
		out := make([][]any, len(recs))
		for i, r := range recs {
			out[i] = []any{"t", []byte{byte(lap), byte(lap >> 8)}, int64(r.Seq), r.Time, r.Site, r.Holder, r.Decision, []string{}, r.Stored, ""}
		}
		return out
	}
	var tDirect, tFDW time.Duration
	for lap := 0; b.Loop(); lap++ {
		site := lap % 2
		r := rows(fmt.Sprintf("site-%d", site), lap)
		t := time.Now()
		if _, err := direct[site].CopyFrom(ctx, pgx.Identifier{"passages"}, columns, pgx.CopyFromRows(r)); err != nil {
			b.Fatal(err)
		}
		tDirect += time.Since(t)
		for i := range r {
			r[i][0] = "fdw"
		}
		t = time.Now()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"passages"}, columns, pgx.CopyFromRows(r)); err != nil {
			b.Fatal(err)
		}
		tFDW += time.Since(t)
	}
	rd := float64(b.N*2000) / tDirect.Seconds()
	rf := float64(b.N*2000) / tFDW.Seconds()
	b.ReportMetric(rd, "direct-rows/s")
	b.ReportMetric(rf, "fdw-rows/s")
	b.ReportMetric(rf/rd, "fdw/direct")
}

// BenchmarkMoveSite moves one site of 100,000 passages (4 terminals)
// between two clusters on servers of their own, back and forth, while
// nothing else runs: the metrics are the median time the site's uploads
// wait (from its pause on the source to the switch of the routing map)
// and the rows copied per second.
func BenchmarkMoveSite(b *testing.B) {
	ctx := context.Background()
	s := setup(b, servers(b, 3), 3, nil)
	const perDev, terminals = 25_000, 4
	for d := range terminals {
		for lo := 1; lo <= perDev; lo += 5000 {
			recs := benchRecs("big", uint64(lo), 5000)
			if _, err := s.IngestLinked(ctx, fmt.Sprintf("t%d", d), central.Epoch{byte(d)}, recs, nil, admitAll(recs)); err != nil {
				b.Fatal(err)
			}
		}
	}
	var paused []time.Duration
	var rows int64
	var took time.Duration
	for lap := 0; b.Loop(); lap++ {
		m, err := s.MoveSite(ctx, "big", []string{"c3", "c2"}[lap%2], nil) // placed on c2
		if err != nil {
			b.Fatal(err)
		}
		if m.Passages != perDev*terminals {
			b.Fatalf("moved %d passages, want %d", m.Passages, perDev*terminals)
		}
		paused = append(paused, m.Paused)
		rows += m.Passages
		took += m.Paused
	}
	b.ReportMetric(float64(median(paused).Milliseconds()), "p50-paused-ms")
	b.ReportMetric(float64(rows)/took.Seconds(), "copied-rows/s")
}
