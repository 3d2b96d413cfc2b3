package terminal

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/sync/journal"
)

// TestForkRestoredDataDir is issue 9's fork test on the daemon: snapshot
// a terminal's data directory, run on, restore the snapshot, run on.
// Before, the restored sentineld reused sequence numbers that the centre
// held, its new passages were dropped as duplicates and its upload looped
// on "acknowledgement beyond the last record". Now the centre ends with
// every passage of both runs exactly once, byte for byte (the first
// run's under the journal's epoch, the restored run's from the fork on
// under a branch epoch), the fork is in the fleet, and the restored
// terminal goes on delivering.
func TestForkRestoredDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sentineld four times")
	}
	c := startCentre(t)
	data, device := c.enrolTerminal(t)
	path := journal.Path(data)
	// run starts sentineld, passes n people through the gate and waits
	// until the centre acknowledged the journal's last record.
	run := func(n int) {
		t.Helper()
		r := startDaemon(t, data, c.url)
		defer r.stop(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var last journal.Seq
		for range n {
			res, err := r.d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE"))
			if err != nil {
				t.Fatal(err)
			}
			last = journal.Seq(res.Seq)
		}
		waitFor(t, "every passage acknowledged", func() (bool, string) {
			acked, err := r.d.journal.Acked()
			return err == nil && acked == last, fmt.Sprintf("acked %d of %d (%v)\n%s", acked, last, err, r.logs.String())
		})
	}

	run(30)
	snap := t.TempDir()
	copyDir(t, data, snap) // the backup: 30 passages, all acknowledged
	run(40)
	original := readRecords(t, path) // 1..70 as the centre holds them
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	copyDir(t, snap, data) // the restore
	run(50)                // 31..80 again, other passages
	run(5)                 // and on: 81..85
	restored := readRecords(t, path)

	j, err := journal.Open(path, journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	branch, err := j.Branch()
	epoch := j.Epoch()
	j.Close()
	if err != nil || branch.From != 31 || branch.Epoch == (journal.Epoch{}) {
		t.Fatalf("the restored journal's branch: got %+v (%v), want one from 31", branch, err)
	}

	byEpoch := map[central.Epoch]map[uint64][]byte{}
	for p, err := range c.store.Passages(context.Background(), central.Filter{Device: device}) {
		if err != nil {
			t.Fatal(err)
		}
		if byEpoch[p.Epoch] == nil {
			byEpoch[p.Epoch] = map[uint64][]byte{}
		}
		if _, dup := byEpoch[p.Epoch][p.Seq]; dup {
			t.Fatalf("record %d of %s stored twice", p.Seq, p.Epoch)
		}
		byEpoch[p.Epoch][p.Seq] = p.Stored
	}
	if len(byEpoch) != 2 {
		t.Fatalf("got records under %d epochs, want the journal's and its branch", len(byEpoch))
	}
	same := func(name string, got map[uint64][]byte, want map[journal.Seq][]byte, from journal.Seq) {
		n := 0
		for s, b := range want {
			if s < from {
				continue
			}
			n++
			if !bytes.Equal(got[uint64(s)], b) {
				t.Errorf("%s: record %d at the centre is not the terminal's", name, s)
			}
		}
		if len(got) != n {
			t.Errorf("%s: the centre holds %d records, want %d", name, len(got), n)
		}
	}
	same("the first run", byEpoch[central.Epoch(epoch)], original, 1)
	same("the restored run", byEpoch[central.Epoch(branch.Epoch)], restored, 31)
	if len(original) != 70 || len(restored) != 85 {
		t.Fatalf("journals hold %d and %d records, want 70 and 85", len(original), len(restored))
	}

	ds, err := c.store.Devices(context.Background())
	if err != nil || len(ds) != 1 || len(ds[0].Forks) != 1 {
		t.Fatalf("fleet: got %+v (%v), want one device with one fork", ds, err)
	}
	if f := ds[0].Forks[0]; f.At != 31 || f.Mark != 70 || f.Epoch != central.Epoch(epoch) || f.Branch != central.Epoch(branch.Epoch) {
		t.Fatalf("fleet: got fork %+v, want epoch %s at 31 against 70 to branch %s", f, epoch, branch.Epoch)
	}
}

// copyDir copies the regular files and directories under from into to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o700)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, fi.Mode().Perm())
		}
		return nil // sockets and the like are not data
	})
	if err != nil {
		t.Fatal(err)
	}
}
