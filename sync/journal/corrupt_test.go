package journal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// Files that cannot be used are moved aside, never deleted, and a new
// epoch starts with an alarm.
func TestCorruptFileMovedAside(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			rand.Read(b)
			writeFile(t, path, b)
		}},
		{"empty", func(t *testing.T, path string) { writeFile(t, path, nil) }},
		{"truncated", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			writeFile(t, path, b[:100])
		}},
		{"meta pages zeroed", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			clear(b[:2*4096])
			writeFile(t, path, b)
		}},
		{"record rewritten", func(t *testing.T, path string) {
			editDB(t, path, func(tx *bbolt.Tx) error {
				b := tx.Bucket(bucketRecords)
				v := bytes.Clone(b.Get(seqKey(2)))
				v[len(v)-1] ^= 1 // inside the sealed box: still decodes, chain breaks at 3
				return b.Put(seqKey(2), v)
			})
		}},
		{"record deleted", func(t *testing.T, path string) {
			editDB(t, path, func(tx *bbolt.Tx) error { return tx.Bucket(bucketRecords).Delete(seqKey(2)) })
		}},
		{"record not CBOR", func(t *testing.T, path string) {
			editDB(t, path, func(tx *bbolt.Tx) error { return tx.Bucket(bucketRecords).Put(seqKey(3), []byte("x")) })
		}},
		{"meta bucket dropped", func(t *testing.T, path string) {
			editDB(t, path, func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketMeta) })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			centre := testCentre(t)
			j, err := Open(path, Options{CentreKey: centre.PublicKey(), PurgeEvery: -1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				mustAppend(t, j, testPassage(i, t0))
			}
			old := j.Epoch()
			j.Close()
			tc.spoil(t, path)
			spoiled, _ := os.ReadFile(path)

			now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
			j, err = Open(path, Options{CentreKey: centre.PublicKey(), PurgeEvery: -1, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatalf("open a spoiled journal: %v", err)
			}
			defer checkFile(t, path)
			defer j.Close()
			if j.Epoch() == old {
				t.Error("epoch unchanged after the file was moved aside")
			}
			alarms := j.Alarms()
			if len(alarms) != 1 || alarms[0].Kind != AlarmCorrupt {
				t.Fatalf("alarms: got %+v, want one %s", alarms, AlarmCorrupt)
			}
			wantMoved := path + ".corrupt-20260501T080000Z"
			if alarms[0].MovedTo != wantMoved {
				t.Errorf("moved to: got %s, want %s", alarms[0].MovedTo, wantMoved)
			}
			kept, err := os.ReadFile(wantMoved)
			if err != nil || !bytes.Equal(kept, spoiled) {
				t.Fatalf("the moved-aside file is not the spoiled file unchanged (%v)", err)
			}
			if s := mustAppend(t, j, testPassage(9, now)); s != 1 {
				t.Errorf("first seq of the new epoch: got %d, want 1", s)
			}
			res := mustVerify(t, j)
			if res.Predecessor != wantMoved || !strings.Contains(res.Reason, "corrupt") {
				t.Errorf("predecessor: got %q (%q), want %q", res.Predecessor, res.Reason, wantMoved)
			}
		})
	}
}

func TestOpenLockedIsNotCorrupt(t *testing.T) {
	j := openTest(t, Options{})
	mustAppend(t, j.Journal, testPassage(0, t0))
	_, err := Open(j.path, Options{Timeout: 50 * time.Millisecond, PurgeEvery: -1})
	if err == nil {
		t.Fatal("second open of a locked journal: got no error")
	}
	if !strings.Contains(err.Error(), "fuser -v "+j.path) || !strings.Contains(err.Error(), "stop it") {
		t.Errorf("second open of a locked journal: got %v, want what holds it and how to find it", err)
	}
	if _, err := os.Stat(j.path); err != nil {
		t.Fatalf("the locked journal was moved: %v", err)
	}
	// sentinelctl reads a snapshot meanwhile.
	r, err := OpenReader(j.path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Snapshot() {
		t.Error("reader of a locked journal: got Snapshot false, want true")
	}
	if res := mustVerify(t, r); res.Records != 1 {
		t.Errorf("records in snapshot: got %d, want 1", res.Records)
	}
}

// A crash between bbolt's creation of the file and the journal's first
// transaction leaves an empty bbolt file: it is simply initialised.
func TestOpenEmptyBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	j := reopenQuiet(t, path, " opening an empty bbolt file")
	defer checkFile(t, path)
	defer j.Close()
	mustAppend(t, j, testPassage(0, t0))
	mustVerify(t, j)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func editDB(t *testing.T, path string, fn func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// A crash while the journal is created leaves only its temporary file,
// which the next Open replaces.
func TestOpenAfterCrashDuringCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	writeFile(t, path+".new", make([]byte, 4096))
	j, err := Open(path, Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer checkFile(t, path)
	defer j.Close()
	if a := j.Alarms(); len(a) != 0 {
		t.Fatalf("alarms: got %+v, want none", a)
	}
	mustAppend(t, j, testPassage(0, t0))
	mustVerify(t, j)
	if _, err := os.Stat(path + ".new"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// A panic inside bbolt during a checkpoint (a damaged page the check at
// Open could not see) fails that checkpoint with the commit alarm, and the
// daemon lives on: the passages stay durable in the log and readable, the
// gate keeps opening, and the next checkpoint moves them into bbolt.
func TestCheckpointPanic(t *testing.T) {
	j := openTest(t, Options{})
	mustAppend(t, j.Journal, testPassage(0, t0))
	j.setCommitHook(func(*bbolt.Tx) error { panic("page 7 already freed") })
	if s := mustAppend(t, j.Journal, testPassage(1, t0)); s != 2 {
		t.Fatalf("seq: got %d, want 2", s)
	}
	err := j.flush()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "page 7 already freed") {
		t.Fatalf("checkpoint when bbolt panics: got %v, want an error naming the panic", err)
	}
	if a := j.Alarms(); len(a) != 1 || a[0].Kind != AlarmCommit {
		t.Fatalf("alarms: got %+v, want %s", a, AlarmCommit)
	}
	if s := mustAppend(t, j.Journal, testPassage(2, t0)); s != 3 {
		t.Fatalf("seq after the panic: got %d, want 3", s)
	}
	if a := j.Alarms(); len(a) != 1 {
		t.Fatalf("alarms after an append while the checkpoint fails: got %+v, want %s still", a, AlarmCommit)
	}
	if res := mustVerify(t, j); res.Records != 3 {
		t.Fatalf("records while the checkpoint fails: got %d, want 3", res.Records)
	}
	j.setCommitHook(nil)
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	if a := j.Alarms(); len(a) != 0 {
		t.Fatalf("alarms after a checkpoint: got %+v, want none", a)
	}
	var n int
	j.db.View(func(tx *bbolt.Tx) error { n = tx.Bucket(bucketRecords).Stats().KeyN; return nil })
	if n != 3 {
		t.Fatalf("records in bbolt after the checkpoint: got %d, want 3", n)
	}
	if res := mustVerify(t, j); res.Records != 3 {
		t.Fatalf("records: got %d, want 3", res.Records)
	}
}

// A page whose keys are empty or out of order is refused: bbolt relies on
// both and never writes them.
func TestCheckBoltKeys(t *testing.T) {
	path, _ := bigJournal(t, 300)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := decodeBoltMeta(whole)
	if m1 := decodeBoltMeta(whole[m.pageSize:]); m1.err == nil && m1.txid > m.txid {
		m = m1
	}
	// The root leaf holds the three buckets "keys", "meta", "records";
	// turning "keys" into "zeys" puts it after "meta".
	root := whole[m.root*m.pageSize:]
	if le.Uint16(root[8:]) != boltLeaf || le.Uint16(root[10:]) != 3 {
		t.Fatalf("root page is not a leaf of three buckets")
	}
	key := func(i int) int { off := boltHeader + i*boltElement; return off + int(le.Uint32(root[off+4:])) }
	unordered := bytes.Clone(whole)
	unordered[m.root*m.pageSize+uint64(key(0))] = 'z'
	empty := bytes.Clone(whole)
	clear(empty[m.root*m.pageSize+boltHeader+8 : m.root*m.pageSize+boltHeader+12])
	for name, b := range map[string][]byte{"out of order": unordered, "empty key": empty} {
		if err := checkBolt(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: got no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
