package journal

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// bigJournal writes n passages (from eight goroutines, so that commits
// carry many) to a new journal and returns its closed file's path and
// epoch.
func bigJournal(t testing.TB, n int) (string, Epoch) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	j, err := Open(path, Options{CentreKey: testCentre(t).PublicKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, err := j.Append(context.Background(), testPassage(i, t0)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	epoch := j.Epoch()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path, epoch
}

// usedSize returns the bytes of a bbolt file that its meta page counts
// (the rest is slack the journal writes ahead).
func usedSize(t testing.TB, b []byte) int {
	t.Helper()
	m := decodeBoltMeta(b)
	if m.err != nil {
		t.Fatal(m.err)
	}
	m1 := decodeBoltMeta(b[m.pageSize:])
	if m1.err == nil && m1.txid > m.txid {
		m = m1
	}
	return int(m.pgid * m.pageSize)
}

// TestOpenTruncated cuts a journal of about 2 MiB at 16 random offsets
// (and at the sizes the issue reported): Open never panics nor faults; it
// either opens the journal whole (a cut in the slack past the used pages)
// or moves the file aside with an alarm and starts a new epoch that
// works. The read-only Reader (sentinelctl) refuses the damaged file with
// an error, never a crash.
func TestOpenTruncated(t *testing.T) {
	path, epoch := bigJournal(t, 6000)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, whole)
	t.Logf("journal of %d bytes, %d used", len(whole), used)
	if used < 1<<20 {
		t.Fatalf("test journal uses %d bytes, want at least 1 MiB", used)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	offsets := []int{0, 100, 4096, 8192, 16 << 10, 512 << 10, used - 1, used}
	for range 16 {
		offsets = append(offsets, rnd.IntN(used))
	}
	for _, off := range offsets {
		dir := t.TempDir()
		p := filepath.Join(dir, FileName)
		writeFile(t, p, whole[:off])

		r, rerr := OpenReader(p, time.Second)
		if rerr == nil {
			_, verr := r.Verify()
			_, _, terr := r.Tail(5)
			r.Close()
			if off < used && verr == nil && terr == nil {
				t.Errorf("cut at %d: the reader read a journal cut short without an error", off)
			}
		} else if !errors.Is(rerr, ErrCorrupt) {
			t.Errorf("cut at %d: reader: got %v, want an error matching ErrCorrupt", off, rerr)
		}

		j, err := Open(p, Options{PurgeEvery: -1})
		if err != nil {
			t.Fatalf("cut at %d: open: %v", off, err)
		}
		alarms := j.Alarms()
		if off >= used {
			if len(alarms) != 0 || j.Epoch() != epoch {
				t.Errorf("cut at %d, in the slack: got alarms %+v, epoch %s; want the journal as it was", off, alarms, j.Epoch())
			}
		} else {
			if len(alarms) != 1 || alarms[0].Kind != AlarmCorrupt || j.Epoch() == epoch {
				t.Errorf("cut at %d: got alarms %+v, epoch %s; want %s and a new epoch", off, alarms, j.Epoch(), AlarmCorrupt)
			}
			if len(alarms) == 1 {
				kept, err := os.ReadFile(alarms[0].MovedTo)
				if err != nil || !bytes.Equal(kept, whole[:off]) {
					t.Errorf("cut at %d: the moved-aside file is not the damaged file unchanged (%v)", off, err)
				}
			}
		}
		if _, err := j.Append(context.Background(), testPassage(1, t0)); err != nil {
			t.Errorf("cut at %d: append after open: %v", off, err)
		}
		j.Close()
		checkFile(t, p)
	}
}

// TestCheckBolt names what is wrong with a damaged file.
func TestCheckBolt(t *testing.T) {
	path, _ := bigJournal(t, 50)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, whole)
	check := func(b []byte) error { return checkBolt(bytes.NewReader(b), int64(len(b))) }
	if err := check(whole); err != nil {
		t.Fatalf("a sound journal: %v", err)
	}
	if err := check(whole[:used]); err != nil {
		t.Fatalf("a sound journal without its slack: %v", err)
	}
	zeroMeta := func(i int) []byte {
		b := bytes.Clone(whole)
		clear(b[i*4096 : (i+1)*4096])
		return b
	}
	// One torn meta page is what a crash during a commit leaves: bbolt
	// uses the other one.
	for i := range 2 {
		if err := check(zeroMeta(i)); err != nil {
			t.Errorf("meta page %d zeroed: %v, want the other meta used", i, err)
		}
	}
	both := zeroMeta(0)
	clear(both[4096:8192])
	freelistZeroed := bytes.Clone(whole)
	m := decodeBoltMeta(whole)
	if m1 := decodeBoltMeta(whole[4096:]); m1.txid > m.txid {
		m = m1
	}
	clear(freelistZeroed[m.freelist*4096 : m.freelist*4096+16])
	rootZeroed := bytes.Clone(whole)
	clear(rootZeroed[m.root*4096 : m.root*4096+4096])
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"a few bytes", whole[:50], "too short"},
		{"one page", whole[:4096], "shorter than its two meta pages"},
		{"cut in the used pages", whole[:used-4096], "cut short"},
		{"both metas zeroed", both, "neither meta page is valid"},
		{"freelist page zeroed", freelistZeroed, "freelist"},
		{"root page zeroed", rootZeroed, "page"},
	} {
		err := check(tc.b)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// seedJournal returns testdata/seed-journal.db: the used pages of a
// journal of 40 passages, checked in so that fuzzing starts at once.
func seedJournal(f *testing.F) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed-journal.db"))
	if err != nil {
		f.Fatal(err)
	}
	if err := checkBolt(bytes.NewReader(b), int64(len(b))); err != nil {
		f.Fatalf("the seed journal does not pass the check: %v", err)
	}
	return b
}

// FuzzCheckBolt: checkBolt never panics, and a file it accepts opens in
// bbolt, passes bbolt's own consistency check and reads to the end
// without a panic.
func FuzzCheckBolt(f *testing.F) {
	used := seedJournal(f)
	f.Add(used)
	f.Add(used[:len(used)-4096])
	f.Add(used[:8192])
	f.Add([]byte{})
	for _, off := range []int{0, 20, 40, 4096 + 60, 2*4096 + 10, 3*4096 + 16, len(used) - 100} {
		b := bytes.Clone(used)
		b[off] ^= 0x41
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkBolt(bytes.NewReader(b), int64(len(b))) != nil {
			return
		}
		p := filepath.Join(dir, "fuzz.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("checkBolt accepted a file on which bbolt panics: %v", r)
			}
		}()
		// Read everything, then write to every bucket and commit, as the
		// journal does (without fsync, to keep fuzzing fast).
		db, err := bbolt.Open(p, 0o600, &bbolt.Options{Timeout: time.Second, FreelistType: bbolt.FreelistMapType, NoSync: true})
		if err != nil {
			return
		}
		defer db.Close()
		db.View(func(tx *bbolt.Tx) error {
			for range tx.Check() {
			}
			return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error { return nil })
			})
		})
		db.Update(func(tx *bbolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
				if err := b.Put([]byte("fuzz"), bytes.Repeat([]byte{1}, 600)); err != nil {
					return err
				}
				if k, _ := b.Cursor().First(); k != nil {
					b.Delete(k)
				}
				return nil
			})
		})
	})
}

// A damaged journal that another process holds (sentineld, running on a
// file it opened before the damage) is copied and checked a few times
// before the reader calls it damaged.
func TestOpenReaderLockedDamaged(t *testing.T) {
	path, _ := bigJournal(t, 20)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, whole[:6000])
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = OpenReader(path, 50*time.Millisecond)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "3 tries") {
		t.Fatalf("got %v, want a corrupt file after 3 copies", err)
	}
}
