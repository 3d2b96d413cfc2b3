package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// VerifyResult is what Verify found.
type VerifyResult struct {
	Epoch       Epoch     `json:"epoch"`
	Created     time.Time `json:"created"`
	Records     int       `json:"records"`
	First       Seq       `json:"first"` // 0 when empty
	Last        Seq       `json:"last"`  // the last record, or Anchor when empty
	Head        Hash      `json:"head"`  // hash of Last
	Acked       Seq       `json:"acked"`
	Anchor      Seq       `json:"anchor"` // last purged record
	AnchorHash  Hash      `json:"anchor_hash"`
	Predecessor string    `json:"predecessor,omitempty"` // file moved aside when this one was made
	Reason      string    `json:"predecessor_reason,omitempty"`
	Break       *Break    `json:"break,omitempty"` // nil when the chain holds
	// Branch is where the centre keeps the records from a fork on (the
	// journal is a restored or cloned copy); nil when it never forked.
	Branch *Branch `json:"branch,omitempty"`
}

// Break is the first place the chain does not hold.
type Break struct {
	Seq    Seq    `json:"seq"`
	Reason string `json:"reason"`
}

// verifyTx checks the meta bucket and the chain of every record. It
// returns an error for a file without the journal's buckets or meta data,
// and a result with Break set at the first record that breaks the chain.
func verifyTx(tx *bbolt.Tx) (VerifyResult, error) {
	var res VerifyResult
	meta, recs := tx.Bucket(bucketMeta), tx.Bucket(bucketRecords)
	if meta == nil || recs == nil || tx.Bucket(bucketKeys) == nil {
		return res, errors.New("not a journal: buckets missing")
	}
	if v := meta.Get(metaFormat); len(v) != 1 || v[0] != fileFormat {
		return res, fmt.Errorf("journal file format %x, this build reads %d", v, fileFormat)
	}
	if v := meta.Get(metaEpoch); len(v) == len(res.Epoch) {
		copy(res.Epoch[:], v)
	} else {
		return res, errors.New("meta epoch missing")
	}
	created, err := getU64(meta, metaCreated)
	if err != nil {
		return res, err
	}
	res.Created = time.UnixMilli(int64(created)).UTC()
	ack, err := getU64(meta, metaAck)
	if err != nil {
		return res, err
	}
	anchor, err := getU64(meta, metaAnchorSeq)
	if err != nil {
		return res, err
	}
	res.Acked, res.Anchor = Seq(ack), Seq(anchor)
	if v := meta.Get(metaAnchorHash); len(v) == len(res.AnchorHash) {
		copy(res.AnchorHash[:], v)
	} else {
		return res, errors.New("meta anchor hash missing")
	}
	if res.Anchor == 0 && res.AnchorHash != Genesis(res.Epoch) {
		return res, errors.New("meta anchor hash is not the epoch's genesis")
	}
	res.Predecessor = string(meta.Get(metaPredecessor))
	res.Reason = string(meta.Get(metaPredReason))
	if b, err := decodeBranch(meta.Get(metaBranch)); err != nil {
		return res, err
	} else if b != (Branch{}) {
		res.Branch = &b
	}

	res.Last, res.Head = res.Anchor, res.AnchorHash
	broke := func(s Seq, format string, args ...any) (VerifyResult, error) {
		res.Break = &Break{Seq: s, Reason: fmt.Sprintf(format, args...)}
		return res, nil
	}
	c := recs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		want := res.Last + 1
		if len(k) != 8 {
			return broke(want, "key of %d bytes", len(k))
		}
		s := Seq(binary.BigEndian.Uint64(k))
		if s != want {
			return broke(want, "record %d missing (next stored is %d)", want, s)
		}
		r, err := DecodeRecord(v)
		if err != nil {
			return broke(s, "%v", err)
		}
		switch {
		case r.Seq != s:
			return broke(s, "record says it is %d", r.Seq)
		case r.Epoch != res.Epoch:
			return broke(s, "record of epoch %s in journal of epoch %s", r.Epoch, res.Epoch)
		case r.Prev != res.Head:
			return broke(s, "previous hash %s, want %s", r.Prev, res.Head)
		}
		if res.First == 0 {
			res.First = s
		}
		res.Records++
		res.Last, res.Head = s, Chain(res.Head, v)
	}
	if res.Acked > res.Last {
		return broke(res.Last+1, "acknowledged up to %d, beyond the last record %d", res.Acked, res.Last)
	}
	return res, nil
}

// rangeDB calls fn with the stored bytes of every record from..to
// (inclusive; to 0 means to the end), in order, reading in short read
// transactions so that commits are not held up. fn gets its own copy.
func rangeDB(db *bbolt.DB, from, to Seq, fn func(Seq, []byte) error) error {
	const chunk = 256
	type item struct {
		seq Seq
		b   []byte
	}
	next := from
	for {
		var items []item
		err := safeView(db, func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketRecords).Cursor()
			for k, v := c.Seek(seqKey(next)); k != nil && len(items) < chunk; k, v = c.Next() {
				s := Seq(binary.BigEndian.Uint64(k))
				if to != 0 && s > to {
					break
				}
				items = append(items, item{s, bytes.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it.seq, it.b); err != nil {
				return err
			}
		}
		if len(items) < chunk {
			return nil
		}
		next = items[len(items)-1].seq + 1
	}
}

// tailDB returns the last n records' stored bytes up to to (0: the
// last), oldest first.
func tailDB(db *bbolt.DB, n int, to Seq) ([][]byte, []Seq, error) {
	var out [][]byte
	var seqs []Seq
	err := safeView(db, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		var k, v []byte
		switch {
		case to == 0:
			k, v = c.Last()
		default:
			if k, _ = c.Seek(seqKey(to + 1)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && len(out) < n; k, v = c.Prev() {
			out = append(out, bytes.Clone(v))
			seqs = append(seqs, Seq(binary.BigEndian.Uint64(k)))
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
		seqs[i], seqs[j] = seqs[j], seqs[i]
	}
	return out, seqs, err
}

// keysDB returns every stored data key entry.
func keysDB(db *bbolt.DB) ([][]byte, error) {
	var out [][]byte
	err := safeView(db, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			out = append(out, bytes.Clone(v))
			return nil
		})
	})
	return out, err
}

// Reader reads a journal file without writing it: sentinelctl uses it.
type Reader struct {
	db       *bbolt.DB
	snapshot string // temporary copy, removed by Close
	// The log's records past bbolt's and its data keys, read before
	// bbolt; logErr is the log's damage, if any.
	recs   []pendingRec
	keys   [][]byte
	logErr error
}

// OpenReader opens the journal at path read-only. When another process
// (sentineld) holds the file, it waits up to timeout and then reads a
// snapshot: a copy of the file taken in a temporary directory, which
// Snapshot reports. A copy taken while sentineld commits may show a torn
// last transaction; Verify then says so, and a second try reads a clean
// copy.
func OpenReader(path string, timeout time.Duration) (*Reader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	// The logs first: a checkpoint between the two reads moves records
	// into bbolt, where the second read finds them.
	wc, werr := readLogsLive(path)
	if werr != nil && !errors.Is(werr, errWALHeader) && !errors.Is(werr, errWALNotFile) {
		// Not damage that sentineld moves aside (a log it cannot read,
		// logs that kept starting anew): an error, not a break.
		return nil, fmt.Errorf("open journal %s: %w", path, werr)
	}
	db, err := openBolt(path, boltOptions(timeout, true, true, nil))
	if err == nil {
		r := &Reader{db: db}
		r.readLog(wc, werr)
		return r, nil
	}
	if !errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "sentinel-journal-")
	if err != nil {
		return nil, err
	}
	snap := filepath.Join(dir, filepath.Base(path))
	// A copy taken amid a commit can be torn past what the check
	// accepts (a meta page newer than the pages copied before it): copy
	// again before calling the file damaged.
	for try := 1; ; try++ {
		os.Remove(snap)
		if err := copyFile(snap, path); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot journal: %w", err)
		}
		db, err = openBolt(snap, boltOptions(timeout, true, true, nil))
		if err == nil {
			r := &Reader{db: db, snapshot: dir}
			r.readLog(wc, werr)
			return r, nil
		}
		if !errors.Is(err, ErrCorrupt) || try == snapshotTries {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("open journal %s (a copy taken while sentineld holds it, %d tries): %w", path, try, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// snapshotTries bounds the copies OpenReader takes of a journal that
// sentineld holds.
const snapshotTries = 3

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// readLog keeps the logs' records that continue bbolt's chain.
func (r *Reader) readLog(cs []*walContents, err error) {
	if err != nil {
		r.logErr = err
		return
	}
	if len(cs) == 0 {
		return
	}
	serr := safeView(r.db, func(tx *bbolt.Tx) error {
		res, err := verifyTx(tx)
		if err != nil || res.Break != nil {
			return nil // Verify reports it
		}
		r.recs, r.keys, r.logErr = walTail(cs, res.Epoch, res.Last, res.Head)
		return nil
	})
	if serr != nil {
		r.logErr = serr
	}
}

// LogDamage returns the damage found in the journal's logs, nil when
// none: Range and Tail then end at the last record before it (Verify
// reports it as the chain's break).
func (r *Reader) LogDamage() error { return r.logErr }

// Snapshot reports whether the reader reads a copy because another
// process held the journal.
func (r *Reader) Snapshot() bool { return r.snapshot != "" }

// Verify checks the whole hash chain; see Journal.Verify.
func (r *Reader) Verify() (VerifyResult, error) {
	var res VerifyResult
	err := safeView(r.db, func(tx *bbolt.Tx) error {
		var err error
		res, err = verifyTx(tx)
		return err
	})
	if err == nil {
		verifyLog(&res, r.recs, r.logErr)
	}
	return res, err
}

// Range calls fn with every record from..to; see Journal.Range.
func (r *Reader) Range(from, to Seq, fn func(Seq, []byte) error) error {
	return rangeLog(r.db, r.recs, from, to, fn)
}

// Tail returns the last n records' stored bytes and sequence numbers,
// oldest first.
func (r *Reader) Tail(n int) ([][]byte, []Seq, error) { return tailLog(r.db, r.recs, n) }

// Keys returns every stored data key entry (see WrappedKey).
func (r *Reader) Keys() ([][]byte, error) { return keysLog(r.db, r.keys) }

// Close closes the file and removes a snapshot.
func (r *Reader) Close() error {
	err := r.db.Close()
	if r.snapshot != "" {
		os.RemoveAll(r.snapshot)
	}
	return err
}

// UsedSize returns the bytes of the file that hold pages in use; the rest
// is slack the journal writes ahead (see Journal.addSlack).
func (r *Reader) UsedSize() (int64, error) {
	var n int64
	err := safeView(r.db, func(tx *bbolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}
