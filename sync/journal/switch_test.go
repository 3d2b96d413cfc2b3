package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// steadyStream makes every checkpoint's bbolt commit start the append of
// a passage, as a lane does under a steady stream: the checkpoint never
// takes it, so bbolt never holds everything in the logs. (The append runs
// beside the commit, not inside it: a committer that waits for the
// checkpoint would wait for it.) The returned function waits for those
// appends and returns their number.
func steadyStream(t *testing.T, j *testJournal, from int) func() int64 {
	var (
		arrived atomic.Int64
		wg      sync.WaitGroup
	)
	j.setCommitHook(func(*bbolt.Tx) error {
		i := from + int(arrived.Add(1))
		wg.Go(func() {
			if _, err := j.Append(context.Background(), testPassage(i, t0)); err != nil {
				t.Error(err)
			}
		})
		return nil
	})
	return func() int64 {
		j.setCommitHook(nil)
		wg.Wait()
		return arrived.Load()
	}
}

// Under a steady stream of passages the log never holds only what bbolt
// has, so it never starts anew by itself. It used to grow until it held
// walMaxBytes, writing its file larger in walPrealloc steps on the append
// path, and then an append waited for a whole checkpoint. With two logs
// the appends move to the other one when the log is full, the
// checkpointer empties the first meanwhile, and so on in turn: neither
// file grows past the zeros written ahead at Open, and no append waits
// for a checkpoint.
func TestLogSwitchesUnderSteadyStream(t *testing.T) {
	defer func(c, s, m, p int) {
		walCheckpointBytes, walSwitchBytes, walMaxBytes, walPrealloc = c, s, m, p
	}(walCheckpointBytes, walSwitchBytes, walMaxBytes, walPrealloc)
	// About 75 records (of about 220 bytes) fill a log; appends wait
	// past about 300 (the bound the single log had, scaled down).
	walCheckpointBytes, walSwitchBytes, walMaxBytes, walPrealloc = 8<<10, 16<<10, 64<<10, 32<<10
	const n = 500
	j := openTest(t, Options{CheckpointEvery: 1 << 20})
	stream := steadyStream(t, j, n)
	var maxOff int64
	for i := range n {
		mustAppend(t, j.Journal, testPassage(i, t0))
		maxOff = max(maxOff, j.walOffset())
	}
	arrived := stream()
	total := n + arrived
	t.Logf("%d appends, %d of them during a checkpoint: %d switches of log, %d waits for a checkpoint, the log reached %d bytes",
		total, arrived, j.switches.Load(), j.waits.Load(), maxOff)
	if w := j.waits.Load(); w != 0 {
		t.Errorf("%d appends waited for a checkpoint because the log was full, want 0", w)
	}
	if s := j.switches.Load(); s < 5 {
		t.Errorf("the appends moved to the other log %d times over %d appends of about 220 bytes, want at least 5", s, total)
	}
	// A log switches once it passes walSwitchBytes: it holds at most one
	// append more (a single lane appends one record at a time).
	if limit := int64(walSwitchBytes + walFrameHdr + MaxRecordSize); maxOff > limit {
		t.Errorf("the log reached %d bytes, want at most %d", maxOff, limit)
	}
	for _, p := range walPaths(j.path) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(walPrealloc) {
			t.Errorf("log %s grew from the %d bytes written ahead at Open to %d: the append path wrote zeros ahead", filepath.Base(p), walPrealloc, st.Size())
		}
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, j); int64(res.Records) != total {
		t.Fatalf("verify: %d records, want %d", res.Records, total)
	}
}

// crossedJournal returns the path of a copy of a journal, taken as a
// crash would find it, whose records bbolt lacks are in both logs: the
// appends moved to the other log while the checkpoints failed. active is
// the log (0 or 1) the appends moved from, so that either log may be the
// older. It returns the number of records.
func crossedJournal(t *testing.T, active int) (string, int) {
	t.Helper()
	j := openTest(t, Options{CheckpointEvery: 4}) // a log is full at 8 records
	n := 0
	for j.switches.Load()%2 != int64(active) || n < 3 {
		n++
		mustAppend(t, j.Journal, testPassage(n, t0))
	}
	if err := j.settle(); err != nil {
		t.Fatal(err)
	}
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
	before := j.switches.Load()
	for range 12 {
		n++
		mustAppend(t, j.Journal, testPassage(n, t0))
	}
	if j.switches.Load() != before+1 {
		t.Fatalf("the appends moved to the other log %d times while checkpoints failed, want once", j.switches.Load()-before)
	}
	dst := copyJournal(t, j.path)
	j.setCommitHook(nil)
	// Both logs hold records that bbolt lacks.
	cs, err := readLogs(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || firstSeq(cs[0]) == 0 || firstSeq(cs[1]) <= firstSeq(cs[0]) {
		t.Fatalf("the copy's logs do not both hold records")
	}
	return dst, n
}

// A crash after the appends moved to the other log, before the
// checkpointer emptied the first, loses nothing: Open replays both logs,
// older first, and the chain holds; Reader (sentinelctl) sees every
// record too.
func TestLogSwitchReplay(t *testing.T) {
	for active := range 2 {
		t.Run(walSuffixes[active], func(t *testing.T) {
			path, n := crossedJournal(t, active)
			r, err := OpenReader(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res := mustVerify(t, r); res.Records != n || res.Last != Seq(n) {
				t.Errorf("Reader: %d records, last %d; want %d, %d", res.Records, res.Last, n, n)
			}
			var seqs []Seq
			if err := r.Range(1, 0, func(s Seq, _ []byte) error { seqs = append(seqs, s); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(seqs) != n || seqs[n-1] != Seq(n) {
				t.Errorf("Reader.Range: got %v, want 1 to %d", seqs, n)
			}
			r.Close()

			defer checkFile(t, path)
			j := reopenQuiet(t, path, " after replaying both logs")
			defer j.Close()
			checkReplayed(t, j, n)
		})
	}
}

// A journal whose logs both hold records is moved aside with both when
// one of them is damaged, and salvage finds the records of both.
func TestLogSwitchSalvage(t *testing.T) {
	path, n := crossedJournal(t, 0)
	p := path + wal2Suffix
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 0xff // its header
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	j, a := reopenCorrupt(t, path, "", "")
	defer j.Close()
	for _, sfx := range walSuffixes {
		if _, err := os.Stat(a.MovedTo + sfx); err != nil {
			t.Fatalf("log %s was not moved aside beside the journal: %v", sfx, err)
		}
	}
	got := salvaged(t, path)
	for s := Seq(1); s <= Seq(n); s++ {
		if _, ok := got[s]; !ok {
			t.Fatalf("record %d of %d not salvaged from the journal and its two logs", s, n)
		}
	}
}

// Reader reads the two logs of a journal that sentineld is appending to
// one after the other. Were the appends to move from the log read first
// to the other one in between, the records appended to the first after
// it was read would be missing between the two logs: so Reader reads a
// log again until one held still while the other was read. Here the
// appends move between the reads, while the checkpoints fail (so bbolt
// does not hold the records either).
func TestReaderAcrossSwitch(t *testing.T) {
	j := openTest(t, Options{CheckpointEvery: 4}) // a log is full at 8 records
	logsOnlyAfterFirst(t, j)
	first := j.wal.path
	done, n := false, 2
	defer func() { logReadHook = nil }()
	logReadHook = func(path string) {
		if done || path != first {
			return
		}
		done = true
		before := j.switches.Load()
		for j.switches.Load() == before || n < 12 {
			n++
			mustAppend(t, j.Journal, testPassage(n, t0))
		}
	}
	r, err := OpenReader(j.path, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !done {
		t.Fatal("the test's appends did not run between the reads of the logs")
	}
	if !r.Snapshot() {
		t.Fatal("the reader did not read a copy of the open journal")
	}
	if res := mustVerify(t, r); res.Last != Seq(n) || res.Records != n {
		t.Fatalf("the reader sees %d records up to %d, want %d", res.Records, res.Last, n)
	}
}

// Readers opened while passages stream in from two lanes, the logs
// switching every 8 records, always see a whole chain up to at least
// what was appended before they opened.
func TestReaderDuringSwitches(t *testing.T) {
	j := openTest(t, Options{CheckpointEvery: 4})
	var (
		appended atomic.Int64
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for lane := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := j.Append(context.Background(), testPassage(lane*1_000_000+i, t0)); err != nil {
					t.Error(err)
					return
				}
				appended.Add(1)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for try := range 10 {
		want := appended.Load()
		r, err := OpenReader(j.path, time.Millisecond)
		if err != nil {
			t.Fatalf("reader %d: %v", try, err)
		}
		res, err := r.Verify()
		r.Close()
		if err != nil {
			t.Fatalf("reader %d: verify: %v", try, err)
		}
		if res.Break != nil {
			t.Fatalf("reader %d (after %d switches): chain broken at %d: %s", try, j.switches.Load(), res.Break.Seq, res.Break.Reason)
		}
		if int64(res.Last) < want {
			t.Fatalf("reader %d: last record %d, but %d were appended before it opened", try, res.Last, want)
		}
	}
	t.Logf("%d appends, %d switches of log", appended.Load(), j.switches.Load())
}

// When a log's header cannot be written as it starts anew (renewLog's
// reset, or switchLog's of the other log), the log keeps its salt and
// the next appends go on behind its frames (switchLog leaves the appends
// where they are). The salt used to change in memory all the same: the
// next appends were framed under a salt that no header on disk held, and
// replay after a crash lost them.
func TestLogFailedResetLosesNothing(t *testing.T) {
	for _, which := range []string{"renew", "switch"} {
		t.Run(which, func(t *testing.T) {
			j := openTest(t, Options{CheckpointEvery: 4})
			n := 0
			for n < 3 {
				n++
				mustAppend(t, j.Journal, testPassage(n, t0))
			}
			if err := j.settle(); err != nil {
				t.Fatal(err)
			}
			// Keep what follows in the logs only, as a crash finds it.
			j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
			defer j.setCommitHook(nil)
			j.cmu.Lock()
			w := j.wal
			if which == "switch" {
				w = j.spare
			}
			ro, err := os.Open(w.path) // writes fail on it
			if err != nil {
				j.cmu.Unlock()
				t.Fatal(err)
			}
			f := w.f
			w.f = ro
			before := j.switches.Load()
			if which == "renew" {
				j.renewLog() // bbolt holds everything in the log: it starts anew
			} else {
				for range 8 {
					j.wal.recs++ // the log is full: the appends move
				}
				j.switchLog()
			}
			w.f = f
			ro.Close()
			alarms := j.Alarms()
			// The next append, its write good again, straight after (as
			// when the committer's own try to start the log anew fails
			// again).
			r := &request{p: *testPassage(n+1, t0), done: make(chan error, 1)}
			j.commit([]*request{r})
			j.cmu.Unlock()
			if err := <-r.done; err != nil {
				t.Fatal(err)
			}
			n++
			if len(alarms) != 1 || alarms[0].Kind != AlarmCommit || !strings.Contains(alarms[0].Message, "could not start anew") {
				t.Fatalf("alarms: got %+v, want one %s about the log", alarms, AlarmCommit)
			}
			if j.switches.Load() != before {
				t.Fatal("the appends moved to a log whose header could not be written")
			}
			for range 5 {
				n++
				mustAppend(t, j.Journal, testPassage(n, t0))
			}
			path := copyJournal(t, j.path)
			j2, err := Open(path, Options{PurgeEvery: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			if a := j2.Alarms(); len(a) != 0 {
				t.Fatalf("alarms after replay: %+v", a)
			}
			if res := mustVerify(t, j2); res.Records != n || res.Last != Seq(n) {
				t.Fatalf("after replay: %d records, last %d; want %d, %d", res.Records, res.Last, n, n)
			}
		})
	}
}

// A log is created when a journal is (its first Open) and when a journal
// written before there were two logs is first opened by this build (its
// .wal2). When that creation stops before the log's header is written (the
// disk is full for its zeros written ahead, or sentineld is killed), the
// next Open must not find a log without a header under the log's name: it
// used to, and called the journal damaged, moved it aside with every
// passage in it and started a new epoch.
func TestLogCreationCutShort(t *testing.T) {
	for _, which := range []string{"new journal", "upgrade"} {
		t.Run(which, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			log := path + walSuffix
			n := 0
			if which == "upgrade" {
				j, err := Open(path, Options{PurgeEvery: -1})
				if err != nil {
					t.Fatal(err)
				}
				for n < 3 {
					n++
					mustAppend(t, j, testPassage(n, t0))
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				log = path + wal2Suffix
				if err := os.Remove(log); err != nil { // as an older build left it
					t.Fatal(err)
				}
			}
			defer func(w func(*os.File, int64, int64) error) { writeZeros = w }(writeZeros)
			full := errors.New("no space left on device")
			writeZeros = func(f *os.File, off, n int64) error {
				if strings.HasPrefix(filepath.Base(f.Name()), filepath.Base(log)) {
					return full
				}
				return writeZerosFile(f, off, n)
			}
			if _, err := Open(path, Options{PurgeEvery: -1}); !errors.Is(err, full) {
				t.Fatalf("Open on a full disk: got %v, want %v", err, full)
			}
			writeZeros = writeZerosFile // space was freed

			j := reopenQuiet(t, path, " after a log's creation was cut short")
			defer checkFile(t, path)
			defer j.Close()
			if res := mustVerify(t, j); res.Records != n || res.Predecessor != "" {
				t.Fatalf("after a log's creation was cut short: %d records (want %d), predecessor %q", res.Records, n, res.Predecessor)
			}
			for _, p := range walPaths(path) {
				if _, err := readWAL(p); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Appends never move away from a log with a failed append in it: the
// failed batch's frames stay in that log under its salt, and the records
// that take their seqs again would then be in the other log. Replay reads
// the older log first: it would take the failed batch, which no gate
// opened for, skip the acknowledged records with the same seqs in the
// other log, and find the next one not chaining on (the journal moved
// aside as corrupt).
func TestLogFailedAppendKeepsTheLog(t *testing.T) {
	j := openTest(t, Options{CheckpointEvery: 4})
	// Keep what follows in the logs only, as a crash finds it.
	logsOnlyAfterFirst(t, j)

	defer func(f func(int) error) { fdatasync = f }(fdatasync)
	fdatasync = func(int) error { return errors.New("input/output error") }
	batch := make([]*request, 3)
	for i := range batch {
		batch[i] = &request{p: *testPassage(100+i, t0), done: make(chan error, 1)}
	}
	j.cmu.Lock()
	j.commit(batch)
	for _, r := range batch {
		if err := <-r.done; err == nil {
			j.cmu.Unlock()
			t.Fatal("an append whose fdatasync failed was acknowledged")
		}
	}
	fdatasync = unix.Fdatasync
	// The log is full, and bbolt holds everything in the other one: the
	// next append would move to it but for the failed append (the one
	// after it may, once it wrote over the failed frames).
	j.wal.recs += 2 * j.opts.CheckpointEvery
	j.cmu.Unlock()

	want := map[Seq][]byte{}
	for i := 3; i <= 6; i++ {
		want[mustAppend(t, j.Journal, testPassage(i, t0))] = nil
	}
	if err := j.Range(1, 0, func(s Seq, b []byte) error { want[s] = b; return nil }); err != nil {
		t.Fatal(err)
	}
	path := copyJournal(t, j.path)
	j2, err := Open(path, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if a := j2.Alarms(); len(a) != 0 {
		t.Fatalf("alarms after replay: %+v", a)
	}
	got := 0
	if err := j2.Range(1, 0, func(s Seq, b []byte) error {
		if !bytes.Equal(b, want[s]) {
			return fmt.Errorf("record %d after replay is not the one acknowledged", s)
		}
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != 6 {
		t.Fatalf("after replay: %d records, want 6", got)
	}
}

// A release from before the second log reads and moves only .wal: rolled
// back to, it leaves .wal2 as this build's last Close left it, a header
// and no frames. Should that release start a new epoch (its journal
// damaged), the .wal2 beside the new journal still names the old epoch.
// Rolled forward again, this build must not take an empty log of
// another epoch for damage: it holds no passage, and it used to move the
// good journal aside and start yet another epoch.
func TestLogEmptyOfAnotherEpoch(t *testing.T) {
	for _, frames := range []bool{false, true} {
		t.Run(fmt.Sprintf("frames=%v", frames), func(t *testing.T) { logOfAnotherEpoch(t, frames) })
	}
}

// logOfAnotherEpoch puts a journal of a new epoch, with records only in
// its .wal, beside the .wal2 of an earlier epoch's journal, empty or with
// records (which are that epoch's passages: the journal is then moved
// aside, so that they are salvaged).
func logOfAnotherEpoch(t *testing.T, frames bool) {
	var path string
	if frames {
		path, _ = crossedJournal(t, 0)
	} else {
		old := openTest(t, Options{})
		mustAppend(t, old.Journal, testPassage(1, t0))
		path = old.path
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// What the older release made after moving the journal aside: a new
	// journal and its .wal, with records in both.
	other := filepath.Join(t.TempDir(), FileName)
	j, err := Open(other, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		mustAppend(t, j, testPassage(i, t0))
	}
	epoch := j.Epoch()
	j.ckmu.Lock() // the copy as a crash finds it, records only in the log
	dst := copyJournal(t, other)
	j.ckmu.Unlock()
	j.Close()
	for _, sfx := range []string{"", walSuffix} {
		if err := os.Rename(dst+sfx, path+sfx); err != nil {
			t.Fatal(err)
		}
	}

	j2, err := Open(path, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	a := j2.Alarms()
	if frames {
		if len(a) != 1 || a[0].Kind != AlarmCorrupt {
			t.Fatalf("alarms with records of another epoch in a log beside the journal: got %+v, want one %s", a, AlarmCorrupt)
		}
		return
	}
	if len(a) != 0 {
		t.Fatalf("alarms with an empty log of another epoch beside the journal: %+v", a)
	}
	if res := mustVerify(t, j2); j2.Epoch() != epoch || res.Records != 3 {
		t.Fatalf("epoch %s with %d records, want %s with 3", j2.Epoch(), res.Records, epoch)
	}
}

// logsOnlyAfterFirst appends passage 1 and checkpoints it into bbolt,
// then makes every later checkpoint fail and appends passage 2: from
// there on the records are in the logs only, as a crash finds them.
func logsOnlyAfterFirst(t *testing.T, j *testJournal) {
	t.Helper()
	mustAppend(t, j.Journal, testPassage(1, t0))
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
	t.Cleanup(func() { j.setCommitHook(nil) })
	mustAppend(t, j.Journal, testPassage(2, t0))
}
