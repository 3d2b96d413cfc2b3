package hatest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/hatest"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/storetest"
)

// batch is the records of one upload in these tests.
const batch = 200

// recs returns records from..from+n-1 of one day.
func recs(from uint64, n int) []central.Record {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	out := make([]central.Record, n)
	for i := range out {
		s := from + uint64(i)
		out[i] = central.Record{Seq: s, Stored: []byte(fmt.Sprintf("record %d", s)), Time: day.Add(time.Duration(s) * time.Second),
			Site: fmt.Sprintf("gate-%d", s%5), Holder: fmt.Sprintf("ZJ:%d", s%1000), Decision: "pass"}
	}
	return out
}

// ingester uploads batches of one device into a store as a terminal
// does: a failed upload is sent again, whole, until it is stored.
type ingester struct {
	name  string
	epoch central.Epoch
	st    *pgstore.Store

	mu      sync.Mutex
	stored  uint64    // the mark after the last upload that succeeded
	lastOK  time.Time // when it succeeded
	failed  int       // uploads that failed
	lastErr error
	resumed time.Time // the first success after a failure
	markAt  uint64    // the mark then
	paused  time.Duration
}

func (in *ingester) run(ctx context.Context) {
	next := uint64(1)
	var failing time.Time // the last success before the current run of failures
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		mark, err := storetest.Ingest(bctx, in.st, in.name, in.epoch, recs(next, batch))
		cancel()
		now := time.Now()
		in.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				in.failed++
				in.lastErr = err
				if failing.IsZero() {
					failing = in.lastOK
				}
			}
			in.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if !failing.IsZero() {
			in.paused = max(in.paused, now.Sub(failing))
			in.resumed, in.markAt = now, mark
			failing = time.Time{}
		}
		in.stored, in.lastOK = mark, now
		in.mu.Unlock()
		next = mark + 1
	}
}

func (in *ingester) mark() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stored
}

// waitMark waits until the ingester stored past mark.
func waitMark(t testing.TB, in *ingester, mark uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for in.mark() <= mark {
		if time.Now().After(deadline) {
			t.Fatalf("%s: ingest did not go past %d within %v (failed uploads: %d, the last: %v)", in.name, mark, d, in.failed, in.lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitResumed waits until the ingester failed, succeeded again and
// stored n more records since.
func waitResumed(t testing.TB, in *ingester, n uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		in.mu.Lock()
		ok := !in.resumed.IsZero() && in.stored >= in.markAt+n
		in.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: ingest did not resume within %v (failed uploads: %d, the last: %v)", in.name, d, in.failed, in.lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failover runs ingest into a Patroni pair through both ways of finding
// the primary, the connection string naming every node with
// target_session_attrs=read-write and HAProxy checking Patroni's
// /primary, loses the primary with lose, and returns how long each
// ingest was paused. It checks that ingest resumed on the promoted
// replica and that every record is stored exactly once.
func failover(t testing.TB, lose func(*hatest.Node)) map[string]time.Duration {
	c := hatest.StartCluster(t, nil)
	defer c.Stop()
	hp := hatest.StartHAProxy(t, &hatest.Frontend{Name: "pg", Backends: c.Backends()})
	defer hp.Stop()
	db := c.CreateDatabase(t)
	conns := map[string]string{
		"multihost": c.ConnString(db),
		"haproxy":   fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=2", hp.Addr("pg"), db),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		ins []*ingester
		wg  sync.WaitGroup
	)
	for i, name := range []string{"multihost", "haproxy"} {
		var st *pgstore.Store
		var err error
		// HAProxy takes the primary in after its first check.
		for range 50 {
			if st, err = pgstore.Open(ctx, conns[name], nil); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { st.Close() })
		in := &ingester{name: name, epoch: central.Epoch{byte(i + 1)}, st: st}
		ins = append(ins, in)
		wg.Go(func() { in.run(ctx) })
	}
	defer wg.Wait()
	defer cancel()
	for _, in := range ins {
		waitMark(t, in, 3*batch, 60*time.Second)
	}
	old := c.Primary()
	if old == nil {
		t.Fatal("no primary")
	}
	readReplica(t, c, db)
	killed := time.Now()
	lose(old)
	promoted, err := c.WaitPrimary(60*time.Second, old)
	t.Logf("%s lost; %s primary after %.1f s", old.Name, promoted.Name, time.Since(killed).Seconds())
	if err != nil {
		for _, n := range c.Nodes {
			t.Logf("%s:\n%s", n.Name, n.Log())
		}
		t.Fatal(err)
	}
	// Uploads on connections opened before may still commit for a moment
	// (the killed postmaster's backends live on until they notice):
	// wait for uploads that failed and then succeeded, on the new primary.
	for _, in := range ins {
		waitResumed(t, in, 3*batch, 60*time.Second)
	}
	cancel()
	wg.Wait()
	paused := map[string]time.Duration{}
	for _, in := range ins {
		if in.failed == 0 {
			t.Errorf("%s: no upload failed while the primary was lost: the test did not exercise the failover", in.name)
		}
		if in.resumed.IsZero() {
			t.Errorf("%s: ingest did not resume (failed %d, mark %d, last error %v)", in.name, in.failed, in.mark(), in.lastErr)
		}
		paused[in.name] = in.paused
		// Exactly once, on the promoted node.
		check, err := pgstore.Open(context.Background(), c.ConnString(db), nil)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for p, err := range check.Passages(context.Background(), central.Filter{Device: in.name}) {
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, p.Seq)
		}
		// The mark may be past the ingester's: an upload cut off by the
		// end of the test can have committed.
		link, err := check.Link(context.Background(), in.name, in.epoch)
		check.Close()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(seqs)
		if link.Seq < in.mark() || uint64(len(seqs)) != link.Seq || len(slices.Compact(slices.Clone(seqs))) != len(seqs) || (len(seqs) > 0 && seqs[len(seqs)-1] != link.Seq) {
			t.Errorf("%s: %d passages stored for a mark of %d, acknowledged %d (want each of 1..%d once)", in.name, len(seqs), link.Seq, in.mark(), link.Seq)
		}
		t.Logf("%s: ingest paused %.1f s; %d uploads failed; %d passages stored once; primary %s → %s",
			in.name, in.paused.Seconds(), in.failed, len(seqs), old.Name, promoted.Name)
	}
	return paused
}

// readReplica checks that the ops queries can read from the replica: a
// store opened ReadOnly with target_session_attrs=prefer-standby reads
// passages there, while opening it for writing (migrations) fails.
func readReplica(t testing.TB, c *hatest.Cluster, db string) {
	t.Helper()
	ctx := context.Background()
	// A synchronous commit waits until the replica has the change, not
	// until it shows it: wait until it has replayed what the primary has
	// now, the database, the migrations and the passages stored so far.
	c.WaitReplayed(t, 60*time.Second)
	url := c.ReplicaConnString(db)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var standby bool
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
	conn.Close(ctx)
	if err != nil || !standby {
		t.Fatalf("prefer-standby reached a primary (%v): the replica does not answer", err)
	}
	if st, err := pgstore.Open(ctx, url, nil); err == nil {
		st.Close()
		t.Error("a store opened for writing on the replica: want a refusal")
	}
	rep, err := pgstore.Open(ctx, url, &pgstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open the replica read-only: %v", err)
	}
	defer rep.Close()
	n := 0
	for _, err := range rep.Passages(ctx, central.Filter{Device: "multihost"}) {
		if err != nil {
			t.Fatalf("read the replica: %v", err)
		}
		n++
	}
	if n == 0 {
		t.Error("the replica holds no passage of the ingest")
	}
}

// TestFailover: the PostgreSQL primary of a Patroni pair is lost (its
// machine dies: SIGKILL to Patroni and the postmaster) during ingest; the
// replica is promoted once the leader key lapses, the store reconnects to
// it, by the multi-host connection string and through HAProxy, and ingest
// resumes with every passage stored exactly once.
func TestFailover(t *testing.T) {
	failover(t, (*hatest.Node).Kill)
}

// BenchmarkFailover measures how long ingest pauses when the primary is
// lost (node-lost: SIGKILL to Patroni and PostgreSQL, as a machine that
// dies; the replica waits out the leader key's TTL) and when its Patroni
// is stopped (patroni-stopped: SIGTERM, which hands the lead over at
// once), each iteration on a new Patroni pair. The metrics are the median
// pause in seconds per way of reaching the primary. Run with
// -benchtime=5x for a median of five.
func BenchmarkFailover(b *testing.B) {
	for _, mode := range []struct {
		name string
		lose func(*hatest.Node)
	}{{"node-lost", (*hatest.Node).Kill}, {"patroni-stopped", (*hatest.Node).Stop}} {
		b.Run(mode.name, func(b *testing.B) {
			got := map[string][]time.Duration{}
			for b.Loop() {
				for k, v := range failover(b, mode.lose) {
					got[k] = append(got[k], v)
				}
			}
			for k, v := range got {
				slices.Sort(v)
				b.ReportMetric(v[len(v)/2].Seconds(), "s-paused-"+k)
			}
		})
	}
}
