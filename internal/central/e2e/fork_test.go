package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server/servertest"
)

// TestForkRestoredDataDir is issue 9's fork test: snapshot a terminal's
// data directory, run on, restore the snapshot, run on. Before, the
// restored terminal reused sequence numbers, the centre dropped its new
// passages as duplicates and the client looped on "acknowledgement
// beyond the last record". Now the centre ends with every passage of both
// runs exactly once (the restored run's under a branch epoch), the fork
// is recorded in the fleet, and the terminal goes on delivering. A second
// restore of the same snapshot forks again, apart from the first.
func TestForkRestoredDataDir(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			store := k.open(t)
			defer store.Close()
			testForkRestored(t, store, nil)
		})
	}
	// The centre's retention purged most of the first run before the
	// restored terminal came back: the restored run's records that fall
	// where the centre holds nothing any more are not taken for the
	// purged ones.
	t.Run("bbolt after retention", func(t *testing.T) {
		s := storeKinds[0].open(t).(*boltstore.Store)
		defer s.Close()
		testForkRestored(t, s, func(horizon time.Time) {
			if _, err := s.PurgeBefore(context.Background(), horizon); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// testForkRestored runs the fork test on store; purge, when set, purges
// the centre's passages before the time of the first run's record 60 just
// before the restore.
func testForkRestored(t *testing.T, store centralStore, purge func(horizon time.Time)) {
	ctx := context.Background()
	priv := newCentreKey(t)
	srv := httptest.NewServer(newHandler(t, syncstore.New(store, syncstore.Options{CentreKey: priv}), 0))
	defer srv.Close()

	const device = "gate-fork"
	data, snap := t.TempDir(), t.TempDir()
	path := journal.Path(data)
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	// run opens the terminal's journal, appends the passages of holders
	// ZJ:from.., drains it to the centre as a freshly started sentineld
	// would, and closes it.
	var want []string
	purged := map[string]bool{}
	run := func(t *testing.T, from, n int) journal.Branch {
		t.Helper()
		j, err := journal.Open(path, journal.Options{CentreKey: priv.PublicKey(), PurgeEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		for i := range n {
			if _, err := j.Append(ctx, passageOf(at.Add(time.Duration(from+i)*time.Second), "in-1", uint32(from+i))); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("ZJ:%d", from+i))
		}
		c, err := client.New(j, client.Options{URL: srv.URL, Device: device, Batch: 16, Logger: slog.New(slog.DiscardHandler),
			HTTP: &http.Client{Transport: &servertest.Transport{Device: device}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Drain(ctx); err != nil {
			t.Fatalf("drain: %v", err)
		}
		acked, err := j.Acked()
		if _, seqs, _ := j.Tail(1); err != nil || len(seqs) != 1 || acked != seqs[0] {
			t.Fatalf("acknowledged %d (%v), want the last record %v", acked, err, seqs)
		}
		b, err := j.Branch()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := run(t, 0, 30); b != (journal.Branch{}) {
		t.Fatalf("a fresh journal has branch %+v", b)
	}
	copyFile(t, path, filepath.Join(snap, journal.FileName)) // the snapshot: 30 passages, all acknowledged
	run(t, 100, 40)                                          // run on: 31..70
	restore := func() {
		copyFile(t, filepath.Join(snap, journal.FileName), path)
	}
	if purge != nil {
		purge(at.Add(129 * time.Second)) // the first run's records 1..59 (holders 0..29, 100..128)
		for i := range 29 {
			purged[fmt.Sprintf("ZJ:%d", i)] = true
			purged[fmt.Sprintf("ZJ:%d", 100+i)] = true
		}
		purged["ZJ:29"] = true
	}
	restore()
	b1 := run(t, 200, 50) // the restored terminal writes 31..80 again, other passages
	if b1.From != 31 || b1.Epoch == (journal.Epoch{}) {
		t.Fatalf("after the restore: got branch %+v, want one from 31", b1)
	}
	run(t, 300, 10) // and goes on under its branch
	restore()
	b2 := run(t, 400, 5) // a second restore of the same snapshot
	if b2.From != 31 || b2.Epoch == b1.Epoch {
		t.Fatalf("after a second restore: got branch %+v, want another from 31 than %+v", b2, b1)
	}

	got := map[string]int{}
	for p, err := range store.Passages(ctx, central.Filter{Device: device}) {
		if err != nil {
			t.Fatal(err)
		}
		got[p.Holder]++
	}
	for _, h := range want {
		if n := map[bool]int{false: 1, true: 0}[purged[h]]; got[h] != n {
			t.Errorf("passage of %s stored %d times, want %d", h, got[h], n)
		}
	}
	if len(got) != len(want)-len(purged) {
		t.Errorf("got %d passages at the centre, want the %d of all runs not purged", len(got), len(want)-len(purged))
	}
	ds, err := store.Devices(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("devices: got %+v (%v)", ds, err)
	}
	forks := ds[0].Forks
	if len(forks) != 2 || forks[0].At != 31 || forks[0].Mark != 70 || central.Epoch(b1.Epoch) != forks[0].Branch ||
		forks[1].At != 31 || central.Epoch(b2.Epoch) != forks[1].Branch || forks[0].Journal != forks[0].Epoch {
		t.Fatalf("fleet: got forks %+v, want two at 31 naming the terminal's branches", forks)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
