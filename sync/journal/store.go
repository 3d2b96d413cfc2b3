package journal

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"

	"sentinel/internal/atomicfile"
)

// Buckets and meta keys of the journal file.
var (
	bucketMeta    = []byte("meta")
	bucketRecords = []byte("records")
	bucketKeys    = []byte("keys")

	metaEpoch       = []byte("epoch")       // Epoch
	metaCreated     = []byte("created")     // Unix ms, big-endian
	metaFormat      = []byte("format")      // file format version, one byte
	metaAck         = []byte("ack")         // Seq acknowledged by the centre
	metaAnchorSeq   = []byte("anchor_seq")  // last purged Seq
	metaAnchorHash  = []byte("anchor_hash") // its hash
	metaPredecessor = []byte("predecessor") // file moved aside when this one was made
	metaPredReason  = []byte("predecessor_reason")
)

const fileFormat = 1

// corruptError marks a journal file that must be moved aside.
type corruptError struct{ err error }

func (e *corruptError) Error() string   { return fmt.Sprintf("%v: %v", ErrCorrupt, e.err) }
func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.err} }

func corruptf(format string, args ...any) error {
	return &corruptError{fmt.Errorf(format, args...)}
}

// state is what the committer needs to continue a journal.
type state struct {
	epoch     Epoch
	created   time.Time
	seq       Seq  // last record written
	last      Hash // its hash
	ack       Seq
	anchorSeq Seq
	anchor    Hash
}

// boltOptions returns the options of every bbolt file of the journal;
// file, when not nil, receives the file bbolt opens (see Journal.addSlack).
// With check, the file is locked and checked (checkBolt) before bbolt
// maps it: a file that fails is refused with a *corruptError.
func boltOptions(timeout time.Duration, readOnly, check bool, file **os.File) *bbolt.Options {
	o := &bbolt.Options{
		Timeout:      timeout,
		ReadOnly:     readOnly,
		FreelistType: bbolt.FreelistMapType,
	}
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		if check {
			// bbolt locks the same open file again, which flock allows.
			if err := lockFile(f, !readOnly, timeout); err != nil {
				f.Close()
				return nil, err
			}
			if err := checkOpenFile(f); err != nil {
				f.Close()
				return nil, err
			}
		}
		if file != nil {
			*file = f
		}
		return f, nil
	}
	return o
}

// lockFile takes flock's exclusive or shared lock on f, trying until
// timeout (bbolt's own rule), and returns bbolt's ErrTimeout when another
// process holds it.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if timeout > 0 && time.Now().After(deadline) {
			return berrors.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOpenFile checks the structure of an open journal file (see checkBolt)
// and returns a *corruptError for a file bbolt must not map.
func checkOpenFile(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := checkBolt(f, st.Size()); err != nil {
		return &corruptError{err}
	}
	return nil
}

// openBolt opens a bbolt file, turning a panic or a memory fault inside
// bbolt into a *corruptError. o should come from boltOptions with check
// set, so that bbolt never maps a file cut short (a fault there cannot
// always be recovered).
func openBolt(path string, o *bbolt.Options) (db *bbolt.DB, err error) {
	var f *os.File
	open := o.OpenFile
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = open(name, flag, perm)
		return f, err
	}
	defer func() {
		if p := recover(); p != nil {
			if f != nil {
				f.Close()
			}
			db, err = nil, corruptf("bbolt could not read the file: %v", p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return bbolt.Open(path, 0o600, o)
}

// openDB opens an existing journal file and checks it; it returns a
// *corruptError for a file that must be moved aside.
func openDB(path string, timeout time.Duration, now time.Time, file **os.File) (db *bbolt.DB, st state, err error) {
	db, err = openBolt(path, boltOptions(timeout, false, true, file))
	if err != nil {
		var ce *corruptError
		if errors.As(err, &ce) {
			return nil, st, err
		}
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, st, fmt.Errorf("%w: another process holds the journal, a second sentineld or a sentinelctl command still running: stop it (fuser -v %s names it; systemctl status sentineld shows the one systemd runs), then start sentineld again", err, path)
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, st, err
		}
		return nil, st, &corruptError{err}
	}
	fresh := false
	err = safeView(db, func(tx *bbolt.Tx) error {
		fresh = tx.Bucket(bucketMeta) == nil && tx.Bucket(bucketRecords) == nil && tx.Bucket(bucketKeys) == nil
		return nil
	})
	if err == nil && fresh {
		// Created by bbolt but our buckets never committed: a crash
		// during creation, nothing can be lost.
		st, err = initDB(db, now, "", "")
		if err != nil {
			db.Close()
			return nil, st, err
		}
		return db, st, nil
	}
	if err == nil {
		err = safeView(db, func(tx *bbolt.Tx) error {
			var verr error
			st, verr = loadState(tx)
			return verr
		})
	}
	if err != nil {
		db.Close()
		return nil, st, err
	}
	return db, st, nil
}

// safeView runs fn in a read transaction, turning a panic (bbolt panics on
// some corrupt pages) or a memory fault into a *corruptError.
func safeView(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corruptf("reading the file: %v", p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return db.View(fn)
}

// loadState reads the meta bucket and verifies the whole chain.
func loadState(tx *bbolt.Tx) (state, error) {
	var st state
	res, err := verifyTx(tx)
	if err != nil {
		return st, &corruptError{err}
	}
	if res.Break != nil {
		return st, corruptf("hash chain broken at record %d: %s", res.Break.Seq, res.Break.Reason)
	}
	st.epoch, st.created, st.ack = res.Epoch, res.Created, res.Acked
	st.seq, st.last = res.Last, res.Head
	st.anchorSeq, st.anchor = res.Anchor, res.AnchorHash
	return st, nil
}

// createDB makes a new journal file with a new epoch. It builds the file
// under a temporary name and renames it into place, so that a file at
// path is always a whole journal: a crash meanwhile leaves only the
// temporary file, which never held a record and is removed next time.
func createDB(path string, timeout time.Duration, now time.Time, pred, reason string, file **os.File) (*bbolt.DB, state, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, state{}, err
	}
	tmp := path + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, state{}, err
	}
	db, err := bbolt.Open(tmp, 0o600, boltOptions(timeout, false, false, nil))
	if err != nil {
		return nil, state{}, err
	}
	st, err := initDB(db, now, pred, reason)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = atomicfile.SyncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, st, err
	}
	db, err = openBolt(path, boltOptions(timeout, false, true, file))
	if err != nil {
		return nil, st, err
	}
	return db, st, nil
}

func initDB(db *bbolt.DB, now time.Time, pred, reason string) (state, error) {
	var st state
	rand.Read(st.epoch[:])
	st.created = now.UTC().Truncate(time.Millisecond)
	st.last = Genesis(st.epoch)
	st.anchor = st.last
	err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bucketRecords, bucketKeys} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		puts := [][2][]byte{
			{metaEpoch, st.epoch[:]},
			{metaCreated, u64(uint64(st.created.UnixMilli()))},
			{metaFormat, {fileFormat}},
			{metaAck, u64(0)},
			{metaAnchorSeq, u64(0)},
			{metaAnchorHash, st.anchor[:]},
		}
		if pred != "" {
			puts = append(puts, [2][]byte{metaPredecessor, []byte(pred)}, [2][]byte{metaPredReason, []byte(reason)})
		}
		for _, kv := range puts {
			if err := meta.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("initialise journal: %w", err)
	}
	return st, nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bbolt.Bucket, key []byte) (uint64, error) {
	v := b.Get(key)
	if len(v) != 8 {
		return 0, fmt.Errorf("meta %s is %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// moveAside renames a journal file that cannot be used to a timestamped
// name beside it, so that nothing is lost, and returns the new path.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("move corrupt journal aside: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return to, nil
}
