package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/server"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

// centreRecords returns the centre's records of (device, epoch) by seq,
// failing on a record stored twice.
func centreRecords(t *testing.T, c *centre, device string, epoch journal.Epoch) (map[journal.Seq]central.Passage, error) {
	out := map[journal.Seq]central.Passage{}
	for p, err := range c.store.Passages(context.Background(), central.Filter{Device: device}) {
		if err != nil {
			return nil, err
		}
		if p.Epoch != central.Epoch(epoch) {
			continue
		}
		if _, dup := out[journal.Seq(p.Seq)]; dup {
			t.Fatalf("the centre holds record %d of epoch %s twice", p.Seq, epoch)
		}
		out[journal.Seq(p.Seq)] = p
	}
	return out, nil
}

// TestCorruptJournal damages a terminal's journal in each way a field
// journal gets damaged (cut at 16 random offsets, emptied, meta pages
// zeroed, a byte flipped in an old acknowledged record, in the middle of
// the file and in the unacknowledged tail) and restarts sentineld on it
// with the real central server: the daemon comes up with a new epoch and
// the journal-corrupt alarm, the gate journals a passage that reaches the
// centre, and every unacknowledged record whose bytes survived the damage
// reaches the centre under its own (device, epoch, seq), exactly once.
func TestCorruptJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sentineld 23 times")
	}
	// Each of the 23 subtests enrols a terminal of its own from this
	// machine's one address, past the enrolment listener's per-source
	// burst (20): this test is about damage, not that limit (which
	// internal/central/server tests), so the centre here allows more.
	c := startCentreWith(t, func(cfg *server.Config) {
		cfg.EnrolLimit = server.Limit{Rate: 100, Burst: 1000}
	})
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 3))

	type damage func(b []byte, recs map[journal.Seq][]byte, acked journal.Seq) []byte
	// flipIn flips a byte of a record: in its middle, or near its end,
	// inside the sealed box, where the record still decodes and only the
	// chain shows the damage.
	flipIn := func(seq func(acked, last journal.Seq) journal.Seq, sealed bool) damage {
		return func(b []byte, recs map[journal.Seq][]byte, acked journal.Seq) []byte {
			rec := recs[seq(acked, journal.Seq(len(recs)))]
			b = bytes.Clone(b)
			// Every copy: bbolt leaves old copies in freed pages.
			for from := 0; ; {
				at := bytes.Index(b[from:], rec)
				if at < 0 {
					return b
				}
				at += from
				if sealed {
					b[at+len(rec)-3] ^= 0x20
				} else {
					b[at+len(rec)/2] ^= 0x20
				}
				from = at + 1
			}
		}
	}
	cases := []struct {
		name   string
		damage damage
	}{
		{"empty", func([]byte, map[journal.Seq][]byte, journal.Seq) []byte { return nil }},
		{"metas zeroed", func(b []byte, _ map[journal.Seq][]byte, _ journal.Seq) []byte {
			b = bytes.Clone(b)
			clear(b[:2*4096])
			return b
		}},
		{"flip in an old acknowledged record", flipIn(func(acked, _ journal.Seq) journal.Seq { return acked / 2 }, false)},
		{"flip in an old acknowledged sealed box", flipIn(func(acked, _ journal.Seq) journal.Seq { return acked / 2 }, true)},
		{"flip in the middle", flipIn(func(_, last journal.Seq) journal.Seq { return last / 2 }, false)},
		{"flip in the tail", flipIn(func(_, last journal.Seq) journal.Seq { return last - 2 }, false)},
		{"flip in the tail's sealed box", flipIn(func(_, last journal.Seq) journal.Seq { return last - 2 }, true)},
	}
	for i := range 16 {
		frac := rnd.Float64()
		cases = append(cases, struct {
			name   string
			damage damage
		}{fmt.Sprintf("cut %d at %.3f", i, frac), func(b []byte, _ map[journal.Seq][]byte, _ journal.Seq) []byte {
			return b[:int(frac*float64(usedBytes(t, b)))]
		}})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, device := c.enrolTerminal(t)
			path := journal.Path(dir)

			// Online: passages the centre acknowledges.
			const online, offline = 10, 400
			r := startDaemon(t, dir, c.url)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for range online {
				if _, err := r.d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
					t.Fatal(err)
				}
			}
			epoch := r.d.journal.Epoch()
			waitFor(t, "the first passages acknowledged", func() (bool, string) {
				acked, err := r.d.journal.Acked()
				return err == nil && acked == online, fmt.Sprintf("acked %d (%v)", acked, err)
			})
			r.stop(t)

			// Offline: passages the centre never saw.
			appendOffline(t, path, offline)
			recs := readRecords(t, path)
			if len(recs) != online+offline {
				t.Fatalf("journal holds %d records, want %d", len(recs), online+offline)
			}
			whole, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			damaged := tc.damage(whole, recs, online)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			r = startDaemon(t, dir, c.url)
			defer r.stop(t)
			if r.d.journal.Epoch() == epoch {
				t.Fatalf("epoch unchanged after the damage\n%s", r.logs.String())
			}
			var alarm *journal.Alarm
			for _, a := range r.d.journal.Alarms() {
				if a.Kind == journal.AlarmCorrupt {
					alarm = &a
				}
			}
			if alarm == nil {
				t.Fatalf("no %s alarm: %+v", journal.AlarmCorrupt, r.d.journal.Alarms())
			}
			if !r.d.displayStatus().JournalReplaced {
				t.Errorf("the display does not say the journal was replaced")
			}
			if !strings.Contains(r.logs.String(), "journal alarm") {
				t.Errorf("the alarm is not logged:\n%s", r.logs.String())
			}
			if m := getMetrics(t, "http://"+r.d.mgmtAddr.String()+"/metrics"); !strings.Contains(m, `sentinel_journal_alarm{kind="journal-corrupt"} 1`) {
				t.Errorf("/metrics does not raise the alarm")
			}
			// The gate works: a passage is journalled in the new epoch
			// and reaches the centre.
			res, err := r.d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE"))
			if err != nil {
				t.Fatalf("the gate does not work after the damage: %v", err)
			}
			if res.Seq != 1 {
				t.Errorf("first passage of the new epoch: seq %d, want 1", res.Seq)
			}
			newEpoch := r.d.journal.Epoch()
			waitFor(t, "the new epoch's passage at the centre", func() (bool, string) {
				got, err := centreRecords(t, c, device, newEpoch)
				return err == nil && len(got) == 1, fmt.Sprintf("%d records (%v)\n%s", len(got), err, r.logs.String())
			})

			// Every unacknowledged record whose bytes survived reaches
			// the centre under its own seq, with its own bytes.
			var want []journal.Seq
			for s, b := range recs {
				if s > online && bytes.Contains(damaged, b) {
					want = append(want, s)
				}
			}
			waitFor(t, "the surviving records at the centre", func() (bool, string) {
				got, err := centreRecords(t, c, device, epoch)
				if err != nil {
					return false, err.Error()
				}
				missing := 0
				for _, s := range want {
					p, ok := got[s]
					if !ok {
						missing++
						continue
					}
					if !bytes.Equal(p.Stored, recs[s]) {
						t.Fatalf("record %d reached the centre with other bytes", s)
					}
				}
				q, _ := journal.Queued(dir)
				return missing == 0 && len(q) == 0, fmt.Sprintf("%d of %d surviving records missing, %d salvages queued\n%s", missing, len(want), len(q), r.logs.String())
			})
			got, _ := centreRecords(t, c, device, epoch)
			for s, p := range got {
				if s <= online && !bytes.Equal(p.Stored, recs[s]) {
					t.Errorf("acknowledged record %d changed at the centre", s)
				}
			}
			t.Logf("%d bytes left of %d: %d of %d unacknowledged records survived; the centre holds %d of the old epoch",
				len(damaged), len(whole), len(want), offline, len(got))
		})
	}
}

// usedBytes returns the bytes of a bbolt file its meta page counts.
func usedBytes(t *testing.T, b []byte) int {
	t.Helper()
	r, err := journal.OpenReader(writeTemp(t, b), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, err := r.UsedSize()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := t.TempDir() + "/journal.db"
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// appendOffline appends n passages to the journal at path from eight
// goroutines, as a terminal does that cannot reach the centre.
func appendOffline(t *testing.T, path string, n int) {
	t.Helper()
	j, err := journal.Open(path, journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				p := &journal.Passage{Time: time.Now(), ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative,
					Issuer: "ZJ", Decision: passage.Refer, Reasons: []string{"offline"}, PolicyVersion: uint64(i)}
				if _, err := j.Append(context.Background(), p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// readRecords returns every record of the journal at path.
func readRecords(t *testing.T, path string) map[journal.Seq][]byte {
	t.Helper()
	r, err := journal.OpenReader(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[journal.Seq][]byte{}
	if err := r.Range(1, 0, func(s journal.Seq, b []byte) error { out[s] = b; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A salvage the centre refuses (here another terminal's journal, whose
// epoch belongs to that terminal) is set aside once, not sent for ever.
func TestSalvageRefused(t *testing.T) {
	c := startCentre(t)
	dirA, _ := c.enrolTerminal(t)
	dirB, _ := c.enrolTerminal(t)
	a := startDaemon(t, dirA, c.url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		if _, err := a.d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "terminal A's passages acknowledged", func() (bool, string) {
		acked, err := a.d.journal.Acked()
		return err == nil && acked == 3, fmt.Sprintf("acked %d (%v)", acked, err)
	})
	a.stop(t)
	s, err := journal.SalvageFile(journal.Path(dirA))
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s.Queue(dirB, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := startDaemon(t, dirB, c.url)
	defer b.stop(t)
	waitFor(t, "the refused salvage set aside", func() (bool, string) {
		_, err := os.Stat(queued + refusedSuffix)
		q, _ := journal.Queued(dirB)
		return err == nil && len(q) == 0, fmt.Sprintf("%v, queued %v\n%s", err, q, b.logs.String())
	})
	if !strings.Contains(b.logs.String(), "the centre refuses this salvaged journal") {
		t.Errorf("the refusal is not logged:\n%s", b.logs.String())
	}
}

// A journal sentineld may not open (its files made or copied by root):
// the error says to give the data directory back to sentineld's user.
func TestJournalPermissionDenied(t *testing.T) {
	cause := fmt.Errorf("open journal /data/journal.db: read journal log: %w", &fs.PathError{Op: "open", Path: "/data/journal.db.wal2", Err: syscall.EACCES})
	err := dataDirError("open journal", cause, "/data")
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "journal.db.wal2") || !strings.Contains(err.Error(), "chown -R sentinel: /data") {
		t.Fatalf("got %v, want the file, the cause and the chown of the data directory", err)
	}
	if err := dataDirError("open journal", errors.New("other"), "/data"); strings.Contains(err.Error(), "chown") {
		t.Fatalf("got %v for another cause, want no chown", err)
	}
}

// A full disk at start (the replay memory rewrites its file, a new
// journal makes its logs): the error says to free space. The journal's
// own message for its logs says so already and is not repeated.
func TestDataDirFull(t *testing.T) {
	cause := fmt.Errorf("replay: write /data/replay.log: %w", &fs.PathError{Op: "write", Path: "/data/.replay.log.tmp", Err: syscall.ENOSPC})
	err := dataDirError("replay memory", cause, "/data")
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "replay memory") || !strings.Contains(err.Error(), "free space on it (df -h /data") {
		t.Fatalf("got %v, want the cause and to free space", err)
	}
	said := fmt.Errorf("the journal's logs hold 3 passages ... (%w): nothing is lost ...; free space on the data directory's disk", syscall.ENOSPC)
	if err := dataDirError("open journal", said, "/data"); strings.Count(err.Error(), "free space") != 1 {
		t.Fatalf("got %v, want the journal's own advice once", err)
	}
}
