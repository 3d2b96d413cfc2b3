package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
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

// loggedJournal returns the path of a closed journal whose first record
// is in bbolt and whose next n are only in its log, as a crash leaves
// them: the checkpoints fail, and the files are copied while the journal
// is open.
func loggedJournal(t *testing.T, n int) string {
	t.Helper()
	j := openTest(t, Options{})
	mustAppend(t, j.Journal, testPassage(0, t0))
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
	for i := range n {
		mustAppend(t, j.Journal, testPassage(i+1, t0))
	}
	return copyJournal(t, j.path)
}

// copyJournal copies the journal at path and its logs into a new
// directory, as a crash would leave them, and returns the copy's path.
func copyJournal(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), FileName)
	for _, name := range append([]string{path}, walPaths(path)...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+strings.TrimPrefix(name, path), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func bboltRecords(t *testing.T, db *bbolt.DB) int {
	t.Helper()
	var n int
	if err := db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketRecords).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// reopen opens the journal at path as sentineld would after a crash.
// The caller closes it.
func reopen(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := Open(path, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// reopenQuiet reopens the journal at path and fails the test, naming
// when, if Open raised an alarm. The caller closes it.
func reopenQuiet(t *testing.T, path, when string) *Journal {
	t.Helper()
	j := reopen(t, path)
	if a := j.Alarms(); len(a) != 0 {
		j.Close()
		t.Fatalf("alarms%s: %+v", when, a)
	}
	return j
}

// reopenCorrupt reopens the journal at path and fails the test unless
// Open raised exactly one corrupt alarm whose message holds says;
// saying ends the failure message. The caller closes the journal.
func reopenCorrupt(t *testing.T, path, says, saying string) (*Journal, Alarm) {
	t.Helper()
	j := reopen(t, path)
	a := j.Alarms()
	if len(a) != 1 || a[0].Kind != AlarmCorrupt || !strings.Contains(a[0].Message, says) {
		j.Close()
		t.Fatalf("alarms: got %+v, want one %s%s", a, AlarmCorrupt, saying)
	}
	return j, a[0]
}

// checkReplayed checks that a journal reopened with n records only in its
// logs replayed them all into bbolt, chain and all, and goes on at n+1.
func checkReplayed(t *testing.T, j *Journal, n int) {
	t.Helper()
	if got := bboltRecords(t, j.db); got != n {
		t.Fatalf("records in bbolt after replay: got %d, want %d", got, n)
	}
	if res := mustVerify(t, j); res.Records != n || res.Last != Seq(n) {
		t.Fatalf("got %d records, last %d; want %d, %d", res.Records, res.Last, n, n)
	}
	if s := mustAppend(t, j, testPassage(n+1, t0)); s != Seq(n+1) {
		t.Fatalf("seq after replay: got %d, want %d", s, n+1)
	}
}

// readLog returns the bytes of the first log of the journal at path and
// what they hold.
func readLog(t *testing.T, path string) ([]byte, walContents) {
	t.Helper()
	b, err := os.ReadFile(walPaths(path)[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseWAL(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

// writeLog writes b over the first log of the journal at path.
func writeLog(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(walPaths(path)[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// salvaged returns the stored bytes of every record that salvage finds
// in what was moved aside from the journal at path, by seq.
func salvaged(t *testing.T, path string) map[Seq][]byte {
	t.Helper()
	ss, err := SalvageMovedAside(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[Seq][]byte{}
	for _, s := range ss {
		for _, r := range s.Records {
			got[r.Seq] = r.Stored
		}
	}
	return got
}

// Records only in the log are replayed into bbolt at Open, chain and all,
// and the log starts anew.
func TestLogReplay(t *testing.T) {
	path := loggedJournal(t, 5)
	defer checkFile(t, path)
	j := reopenQuiet(t, path, "")
	defer j.Close()
	checkReplayed(t, j, 6)
	c, err := readWAL(walPaths(path)[0])
	if err != nil {
		t.Fatal(err)
	}
	var kinds []byte
	for _, f := range c.frames {
		kinds = append(kinds, f.kind)
	}
	// This Open's new data key, then the record.
	if !bytes.Equal(kinds, []byte{frameKey, frameRecord}) {
		t.Fatalf("frames in the log after replay and one append: got kinds %v, want a key and a record", kinds)
	}
}

// Reader (sentinelctl) sees the records that are only in the log.
func TestLogReader(t *testing.T) {
	path := loggedJournal(t, 5)
	r, err := OpenReader(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res := mustVerify(t, r); res.Records != 6 || res.Last != 6 {
		t.Fatalf("got %d records, last %d; want 6, 6", res.Records, res.Last)
	}
	var seqs []Seq
	if err := r.Range(2, 0, func(s Seq, _ []byte) error { seqs = append(seqs, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 5 || seqs[0] != 2 || seqs[4] != 6 {
		t.Fatalf("Range(2, 0): got %v", seqs)
	}
	_, tail, err := r.Tail(3)
	if err != nil || len(tail) != 3 || tail[0] != 4 || tail[2] != 6 {
		t.Fatalf("Tail(3): got %v, %v", tail, err)
	}
	_, tail, err = r.Tail(10)
	if err != nil || len(tail) != 6 || tail[0] != 1 || tail[5] != 6 {
		t.Fatalf("Tail(10) over bbolt and the log: got %v, %v", tail, err)
	}
	keys, err := r.Keys()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: got %d, %v; want 1", len(keys), err)
	}
}

// An open journal's readers see a record as soon as Append returned,
// before any checkpoint.
func TestLogReadersSeeAppends(t *testing.T) {
	j := openTest(t, Options{})
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
	for i := range 3 {
		s := mustAppend(t, j.Journal, testPassage(i, t0))
		_, seqs, err := j.Tail(1)
		if err != nil || len(seqs) != 1 || seqs[0] != s {
			t.Fatalf("Tail(1) after append %d: got %v, %v", s, seqs, err)
		}
	}
	if res := mustVerify(t, j); res.Records != 3 {
		t.Fatalf("records: got %d, want 3", res.Records)
	}
	if keys, err := j.Keys(); err != nil || len(keys) != 1 {
		t.Fatalf("keys: got %d, %v; want 1", len(keys), err)
	}
	if n := bboltRecords(t, j.db); n != 0 {
		t.Fatalf("records in bbolt: got %d, want 0 (the checkpoints fail)", n)
	}
	j.setCommitHook(nil)
}

// A torn last append (a frame cut short or with a bad checksum) is cut
// without an alarm: its passage was never acknowledged.
func TestLogTornTail(t *testing.T) {
	for name, tear := range map[string]func(b []byte, last int) []byte{
		"bad checksum": func(b []byte, last int) []byte { b[last+walFrameHdr+20] ^= 0xff; return b },
		"zeroed":       func(b []byte, last int) []byte { clear(b[last:]); return b },
	} {
		t.Run(name, func(t *testing.T) {
			path := loggedJournal(t, 4)
			b, c := readLog(t, path)
			last := c.end - walFrameHdr - len(c.frames[len(c.frames)-1].data)
			writeLog(t, path, tear(b, last))
			j := reopenQuiet(t, path, "")
			defer j.Close()
			if res := mustVerify(t, j); res.Records != 4 || res.Last != 4 {
				t.Fatalf("got %d records, last %d; want 4, 4", res.Records, res.Last)
			}
		})
	}
}

// A log damaged past a torn tail breaks the chain: the journal and its
// log are moved aside with the corrupt alarm, a new epoch starts, and
// salvage finds the log's records.
func TestLogDamaged(t *testing.T) {
	for name, damage := range map[string]func(b []byte, c walContents){
		"header": func(b []byte, c walContents) { b[3] ^= 0xff },
		"record does not chain": func(b []byte, c walContents) {
			// Record 3 (the second frame) rewritten with a checksum that
			// holds: its bytes no longer decode or chain.
			off := walHeader + walFrameHdr + len(c.frames[0].data)
			f := c.frames[1]
			f.data[len(f.data)-1] ^= 0xff
			copy(b[off:], appendFrame(nil, c.salt, f.kind, f.data))
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := loggedJournal(t, 4)
			b, c := readLog(t, path)
			damage(b, c)
			writeLog(t, path, b)
			j, a := reopenCorrupt(t, path, "log", " naming the log")
			defer j.Close()
			if _, err := os.Stat(a.MovedTo + walSuffix); err != nil {
				t.Fatalf("the log was not moved aside beside the journal: %v", err)
			}
			if res := mustVerify(t, j); res.Records != 0 {
				t.Fatalf("records in the new epoch: got %d, want 0", res.Records)
			}
			ss, err := SalvageMovedAside(path, t0)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, s := range ss {
				got += len(s.Records)
			}
			if got < 2 {
				t.Fatalf("salvaged %d records from the journal and its log, want at least 2", got)
			}
		})
	}
}

// The logs' appends write into zeros written ahead: the files' sizes do
// not change with an append, so fdatasync has no metadata to commit.
func TestLogPreallocated(t *testing.T) {
	j := openTest(t, Options{})
	for _, p := range walPaths(j.path) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(walPrealloc) {
			t.Fatalf("log %s of %d bytes, want %d written ahead", filepath.Base(p), st.Size(), walPrealloc)
		}
	}
	appendMany(t, j.Journal, 50)
	for _, p := range walPaths(j.path) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(walPrealloc) {
			t.Fatalf("log %s grew from %d to %d bytes on 50 appends", filepath.Base(p), walPrealloc, st.Size())
		}
	}
}

// seedLog returns a log's bytes holding a data key and three records.
func seedLog(t testing.TB) []byte {
	j := openTest(t, Options{})
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })
	for i := range 3 {
		mustAppend(t, j.Journal, testPassage(i, t0))
	}
	f, err := os.Open(walPaths(j.path)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		t.Fatal(err)
	}
	j.setCommitHook(nil)
	return b
}

// FuzzLog: parseWAL, sortLogs and walTail never panic on any bytes, and
// what they accept is whole frames that chain on. Bytes holding the magic
// again past a header are two logs, the second starting there, as Open
// and Reader read a journal's two logs.
func FuzzLog(f *testing.F) {
	seed := seedLog(f)
	c, err := parseWAL(seed)
	if err != nil || len(c.frames) != 4 {
		f.Fatalf("the seed log parses to %d frames (%v), want 4", len(c.frames), err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(seed[:walHeader])
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	big := bytes.Clone(seed)
	binary.LittleEndian.PutUint32(big[walHeader:], 1<<31)
	f.Add(big)
	// Two logs: the frames of the seed split between them, either
	// order, and the second alone.
	frames := walHeader + walFrameHdr + len(c.frames[0].data) + walFrameHdr + len(c.frames[1].data)
	second := append(bytes.Clone(seed[:walHeader]), seed[frames:c.end]...)
	f.Add(append(bytes.Clone(seed[:frames]), second...))
	f.Add(append(bytes.Clone(second), seed[:frames]...))
	f.Add(second)
	epoch := c.epoch
	// Damage inside the log, before the third record's frame (a flipped
	// byte in the second record, the second record's frame zeroed):
	// the third record is whole behind it, and walTail says so.
	for _, damage := range []func(b []byte){
		func(b []byte) { b[frames+walFrameHdr+len(c.frames[2].data)/2] ^= 0x20 },
		func(b []byte) { clear(b[frames : frames+walFrameHdr+len(c.frames[2].data)]) },
	} {
		b := bytes.Clone(seed)
		damage(b)
		f.Add(b)
		d, err := parseWAL(b)
		if err != nil {
			f.Fatal(err)
		}
		if _, _, err := walTail([]*walContents{&d}, epoch, 0, Genesis(epoch)); err == nil || len(d.after) != 1 {
			f.Fatalf("a log damaged before its last record: %d frames behind the damage, walTail says %v; want 1 and the damage", len(d.after), err)
		}
	}
	// Cut short inside its last record: parseWAL says so.
	if d, err := parseWAL(seed[:c.end-3]); err != nil || !d.cut || len(d.frames) != 3 {
		f.Fatalf("the seed cut inside its last record: %d frames, cut %v (%v); want 3 and cut", len(d.frames), d.cut, err)
	}
	f.Add(seed[:c.end-3])
	// Either order of the two logs replays all three records.
	for _, order := range [][2][]byte{{seed[:frames], second}, {second, seed[:frames]}} {
		var cs []*walContents
		for _, p := range order {
			c, err := parseWAL(p)
			if err != nil {
				f.Fatal(err)
			}
			cs = append(cs, &c)
		}
		sortLogs(cs)
		if recs, _, err := walTail(cs, epoch, 0, Genesis(epoch)); err != nil || len(recs) != 3 {
			f.Fatalf("two logs of the seed: %d records (%v), want 3", len(recs), err)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var cs []*walContents
		parts := [][]byte{b}
		if i := bytes.Index(b[min(len(b), walHeader):], []byte(walMagic)); i >= 0 {
			parts = [][]byte{b[:walHeader+i], b[walHeader+i:]}
		}
		for _, p := range parts {
			c, err := parseWAL(p)
			if err != nil {
				return
			}
			if c.end > len(p) || c.end < walHeader {
				t.Fatalf("end %d outside %d bytes", c.end, len(p))
			}
			for _, a := range c.after {
				if a.kind != frameRecord && a.kind != frameKey || len(a.data) == 0 || len(a.data) > MaxRecordSize {
					t.Fatalf("a frame behind the cut of kind %d and %d bytes", a.kind, len(a.data))
				}
			}
			cs = append(cs, &c)
		}
		sortLogs(cs)
		recs, _, _ := walTail(cs, epoch, 0, Genesis(epoch))
		last, head := Seq(0), Genesis(epoch)
		for _, r := range recs {
			rec, err := DecodeRecord(r.stored)
			if err != nil || rec.Seq != last+1 || r.seq != rec.Seq || rec.Prev != head {
				t.Fatalf("accepted record %d does not chain on from %d: %v", r.seq, last, err)
			}
			last, head = r.seq, Chain(head, r.stored)
		}
	})
}

// A checkpoint runs off the append path: while the checkpointer is inside
// its bbolt commit, appends keep being written to the log and
// acknowledged. Once it is done bbolt holds them, and the next append
// starts a new generation of the log.
func TestCheckpointOffAppendPath(t *testing.T) {
	j := openTest(t, Options{CheckpointEvery: 2})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	j.setCommitHook(func(*bbolt.Tx) error {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})
	mustAppend(t, j.Journal, testPassage(0, t0))
	mustAppend(t, j.Journal, testPassage(1, t0)) // wakes the checkpointer
	<-entered
	// The checkpoint is stuck in its commit until released: appends that
	// waited for it would never return. The deadline only turns such a
	// hang into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 20 {
		if _, err := j.Append(ctx, testPassage(i+2, t0)); err != nil {
			close(release)
			t.Fatalf("append %d while a checkpoint is in its commit: %v", i+3, err)
		}
	}
	if _, seqs, err := j.Tail(1); err != nil || len(seqs) != 1 || seqs[0] != 22 {
		t.Fatalf("Tail(1) during the checkpoint: %v %v", seqs, err)
	}
	close(release)
	j.setCommitHook(nil)
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	if n := bboltRecords(t, j.db); n != 22 {
		t.Fatalf("records in bbolt after the checkpoints: got %d, want 22", n)
	}
	if res := mustVerify(t, j); res.Records != 22 || res.Break != nil {
		t.Fatalf("verify: %+v", res)
	}
	mustAppend(t, j.Journal, testPassage(22, t0))
	cs, err := readLogs(j.path)
	if err != nil {
		t.Fatal(err)
	}
	var frames []walFrame
	for _, c := range cs {
		frames = append(frames, c.frames...)
	}
	if len(frames) != 1 || frames[0].kind != frameRecord {
		t.Fatalf("the logs after a checkpoint and one append hold %d frames, want the new generation's one record", len(frames))
	}
}

// When the checkpointer cannot catch up (here: no checkpoint is due by
// count or size, and appends never pause), the log stops growing at
// walMaxBytes: the committer moves what is left into bbolt itself and
// starts the log anew.
func TestLogBounded(t *testing.T) {
	defer func(b, m int) { walCheckpointBytes, walMaxBytes = b, m }(walCheckpointBytes, walMaxBytes)
	walCheckpointBytes, walMaxBytes = 1<<30, 16<<10
	j := openTest(t, Options{CheckpointEvery: 1 << 20})
	j.setCommitHook(func(*bbolt.Tx) error { return nil })
	for i := range 200 {
		mustAppend(t, j.Journal, testPassage(i, t0))
		if off := j.walOffset(); off > int64(walMaxBytes)+MaxRecordSize {
			t.Fatalf("after %d appends the log holds %d bytes, past its bound %d", i+1, off, walMaxBytes)
		}
	}
	if n := bboltRecords(t, j.db); n == 0 {
		t.Fatal("no record reached bbolt")
	}
	if res := mustVerify(t, j); res.Records != 200 || res.Break != nil {
		t.Fatalf("verify: %+v", res)
	}
}

// Under a steady stream of passages the log rarely starts anew: a
// passage always arrives while bbolt commits, which that checkpoint does
// not take, so the log never holds only what bbolt has. The checkpointer
// must still wait for CheckpointEvery records (or walCheckpointBytes of
// them) that bbolt lacks, and not commit after every append once the log
// has grown past walCheckpointBytes: each bbolt commit is two fdatasyncs
// beside the appends' own, and their tail was the passages' tail.
func TestCheckpointsUnderSteadyStream(t *testing.T) {
	defer func(b int) { walCheckpointBytes = b }(walCheckpointBytes)
	walCheckpointBytes = 16 << 10 // about 45 records
	const every, n = 32, 400
	j := openTest(t, Options{CheckpointEvery: every})
	var checkpoints, arrived atomic.Int64
	j.setCommitHook(func(*bbolt.Tx) error {
		checkpoints.Add(1)
		_, err := j.Append(context.Background(), testPassage(n+int(arrived.Add(1)), t0))
		return err
	})
	for i := range n {
		mustAppend(t, j.Journal, testPassage(i, t0))
	}
	j.setCommitHook(nil)
	got := checkpoints.Load()
	t.Logf("%d checkpoints for %d appends, %d of them during a checkpoint; the log reaches %d bytes", got, n+arrived.Load(), arrived.Load(), j.walOffset())
	if limit := int64(2*n/every + 2); got > limit {
		t.Fatalf("%d checkpoints for %d appends with CheckpointEvery %d, want at most %d: the checkpointer commits to bbolt after (nearly) every append", got, n, every, limit)
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, j); int64(res.Records) != n+arrived.Load() || res.Break != nil {
		t.Fatalf("verify: %+v, want %d records", res, n+arrived.Load())
	}
}

// A failed append (the write went out, its fdatasync failed) leaves its
// frames in the file under the log's salt; the next append writes over
// them from the same offset. When it is shorter, the failed batch's later
// frames must not survive behind it: replay would read them as the
// successor of the good record, find that it does not chain on, and move
// the whole journal aside as corrupt.
func TestLogFailedSyncLeavesNoFrames(t *testing.T) {
	j := openTest(t, Options{})
	mustAppend(t, j.Journal, testPassage(1, t0))
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	// Keep what follows in the log only, as a crash would find it.
	j.setCommitHook(func(*bbolt.Tx) error { return errors.New("input/output error") })

	defer func(f func(int) error) { fdatasync = f }(fdatasync)
	fdatasync = func(int) error { return errors.New("input/output error") }
	batch := make([]*request, 3)
	for i := range batch {
		batch[i] = &request{p: *testPassage(i+2, t0), done: make(chan error, 1)}
	}
	j.cmu.Lock()
	j.commit(batch)
	j.cmu.Unlock()
	for i, r := range batch {
		var ue *UnavailableError
		if err := <-r.done; !errors.As(err, &ue) {
			t.Fatalf("request %d of the failed batch: got %v, want an *UnavailableError", i, err)
		}
	}
	fdatasync = unix.Fdatasync
	if s := mustAppend(t, j.Journal, testPassage(2, t0.Add(time.Second))); s != 2 {
		t.Fatalf("seq after the failed append: got %d, want 2", s)
	}

	dst := copyJournal(t, j.path)
	j2, err := Open(dst, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if a := j2.Alarms(); len(a) != 0 {
		t.Fatalf("alarms after replaying a log with a failed append in it: %+v", a)
	}
	if j2.Epoch() != j.Epoch() {
		t.Fatalf("the journal was started anew (epoch %s, was %s)", j2.Epoch(), j.Epoch())
	}
	if res := mustVerify(t, j2); res.Records != 2 || res.Last != 2 || res.Break != nil {
		t.Fatalf("verify after replay: %+v; want the 2 acknowledged records", res)
	}
}

// Ack moves the log into bbolt beside the committer: while its bbolt
// commit is in progress, appends keep being written to the log and
// acknowledged, and Ack then sees its record in bbolt.
func TestAckOffAppendPath(t *testing.T) {
	j := openTest(t, Options{})
	for i := range 3 {
		mustAppend(t, j.Journal, testPassage(i, t0))
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	j.setCommitHook(func(*bbolt.Tx) error {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})
	acked := make(chan error, 1)
	go func() { acked <- j.Ack(j.Epoch(), 3) }()
	<-entered
	// The deadline only turns a hang into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 5 {
		if _, err := j.Append(ctx, testPassage(i+3, t0)); err != nil {
			close(release)
			t.Fatalf("append %d while Ack's checkpoint is in its commit: %v", i+4, err)
		}
	}
	close(release)
	j.setCommitHook(nil)
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	if s, err := j.Acked(); err != nil || s != 3 {
		t.Fatalf("acked: %d %v, want 3", s, err)
	}
	if res := mustVerify(t, j); res.Records != 8 || res.Break != nil {
		t.Fatalf("verify: %+v", res)
	}
}

// A log cut short (truncated by hand, a file system that lost its tail):
// its zeros are written ahead of every append, so no append, torn or
// not, ends the file inside a frame. What was cut off may be
// acknowledged passages: the journal and its logs are moved aside with
// the corrupt alarm, and salvage recovers the records before the cut.
// Before, the log was read as if its last append were torn: the journal
// went on, and the next passages took the lost ones' seqs again.
func TestLogCutShort(t *testing.T) {
	for name, cut := range map[string]func(at, size int) int{
		"inside a record":         func(at, size int) int { return at + walFrameHdr + size/2 },
		"inside a frame's header": func(at, size int) int { return at + 4 },
		"at the end of a frame":   func(at, size int) int { return at },
	} {
		for _, which := range []string{"middle", "last"} {
			t.Run(name+" "+which, func(t *testing.T) {
				path := loggedJournal(t, 5)
				_, c := readLog(t, path)
				// Records 2 to 6 are only in the log: cut inside record 4's
				// frame, or inside the last one's.
				i := 2
				if which == "last" {
					i = len(c.frames) - 1
				}
				at := walHeader
				for _, f := range c.frames[:i] {
					at += walFrameHdr + len(f.data)
				}
				if err := os.Truncate(walPaths(path)[0], int64(cut(at, len(c.frames[i].data)))); err != nil {
					t.Fatal(err)
				}
				j, _ := reopenCorrupt(t, path, "cut short", " saying the log was cut short")
				defer j.Close()
				got := salvaged(t, path)
				for k, f := range c.frames[:i] {
					if !bytes.Equal(got[Seq(k+2)], f.data) {
						t.Errorf("record %d, before the cut, was not salvaged", k+2)
					}
				}
			})
		}
	}
}

// Damage inside a log (a flipped byte, a zeroed stretch) ends its frames
// as a torn last append does, but leaves whole records behind it: those
// passages were acknowledged. The journal and its logs are moved aside
// with the corrupt alarm, a new epoch starts, and salvage recovers every
// record whose own bytes are whole, those behind the damage too. Cut
// there instead, they were lost without a word and their seqs taken
// again by the next passages.
func TestLogDamagedMidway(t *testing.T) {
	for name, damage := range map[string]func(b []byte, at, size int){
		"flipped byte":   func(b []byte, at, size int) { b[at+walFrameHdr+size/2] ^= 0x10 },
		"flipped length": func(b []byte, at, size int) { b[at+1] ^= 0x40 },
		"zeroed":         func(b []byte, at, size int) { clear(b[at : at+walFrameHdr+size]) },
		"zeroed page":    func(b []byte, at, size int) { clear(b[at : at+4096]) },
	} {
		t.Run(name, func(t *testing.T) {
			path := loggedJournal(t, 30)
			b, c := readLog(t, path)
			want := map[Seq][]byte{}
			for _, f := range c.frames {
				if r, err := DecodeRecord(f.data); err == nil {
					want[r.Seq] = f.data
				}
			}
			// Records 2 to 31 are only in the log; damage record 3's frame
			// (for the page: from there on, 4 KiB).
			at := walHeader + walFrameHdr + len(c.frames[0].data)
			size := len(c.frames[1].data)
			damage(b, at, size)
			writeLog(t, path, b)
			behind := Seq(0) // the first record whole behind the damage
			for off, f := at, c.frames[1:]; len(f) > 0; off, f = off+walFrameHdr+len(f[0].data), f[1:] {
				if off >= at+4096 || (name != "zeroed page" && off > at) {
					r, _ := DecodeRecord(f[0].data)
					behind = r.Seq
					break
				}
			}

			j, _ := reopenCorrupt(t, path, "damaged", " saying the log is damaged")
			defer j.Close()
			if res := mustVerify(t, j); res.Records != 0 {
				t.Fatalf("records in the new epoch: got %d, want 0", res.Records)
			}
			got := salvaged(t, path)
			for s := behind; s <= 31; s++ {
				if !bytes.Equal(got[s], want[s]) {
					t.Errorf("record %d, whole behind the damage, was not salvaged", s)
				}
			}
			if !bytes.Equal(got[2], want[2]) {
				t.Errorf("record 2, before the damage, was not salvaged")
			}
		})
	}
}

// A journal file deleted (or lost) while its logs stay: a new epoch
// starts, as before, but with the corrupt alarm and the predecessor
// named, and the logs' records are salvaged. Before, the new epoch
// started without a word, and the passages only in the missing file
// were gone with nobody told.
func TestLogsWithoutJournalFile(t *testing.T) {
	path := loggedJournal(t, 3)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	j, a := reopenCorrupt(t, path, "missing", " saying the journal file was missing")
	defer j.Close()
	res := mustVerify(t, j)
	if res.Records != 0 || res.Predecessor != a.MovedTo || !strings.Contains(res.Reason, "missing") {
		t.Fatalf("new journal: %d records, predecessor %q (%q); want 0 and %q", res.Records, res.Predecessor, res.Reason, a.MovedTo)
	}
	got := salvaged(t, path)
	for s := Seq(2); s <= 4; s++ {
		if _, ok := got[s]; !ok {
			t.Errorf("record %d, in the log, was not salvaged", s)
		}
	}
}

// Something that is not a file in a log's place (a directory, a named
// pipe) is a log whose records are not there: the journal and its logs
// are moved aside with the corrupt alarm, and a new epoch starts. Before,
// Open failed on a directory ("is a directory"), so sentineld did not
// start at all, and waited for ever on a named pipe.
func TestLogNotAFile(t *testing.T) {
	for name, mk := range map[string]func(p string) error{
		"directory":  func(p string) error { return os.Mkdir(p, 0o700) },
		"named pipe": func(p string) error { return unix.Mkfifo(p, 0o600) },
	} {
		for i, sfx := range walSuffixes {
			t.Run(name+" "+sfx, func(t *testing.T) {
				path := loggedJournal(t, 3)
				want := storedRecords(t, path)
				lp := walPaths(path)[i]
				if err := os.Remove(lp); err != nil {
					t.Fatal(err)
				}
				if err := mk(lp); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				var (
					j   *Journal
					err error
				)
				go func() { j, err = Open(path, Options{PurgeEvery: -1}); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Open did not return within 10 s")
				}
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				a := j.Alarms()
				if len(a) != 1 || a[0].Kind != AlarmCorrupt || !strings.Contains(a[0].Message, "not a file") {
					t.Fatalf("alarms: got %+v, want one %s saying the log is not a file", a, AlarmCorrupt)
				}
				if _, err := os.Lstat(a[0].MovedTo + sfx); err != nil {
					t.Fatalf("what was in the log's place was not kept: %v", err)
				}
				got := salvaged(t, path)
				// Record 1 is in bbolt; those in the other log are salvaged.
				if !bytes.Equal(got[1], want[1]) {
					t.Errorf("record 1, in the journal file, was not salvaged")
				}
			})
		}
	}
}

// Open on a full disk, with passages only in the logs: replay cannot
// move them into bbolt, so Open fails, saying that nothing is lost and
// what to do, and raises no alarm that says the gate keeps working (the
// daemon does not start). Once there is room, Open replays them all.
// Before, the error said only "replay the journal's log: ... no space
// left on device", after an alarm that promised the gate kept working.
func TestReplayOnFullDisk(t *testing.T) {
	path := loggedJournal(t, 3)
	var alarms []Alarm
	openCommitHook = func(*bbolt.Tx) error { return unix.ENOSPC }
	defer func() { openCommitHook = nil }()
	j, err := Open(path, Options{PurgeEvery: -1, OnAlarm: func(a Alarm) { alarms = append(alarms, a) }})
	if err == nil {
		j.Close()
		t.Fatal("Open replayed into a full disk")
	}
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "3 passages") ||
		!strings.Contains(err.Error(), "nothing is lost") || !strings.Contains(err.Error(), "free space") {
		t.Errorf("Open on a full disk: got %v, want the cause, the 3 passages kept, and what to do", err)
	}
	if len(alarms) != 0 {
		t.Errorf("Open on a full disk raised %+v, want no alarm (the daemon does not start)", alarms)
	}
	openCommitHook = nil
	j = reopenQuiet(t, path, "")
	defer j.Close()
	if res := mustVerify(t, j); res.Last != 4 {
		t.Fatalf("after the disk has room: last record %d, want 4", res.Last)
	}
}
