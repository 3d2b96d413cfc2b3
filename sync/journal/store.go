package journal

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
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
func boltOptions(timeout time.Duration, readOnly bool, file **os.File) *bbolt.Options {
	o := &bbolt.Options{
		Timeout:      timeout,
		ReadOnly:     readOnly,
		FreelistType: bbolt.FreelistMapType,
	}
	if file != nil {
		o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			*file = f
			return f, err
		}
	}
	return o
}

// openDB opens an existing journal file and checks it; it returns a
// *corruptError for a file that must be moved aside.
func openDB(path string, timeout time.Duration, now time.Time, file **os.File) (db *bbolt.DB, st state, err error) {
	db, err = bbolt.Open(path, 0o600, boltOptions(timeout, false, file))
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, st, fmt.Errorf("%w: another process (sentineld or sentinelctl) holds the journal", err)
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, st, err
		}
		return nil, st, &corruptError{err}
	}
	fresh := false
	err = db.View(func(tx *bbolt.Tx) error {
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
// some corrupt pages) into a *corruptError.
func safeView(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corruptf("reading the file: %v", p)
		}
	}()
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
	db, err := bbolt.Open(tmp, 0o600, boltOptions(timeout, false, nil))
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
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, st, err
	}
	db, err = bbolt.Open(path, 0o600, boltOptions(timeout, false, file))
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
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return to, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
