package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/server"
)

// engineChange adds an area through st, as `areas set --postgres` does
// from another process.
func engineChange(t *testing.T, st *Store, id string) {
	t.Helper()
	ctx := context.Background()
	by := central.ChangeBy{Time: time.Now(), By: "ops:test", Why: "test"}
	if err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		return tx.PutArea(ctx, central.Area{ID: id, Kind: central.AreaProvince}, by)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestListenEngine: a change of the engine's data committed by another
// Store (another process) reaches the listener; the listener's own
// changes, a status the engine published, a change rolled back and a fever
// kept at ingest do not.
func TestListenEngine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := pgtest.NewDatabase(t)
	a, b := open(t, cs), open(t, cs)
	defer a.Close()
	defer b.Close()
	listening, got := make(chan struct{}), make(chan string, 16)
	done := make(chan error, 1)
	go func() { done <- a.listenEngine(ctx, func() { close(listening) }, func(p string) { got <- p }) }()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("listen: %v", err)
	}
	by := central.ChangeBy{Time: time.Now(), By: "engine", Why: "test"}
	engineChange(t, a, "OWN")
	if err := b.UpdateEngine(ctx, func(tx central.EngineTx) error {
		return tx.Audit(ctx, central.ChangeStatus, "ZJ:1", map[string]string{"to": "red"}, by)
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateEngine(ctx, func(tx central.EngineTx) error {
		if err := tx.PutArea(ctx, central.Area{ID: "ROLLED", Kind: central.AreaProvince}, by); err != nil {
			return err
		}
		return context.Canceled // rolls back
	}); err == nil {
		t.Fatal("the failing transaction committed")
	}
	// A fever kept at ingest: the serve that ingests it judges its holder;
	// the others are not told.
	recs := storetest.Recs(1, 2, "fever")
	var kept []server.Record
	admit := syncstore.Admit(storetest.Checked(recs), recs, &kept)
	_, err := b.IngestLinked(ctx, "T7", central.Epoch{7}, recs, nil, func(m central.Link) ([]central.Record, central.EngineStep, error) {
		rest, _, err := admit(m)
		return rest, func(ctx context.Context, tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "HB:7", Kind: central.FactFever, At: time.Now(), Site: "CP-1", Source: central.FeverSource("T7", central.Epoch{7}, 1)},
				central.ChangeBy{Time: time.Now(), By: "ingest:T7", Why: "fever recorded at a checkpoint"})
			return err
		}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	engineChange(t, b, "ZJ")
	// A notification of no Store marks the end: every one before it has
	// been delivered by then, in commit order.
	conn, err := b.pool.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT pg_notify($1, 'end')", engineChannel)
	b.pool.release(conn, err != nil)
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for !slices.Contains(payloads, "end") {
		select {
		case p := <-got:
			payloads = append(payloads, p)
		case err := <-done:
			t.Fatalf("listen ended: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatalf("no end marker after 30 s; got %q", payloads)
		}
	}
	if want := []string{b.id, "end"}; !slices.Equal(payloads, want) {
		t.Errorf("got notifications %q, want %q: only the other store's committed change", payloads, want)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("listen ended with %v, want context.Canceled", err)
	}
}

// TestWatchEngineReconnects: WatchEngine tells of another Store's change;
// when its connection is cut it connects again and tells of a change once
// it listens again, since one may have been missed meanwhile.
func TestWatchEngineReconnects(t *testing.T) {
	defer func(d time.Duration) { watchRetryMin = d }(watchRetryMin)
	watchRetryMin = 10 * time.Millisecond
	ctx := context.Background()
	cs := pgtest.NewDatabase(t)
	a, b := open(t, cs), open(t, cs)
	defer a.Close()
	defer b.Close()
	changed := make(chan struct{}, 16)
	stop := a.WatchEngine(ctx, func() { changed <- struct{}{} }, nil)
	defer stop()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: not told within 30 s", what)
		}
	}
	listeners(t, b, 1)
	engineChange(t, b, "AA")
	wait("a change")
	// Cut the watcher's connection, as a failover or a restart of the
	// database does.
	conn, err := b.pool.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'LISTEN "+engineChannel+"'").Scan(&n)
	b.pool.release(conn, err != nil)
	if err != nil || n != 1 {
		t.Fatalf("terminating the listener: %d backends, %v", n, err)
	}
	wait("after reconnecting")
	listeners(t, b, 1)
	engineChange(t, b, "ZJ")
	wait("a change after reconnecting")
}

// listeners waits until n connections have run LISTEN and wait for
// notifications.
func listeners(t *testing.T, st *Store, n int) {
	t.Helper()
	ctx := context.Background()
	for range 3000 {
		conn, err := st.pool.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN "+engineChannel+"' AND state = 'idle'").Scan(&got)
		st.pool.release(conn, err != nil)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %d listeners after 30 s", n)
}
