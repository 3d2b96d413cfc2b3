package pgshard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/server"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// servers returns n running PostgreSQL servers: the test binary's shared
// one and n-1 started for the test (stopped at its end). It skips loudly
// without PostgreSQL, and fails under CI=true (pgtest.Shared).
func servers(t testing.TB, n int) []*pgtest.Server {
	t.Helper()
	out := []*pgtest.Server{pgtest.Shared(t)}
	for len(out) < n {
		srv, err := pgtest.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := srv.Stop(); err != nil {
				t.Error(err)
			}
		})
		out = append(out, srv)
	}
	return out
}

// setup opens a routed store on a new home database and adds clusters
// c2, c3, ... on new databases, one per server after the first (or on the
// first server when only one is given, for n clusters in all).
func setup(t testing.TB, srvs []*pgtest.Server, n int, opts *Options) *Store {
	t.Helper()
	ctx := context.Background()
	db := func(i int) string {
		cs, err := srvs[i%len(srvs)].CreateDatabase(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	s, err := Open(ctx, db(0), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := 1; i < n; i++ {
		if err := s.AddCluster(ctx, fmt.Sprintf("c%d", i+1), db(i)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// fleet is the terminals of a test: devs[i] is at sites[i % len(sites)].
type fleet struct {
	sites []string
	devs  []string
}

func newFleet(nSites, nDevs int) fleet {
	var f fleet
	for i := range nSites {
		f.sites = append(f.sites, fmt.Sprintf("site-%02d", i))
	}
	for i := range nDevs {
		f.devs = append(f.devs, fmt.Sprintf("t%02d", i))
	}
	return f
}

func (f fleet) site(dev int) string { return f.sites[dev%len(f.sites)] }

var t0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// journal returns the records 1..n of device dev's epoch, chained as a
// terminal's journal is: passages a few minutes apart over two days, by
// 40 holders, so that holders meet at sites.
func journal(f fleet, dev int, epoch byte, n int) []central.Record {
	return journalOf(f, dev, epoch, n, 40)
}

// journalOf is journal with passages by the given number of holders.
func journalOf(f fleet, dev int, epoch byte, n, holders int) []central.Record {
	rng := rand.New(rand.NewPCG(uint64(dev), uint64(epoch)))
	out := make([]central.Record, n)
	at := t0.Add(time.Duration(rng.IntN(60)) * time.Minute)
	for i := range out {
		at = at.Add(time.Duration(1+rng.IntN(240)) * time.Second)
		out[i] = central.Record{
			Seq:      uint64(i + 1),
			Stored:   fmt.Appendf(nil, "%s/%d/%d %d", f.devs[dev], epoch, i+1, rng.Uint64()),
			Time:     at,
			Site:     f.site(dev),
			Holder:   fmt.Sprintf("ZJ:%d", rng.IntN(holders)),
			Decision: []string{"pass", "pass", "pass", "refer"}[rng.IntN(4)],
		}
		if out[i].Decision == "refer" {
			out[i].Reasons = []string{"status-yellow"}
		}
	}
	return storetest.Journal(out)
}

func epochOf(dev int, e byte) central.Epoch { return central.Epoch{byte(dev), e, 0x5a} }

// TestSameAnswers ingests the same passages into one store and into three
// clusters (three databases of one server: the answers do not depend on
// the servers being apart), and compares trace and export.
func TestSameAnswers(t *testing.T) {
	ctx := context.Background()
	srv := servers(t, 1)
	one, err := pgstore.Open(ctx, pgtest.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	sharded := setup(t, srv, 3, nil)
	f := newFleet(6, 12)
	for d := range f.devs {
		for e := byte(1); e <= 2; e++ {
			recs := journal(f, d, e, 150)
			for _, st := range []central.Store{one, sharded} {
				// Two uploads, the second overlapping the first.
				if _, err := storetest.Ingest(ctx, st, f.devs[d], epochOf(d, e), recs[:100]); err != nil {
					t.Fatal(err)
				}
				if hw, err := storetest.Ingest(ctx, st, f.devs[d], epochOf(d, e), recs[80:]); err != nil || hw != 150 {
					t.Fatalf("ingest %s: high-water %d, %v", f.devs[d], hw, err)
				}
			}
		}
	}
	// The sites are spread over the three clusters, two each, and each
	// site's rows are on its cluster only.
	sites, err := sharded.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, si := range sites {
		per[si.Cluster]++
	}
	if len(sites) != 6 || per[Home] != 2 || per["c2"] != 2 || per["c3"] != 2 {
		t.Fatalf("sites per cluster: %v (%d sites)", per, len(sites))
	}
	for _, si := range sites {
		for _, name := range []string{Home, "c2", "c3"} {
			n := countRows(t, sharded, name, "SELECT count(*) FROM passages WHERE site = $1", si.Site)
			if want := 2 * 2 * 150; (name == si.Cluster) != (n == want) || (name != si.Cluster && n != 0) {
				t.Errorf("site %s on %s: cluster %s holds %d of its passages", si.Site, si.Cluster, name, n)
			}
		}
	}
	filters := []central.Filter{
		{},
		{Site: "site-03"},
		{Device: "t07"},
		{From: t0.Add(3 * time.Hour), To: t0.Add(9 * time.Hour)},
		{Holder: "ZJ:5"},
		{Holder: "ZJ:5", From: t0.Add(2 * time.Hour)},
		{Site: "site-01", Device: "t07"},
		{Holder: "ZJ:99"},
	}
	for _, fl := range filters {
		for _, format := range []ops.Format{ops.CSV, ops.JSONL} {
			var a, b bytes.Buffer
			na, err := ops.Export(ctx, one, fl, format, &a)
			if err != nil {
				t.Fatal(err)
			}
			nb, err := ops.Export(ctx, sharded, fl, format, &b)
			if err != nil {
				t.Fatal(err)
			}
			if na != nb || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("export %+v %s: one store %d rows, three clusters %d rows, same bytes %v", fl, format, na, nb, bytes.Equal(a.Bytes(), b.Bytes()))
			}
			if fl.Holder != "ZJ:99" && na == 0 {
				t.Errorf("export %+v selects nothing", fl)
			}
		}
	}
	contacts := 0
	for h := range 40 {
		q := ops.TraceQuery{Holder: fmt.Sprintf("ZJ:%d", h), From: t0, To: t0.Add(72 * time.Hour), Window: 10 * time.Minute}
		a, err := ops.Trace(ctx, one, q)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ops.Trace(ctx, sharded, q)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("trace %s differs:\none store:     %s\nthree clusters: %s", q.Holder, ja, jb)
		}
		contacts += a.Rows()
	}
	if contacts < 100 {
		t.Fatalf("the traces found %d rows: the data does not test contacts", contacts)
	}
	da, err := one.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sharded.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(da) != len(db) {
		t.Fatalf("devices: one store %d, three clusters %d", len(da), len(db))
	}
	for i := range da {
		if da[i].ID != db[i].ID || !slices.Equal(da[i].Marks, db[i].Marks) {
			t.Errorf("device %d: one store %+v, three clusters %+v", i, da[i], db[i])
		}
	}
}

// countRows runs a count on cluster name directly.
func countRows(t testing.TB, s *Store, name, sql string, args ...any) int {
	t.Helper()
	c, err := s.cluster(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	err = c.WithConn(context.Background(), func(pc *pgx.Conn) error {
		return pc.QueryRow(context.Background(), sql, args...).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// upload sends recs in batches as a terminal does: a failed upload is
// sent again (the store's error is temporary), and every fifth batch is
// sent twice, as after a lost answer.
func upload(ctx context.Context, st central.Store, dev string, epoch central.Epoch, recs []central.Record, batch int, retried *int, between func(lo int)) error {
	for lo := 0; lo < len(recs); lo += batch {
		between(lo)
		hi := min(lo+batch, len(recs))
		for n := 0; ; n++ {
			_, err := storetest.Ingest(ctx, st, dev, epoch, recs[lo:hi])
			if err == nil {
				break
			}
			if n == 200 || errors.Is(err, central.ErrMalformed) || ctx.Err() != nil {
				return fmt.Errorf("%s: batch %d..%d: %w", dev, lo+1, hi, err)
			}
			*retried++
			time.Sleep(10 * time.Millisecond)
		}
		if (lo/batch)%5 == 4 {
			if hw, err := storetest.Ingest(ctx, st, dev, epoch, recs[lo:hi]); err != nil && !errors.Is(err, ErrSiteMoving) {
				return fmt.Errorf("%s: batch %d..%d again: %w", dev, lo+1, hi, err)
			} else if err == nil && hw < uint64(hi) {
				return fmt.Errorf("%s: batch %d..%d again: high-water %d", dev, lo+1, hi, hw)
			}
		}
	}
	return nil
}

// TestMoveDuringIngest moves sites between three clusters on three
// PostgreSQL servers while every terminal uploads, and checks that every
// passage is stored once, on its site's cluster, that every chain
// verifies, and that the answers are those of one store.
func TestMoveDuringIngest(t *testing.T) {
	ctx := context.Background()
	srvs := servers(t, 3)
	sharded := setup(t, srvs, 3, &Options{MoveWait: 200 * time.Millisecond})
	one, err := pgstore.Open(ctx, pgtest.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	f := newFleet(4, 12)
	const perDev = 600
	recs := make([][]central.Record, len(f.devs))
	for d := range f.devs {
		recs[d] = journal(f, d, 1, perDev)
		if _, err := storetest.Ingest(ctx, one, f.devs[d], epochOf(d, 1), recs[d]); err != nil {
			t.Fatal(err)
		}
	}
	// Place the sites before the moves start.
	for d := range f.sites {
		if _, err := storetest.Ingest(ctx, sharded, f.devs[d], epochOf(d, 1), recs[d][:1]); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		retried int
		moved   atomic.Int32
		done    = make(chan struct{})
	)
	for d := range f.devs {
		wg.Go(func() {
			n := 0
			// Half-way and at three quarters, each terminal waits for
			// moves to happen while the others upload.
			err := upload(ctx, sharded, f.devs[d], epochOf(d, 1), recs[d], 10, &n, func(lo int) {
				for (lo >= perDev/2 && moved.Load() < 3) || (lo >= 3*perDev/4 && moved.Load() < 6) {
					time.Sleep(5 * time.Millisecond)
				}
			})
			mu.Lock()
			retried += n
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		})
	}
	go func() { wg.Wait(); close(done) }()
	var moves []Moved
	names := []string{Home, "c2", "c3"}
	for i := 0; ; i++ {
		select {
		case <-done:
		default:
			site := f.sites[i%len(f.sites)]
			cur, err := sharded.homeRoute(ctx, site)
			if err != nil {
				t.Fatal(err)
			}
			to := names[(slices.Index(names, cur)+1)%len(names)]
			m, err := sharded.MoveSite(ctx, site, to, nil)
			if err != nil {
				t.Fatal(err)
			}
			moves = append(moves, m)
			moved.Add(1)
			t.Logf("moved %s %s→%s: %d passages, paused %v, took %v", site, m.From, m.To, m.Passages, m.Paused, m.Took)
			continue
		}
		break
	}
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if len(moves) < 6 {
		t.Fatalf("only %d moves during the ingest: the test shows nothing", len(moves))
	}
	var copied int64
	for _, m := range moves {
		copied += m.Passages
	}
	t.Logf("%d moves during ingest, %d passages copied, %d uploads retried", len(moves), copied, retried)
	if copied == 0 {
		t.Fatal("no move copied a passage")
	}
	// Every passage once, every chain whole, the marks at the end.
	for d, dev := range f.devs {
		var got []central.Passage
		for p, err := range sharded.Passages(ctx, central.Filter{Device: dev}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p)
		}
		if len(got) != perDev {
			t.Fatalf("%s: %d passages stored, want %d", dev, len(got), perDev)
		}
		slices.SortFunc(got, func(a, b central.Passage) int { return int(a.Seq) - int(b.Seq) })
		var prev [32]byte
		for i, p := range got {
			if p.Seq != uint64(i+1) || p.Break != "" || !bytes.Equal(p.Stored, recs[d][i].Stored) {
				t.Fatalf("%s: passage %d: seq %d, break %q", dev, i+1, p.Seq, p.Break)
			}
			prev = sha256.Sum256(append(prev[:], p.Stored...))
		}
		l, err := sharded.Link(ctx, dev, epochOf(d, 1))
		if err != nil || l.Seq != perDev || l.Hash != prev {
			t.Fatalf("%s: mark %d %x, %v; want %d %x", dev, l.Seq, l.Hash[:4], err, perDev, prev[:4])
		}
	}
	// Each site on one cluster only, and the rows gone from the others.
	sites, err := sharded.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, si := range sites {
		if si.MovingFrom != "" || si.MovingTo != "" {
			t.Errorf("site %s: a move left unfinished: %+v", si.Site, si)
		}
		for _, name := range names {
			n := countRows(t, sharded, name, "SELECT count(*) FROM passages WHERE site = $1", si.Site)
			m := countRows(t, sharded, name, "SELECT count(*) FROM high_water WHERE site = $1", si.Site)
			if name != si.Cluster && (n != 0 || m != 0) {
				t.Errorf("site %s is on %s, and %s holds %d of its passages, %d marks", si.Site, si.Cluster, name, n, m)
			}
			if name == si.Cluster && (n != 3*perDev || m != 3) {
				t.Errorf("site %s: its cluster %s holds %d passages, %d marks; want %d, 3", si.Site, name, n, m, 3*perDev)
			}
		}
	}
	var a, b bytes.Buffer
	if _, err := ops.Export(ctx, one, central.Filter{}, ops.CSV, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Export(ctx, sharded, central.Filter{}, ops.CSV, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("export after the moves differs from the one store's")
	}
	for h := range 40 {
		q := ops.TraceQuery{Holder: fmt.Sprintf("ZJ:%d", h), From: t0, To: t0.Add(72 * time.Hour), Window: 10 * time.Minute}
		ta, err := ops.Trace(ctx, one, q)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := ops.Trace(ctx, sharded, q)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(ta)
		jb, _ := json.Marshal(tb)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("trace %s after the moves differs from the one store's", q.Holder)
		}
	}
}

// TestIngestWaitsForMove: an upload of a site whose copy is under way
// fails with ErrSiteMoving after MoveWait and stores nothing; once the
// move is done the same upload goes to the new cluster.
func TestIngestWaitsForMove(t *testing.T) {
	ctx := context.Background()
	s := setup(t, servers(t, 1), 2, &Options{MoveWait: 150 * time.Millisecond})
	f := newFleet(1, 1)
	recs := journal(f, 0, 1, 40)
	if _, err := storetest.Ingest(ctx, s, "t00", epochOf(0, 1), recs[:20]); err != nil {
		t.Fatal(err)
	}
	from, err := s.homeRoute(ctx, "site-00")
	if err != nil || from != "c2" {
		t.Fatalf("site-00 placed on %q, %v; want c2 (fewest sites, by name)", from, err)
	}
	if err := s.pause(ctx, from, "site-00"); err != nil {
		t.Fatal(err)
	}
	hw, err := storetest.Ingest(ctx, s, "t00", epochOf(0, 1), recs[20:])
	if !errors.Is(err, ErrSiteMoving) {
		t.Fatalf("ingest during the copy: high-water %d, %v; want ErrSiteMoving", hw, err)
	}
	if n := countRows(t, s, from, "SELECT count(*) FROM passages"); n != 20 {
		t.Fatalf("after the refused upload the cluster holds %d passages, want 20", n)
	}
	// The move, run now, finds the site paused and finishes.
	m, err := s.MoveSite(ctx, "site-00", Home, nil)
	if err != nil || m.Passages != 20 || m.Marks != 1 || m.From != "c2" {
		t.Fatalf("move: %+v, %v", m, err)
	}
	if hw, err := storetest.Ingest(ctx, s, "t00", epochOf(0, 1), recs[20:]); err != nil || hw != 40 {
		t.Fatalf("ingest after the move: high-water %d, %v", hw, err)
	}
	if n := countRows(t, s, Home, "SELECT count(*) FROM passages WHERE site = 'site-00'"); n != 40 {
		t.Fatalf("home holds %d passages of site-00, want 40", n)
	}
	if n := countRows(t, s, "c2", "SELECT count(*) FROM passages"); n != 0 {
		t.Fatalf("c2 still holds %d passages", n)
	}
}

// TestMoveResumes: a move that stopped after its copy (a crash before
// the routing map switched) is finished by running it again; one that is
// moved back instead leaves the site where it was, with no copy.
func TestMoveResumes(t *testing.T) {
	ctx := context.Background()
	s := setup(t, servers(t, 1), 3, nil)
	f := newFleet(1, 2)
	for d := range 2 {
		if _, err := storetest.Ingest(ctx, s, f.devs[d], epochOf(d, 1), journal(f, d, 1, 30)); err != nil {
			t.Fatal(err)
		}
	}
	src, _ := s.homeRoute(ctx, "site-00")
	stopAfterCopy := func(to string, want int64) {
		t.Helper()
		conn, err := pgx.Connect(ctx, s.conns[Home])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "UPDATE site_clusters SET moving_from = cluster, moving_to = $2 WHERE site = $1", "site-00", to); err != nil {
			t.Fatal(err)
		}
		if err := s.pause(ctx, src, "site-00"); err != nil {
			t.Fatal(err)
		}
		var m Moved
		if _, err := s.copySite(ctx, "site-00", src, to, &m); err != nil || m.Passages != want {
			t.Fatalf("copy: %+v, %v", m, err)
		}
	}
	// Moved back: the copy on c3 goes, the site is active on its source.
	stopAfterCopy("c3", 60)
	if _, err := s.MoveSite(ctx, "site-00", src, nil); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "c3", "SELECT count(*) FROM passages"); n != 0 {
		t.Fatalf("c3 keeps %d passages of the undone move", n)
	}
	if hw, err := storetest.Ingest(ctx, s, "t00", epochOf(0, 1), journal(f, 0, 1, 31)[30:]); err != nil || hw != 31 {
		t.Fatalf("ingest after the undone move: %d, %v", hw, err)
	}
	// Run again: finished.
	stopAfterCopy("c3", 61)
	m, err := s.MoveSite(ctx, "site-00", "c3", nil)
	if err != nil || m.From != src {
		t.Fatalf("move again: %+v, %v", m, err)
	}
	if n := countRows(t, s, "c3", "SELECT count(*) FROM passages"); n != 61 {
		t.Fatalf("c3 holds %d passages, want 61", n)
	}
	if n := countRows(t, s, src, "SELECT count(*) FROM passages"); n != 0 {
		t.Fatalf("%s keeps %d passages", src, n)
	}
	if got := len(storetest.All(t, s, central.Filter{Site: "site-00"})); got != 61 {
		t.Fatalf("passages of site-00: %d, want 61", got)
	}
}

// TestFeversOnHome: the facts an upload keeps go to the home cluster
// when the site is on another, and a failure there stores nothing.
func TestFeversOnHome(t *testing.T) {
	ctx := context.Background()
	s := setup(t, servers(t, 1), 2, nil)
	f := newFleet(1, 1)
	recs := journal(f, 0, 1, 10)
	step := func(fail bool) central.AdmitFunc {
		var kept []server.Record
		inner := syncstore.Admit(storetest.Checked(recs), recs, &kept)
		return func(m central.Link) ([]central.Record, central.EngineStep, error) {
			rest, _, err := inner(m)
			if err != nil || len(rest) == 0 {
				return rest, nil, err
			}
			return rest, func(ctx context.Context, tx central.EngineTx) error {
				if fail {
					return errors.New("engine refuses")
				}
				_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactFever, At: t0, Site: "site-00",
					Temperature: physic.ZeroCelsius + 38500*physic.MilliKelvin, Source: central.FeverSource("t00", epochOf(0, 1), 3)}, central.ChangeBy{Time: t0, By: "ingest:t00"})
				return err
			}, nil
		}
	}
	if _, err := s.IngestLinked(ctx, "t00", epochOf(0, 1), recs, nil, step(true)); err == nil {
		t.Fatal("ingest with a failing engine step: no error")
	}
	if cl, _ := s.homeRoute(ctx, "site-00"); cl != "c2" {
		t.Fatalf("site-00 on %q, want c2", cl)
	}
	if n := countRows(t, s, "c2", "SELECT count(*) FROM passages"); n != 0 {
		t.Fatalf("a failed engine step left %d passages", n)
	}
	if _, err := s.IngestLinked(ctx, "t00", epochOf(0, 1), recs, nil, step(false)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, Home, "SELECT count(*) FROM engine_facts WHERE kind = 'fever'"); n != 1 {
		t.Fatalf("home holds %d fevers, want 1", n)
	}
	if n := countRows(t, s, "c2", "SELECT count(*) FROM passages"); n != 10 {
		t.Fatalf("c2 holds %d passages, want 10", n)
	}
}

// TestSiteClaims: a terminal's passages stay under one site. Its first
// upload claims the site; an upload naming another is refused with what
// to do; records naming no site from a terminal the registry places at a
// site (a server that could not read the registry) claim nothing.
func TestSiteClaims(t *testing.T) {
	ctx := context.Background()
	s := setup(t, servers(t, 1), 2, nil)
	if err := s.AddEnrolled(ctx, central.EnrolledDevice{ID: "t-1", Site: "SM-1", Enrolled: t0, Serial: "01", NotAfter: t0.AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	recs := func(site string, from, to uint64) []central.Record {
		r := storetest.Recs(1, to, "claims")
		for i := range r {
			r[i].Site = site
		}
		return storetest.Journal(r)[from-1:]
	}
	_, err := storetest.Ingest(ctx, s, "t-1", central.Epoch{1}, recs("", 1, 5))
	if err == nil || !strings.Contains(err.Error(), `enrolled at site "SM-1"`) {
		t.Fatalf("records with no site from an enrolled terminal: %v", err)
	}
	if n := countRows(t, s, Home, "SELECT count(*) FROM device_sites"); n != 0 {
		t.Fatalf("%d sites claimed by a refused upload", n)
	}
	if hw, err := storetest.Ingest(ctx, s, "t-1", central.Epoch{1}, recs("SM-1", 1, 5)); err != nil || hw != 5 {
		t.Fatalf("upload of SM-1: %d, %v", hw, err)
	}
	_, err = storetest.Ingest(ctx, s, "t-1", central.Epoch{1}, recs("SM-2", 6, 8))
	if !errors.Is(err, central.ErrSiteFixed) || !strings.Contains(err.Error(), `kept at site "SM-1"`) || errors.Is(err, central.ErrMalformed) {
		t.Fatalf("upload naming another site: %v", err)
	}
	// Mixed sites in one upload are malformed.
	mixed := recs("SM-1", 6, 8)
	mixed[1].Site = "SM-2"
	if _, err := storetest.Ingest(ctx, s, "t-1", central.Epoch{1}, mixed); !errors.Is(err, central.ErrMalformed) {
		t.Fatalf("upload naming two sites: %v", err)
	}
	// A terminal enrolled without a site keeps its passages under "".
	if hw, err := storetest.Ingest(ctx, s, "t-2", central.Epoch{2}, recs("", 1, 3)); err != nil || hw != 3 {
		t.Fatalf("upload with no site of an unenrolled terminal: %d, %v", hw, err)
	}
	if l, err := s.Link(ctx, "t-1", central.Epoch{1}); err != nil || l.Seq != 5 {
		t.Fatalf("mark of t-1: %d, %v", l.Seq, err)
	}
}

// TestExpire: a cluster set expires facts, lapsed statuses and audit
// records on its home cluster, which holds them, as a single store does.
func TestExpire(t *testing.T) {
	storetest.Expire(t, setup(t, servers(t, 1), 2, nil))
}
