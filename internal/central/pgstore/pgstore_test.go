package pgstore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t testing.TB, cs string) *Store {
	t.Helper()
	s, err := Open(context.Background(), cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) central.Store { return open(t, pgtest.NewDatabase(t)) },
		Reopen: func(t *testing.T, s central.Store) central.Store {
			cs := s.(*Store).connString
			s.Close()
			return open(t, cs)
		},
		Another: func(t *testing.T, s central.Store) central.Store { return open(t, s.(*Store).connString) },
	})
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	cs := pgtest.NewDatabase(t)
	// Servers starting at once migrate once.
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(ctx, cs, nil)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	var n, v int
	if err := conn.QueryRow(ctx, "SELECT count(*), max(version) FROM schema_version").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || v != ms[len(ms)-1].version {
		t.Fatalf("schema_version: got %d rows up to %d, want %d up to %d", n, v, len(ms), ms[len(ms)-1].version)
	}
	var parts string
	if err := conn.QueryRow(ctx, "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'passages'::regclass").Scan(&parts); err != nil || parts != "r" {
		t.Fatalf("passages partitioning: got %q, %v; want range", parts, err)
	}
	// The passages' indexes cover what contact derivation reads
	// (central.Filter.Slim), for index-only scans.
	for idx, include := range map[string]string{"passages_site_time": "(holder, decision, device, epoch, seq)",
		"passages_holder_time": "(site, decision, device, epoch, seq)"} {
		var def string
		if err := conn.QueryRow(ctx, "SELECT indexdef FROM pg_indexes WHERE indexname = $1", idx).Scan(&def); err != nil {
			t.Errorf("index %s: %v", idx, err)
		} else if !strings.Contains(def, "INCLUDE "+include) {
			t.Errorf("index %s: %s, want INCLUDE %s", idx, def, include)
		}
	}
	// A database migrated by a newer binary is refused.
	if _, err := conn.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES (9999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, cs, nil); err == nil {
		s.Close()
		t.Fatal("Open of a newer schema: got no error")
	}
}

func TestLoadMigrationsRefusesBadNames(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
	}{
		{"no number", fstest.MapFS{"migrations/init.sql": {Data: []byte("SELECT 1")}}},
		{"zero", fstest.MapFS{"migrations/0000_x.sql": {Data: []byte("SELECT 1")}}},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := loadMigrations(tt.fs); err == nil {
				t.Error("got no error")
			}
		})
	}
}

func TestDropBefore(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.NewDatabase(t))
	defer s.Close()
	e := central.Epoch{7}
	recs := storetest.Recs(1, 180, "a") // 22:01 on the 28th to 01:00 on the 29th UTC
	if _, err := storetest.Ingest(ctx, s, "t1", e, recs); err != nil {
		t.Fatal(err)
	}
	horizon := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	dropped, err := s.DropBefore(ctx, horizon.Add(23*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"passages_p20261128"}; !slices.Equal(dropped, want) {
		t.Fatalf("DropBefore: got %v, want %v", dropped, want)
	}
	ps := storetest.All(t, s, central.Filter{})
	for _, p := range ps {
		if p.Time.Before(horizon) {
			t.Fatalf("Passages after DropBefore: got seq %d at %v, want none before %v", p.Seq, p.Time, horizon)
		}
	}
	var kept int
	for _, r := range recs {
		if !r.Time.Before(horizon) {
			kept++
		}
	}
	if len(ps) != kept {
		t.Fatalf("Passages after DropBefore: got %d, want %d", len(ps), kept)
	}
	// The mark stays: old records sent again are dropped, not restored.
	// They come with the records still held, so that their chain shows
	// they are the same (a run of dropped records alone is judged a
	// fork: see central.FindFork).
	if hw, err := storetest.Ingest(ctx, s, "t1", e, recs); err != nil || hw != 180 {
		t.Fatalf("Ingest of dropped records: got %d, %v; want 180", hw, err)
	}
	if got := len(storetest.All(t, s, central.Filter{})); got != kept {
		t.Fatalf("Passages: got %d, want %d", got, kept)
	}
	// A new epoch with records of the dropped day recreates its partition.
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{8}, recs[:5]); err != nil {
		t.Fatal(err)
	}
	if got := len(storetest.All(t, s, central.Filter{Device: "t1", To: horizon})); got != 5 {
		t.Fatalf("Passages of the recreated day: got %d, want 5", got)
	}
}

// TestDumpRestore follows the backup steps of the operations guide: a
// pg_dump of the live database, restored into an empty one, holds every
// passage and every mark, and ingest resumes on it exactly once.
func TestDumpRestore(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Shared(t)
	from := pgtest.NewDatabase(t)
	s := open(t, from)
	defer s.Close()
	recs := storetest.Recs(1, 150, "a")
	for i, dev := range []string{"t1", "t2"} {
		if _, err := storetest.Ingest(ctx, s, dev, central.Epoch{byte(1 + i)}, recs); err != nil {
			t.Fatal(err)
		}
	}
	dump := filepath.Join(t.TempDir(), "central.dump")
	if out, err := exec.Command(srv.Program("pg_dump"), "--format=custom", "--file="+dump, "--dbname="+from).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	to := pgtest.NewDatabase(t)
	if out, err := exec.Command(srv.Program("pg_restore"), "--exit-on-error", "--no-owner", "--dbname="+to, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	r := open(t, to)
	defer r.Close()
	want := storetest.All(t, s, central.Filter{})
	got := storetest.All(t, r, central.Filter{})
	if len(got) != len(want) || len(got) != 300 {
		t.Fatalf("Passages after restore: got %d, want %d (300)", len(got), len(want))
	}
	for i := range got {
		if got[i].Device != want[i].Device || got[i].Seq != want[i].Seq || string(got[i].Stored) != string(want[i].Stored) {
			t.Fatalf("Passages[%d] after restore: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if hw, err := storetest.Ingest(ctx, r, "t1", central.Epoch{1}, append(recs[99:], storetest.Recs(151, 160, "b")...)); err != nil || hw != 160 {
		t.Fatalf("Ingest after restore: got %d, %v; want 160", hw, err)
	}
	if got := len(storetest.All(t, r, central.Filter{Device: "t1"})); got != 160 {
		t.Fatalf("Passages of t1 after restore and ingest: got %d, want 160", got)
	}
}

// TestTwoServers has two stores on one database, as two central servers
// behind a load balancer, ingest a terminal's retried and overlapping
// uploads at once: every record is stored once.
func TestTwoServers(t *testing.T) {
	ctx := context.Background()
	cs := pgtest.NewDatabase(t)
	a, b := open(t, cs), open(t, cs)
	defer a.Close()
	defer b.Close()
	const size, rounds = 200, 5
	e := central.Epoch{3}
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w, s := range []*Store{a, b, a, b} {
			wg.Go(func() {
				lo := uint64(max(1, r*size+1-w*10))
				_, err := storetest.Ingest(ctx, s, "t1", e, storetest.Recs(lo, uint64((r+1)*size), "w"))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
	}
	ps := storetest.All(t, b, central.Filter{})
	if len(ps) != size*rounds {
		t.Fatalf("Passages: got %d, want %d", len(ps), size*rounds)
	}
	for i, p := range ps {
		if p.Seq != uint64(i+1) {
			t.Fatalf("Passages[%d]: got seq %d, want %d", i, p.Seq, i+1)
		}
	}
}

// TestAbandonedExport checks that a store keeps serving after an export
// stopped early over a large result.
func TestAbandonedExport(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.NewDatabase(t))
	defer s.Close()
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, benchRecs(1, 20000)); err != nil {
		t.Fatal(err)
	}
	for range 20 { // more than the pool's connections
		for _, err := range s.Passages(ctx, central.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if got := len(storetest.All(t, s, central.Filter{Site: "gate-7"})); got != 400 {
		t.Fatalf("Passages at gate-7: got %d, want 400", got)
	}
}

func TestLastSeenFromClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 8, 30, 0, 0, time.UTC)
	s, err := Open(ctx, pgtest.NewDatabase(t), &Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, storetest.Recs(1, 2, "a")); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Devices(ctx)
	if err != nil || len(ds) != 1 || !ds[0].LastSeen.Equal(now) {
		t.Fatalf("Devices: got %+v, %v; want t1 last seen %v", ds, err, now)
	}
}
