package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"sentinel/internal/atomicfile"
)

// The write-ahead log beside the bbolt file (see the package doc, "Durability").
const (
	walSuffix   = ".wal"
	walMagic    = "SNTLWAL1"
	walHeader   = 64 // magic 8, epoch 16, salt 8, crc 4, zeros
	walFrameHdr = 9  // length 4, kind 1, crc 4

	frameRecord byte = 1
	frameKey    byte = 2
)

// Checkpoint and preallocation thresholds (variables for the tests).
var (
	walCheckpointBytes = 1 << 20                // bytes of records in the log, not yet in bbolt, that start a checkpoint
	walMaxBytes        = 8 << 20                // bytes in the log at which appends wait for a checkpoint
	walPrealloc        = 2 << 20                // written zeros kept ahead in the log file
	walIdle            = 250 * time.Millisecond // a quiet committer checkpoints after this
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fdatasync syncs the log's appends (a variable for the tests).
var fdatasync = unix.Fdatasync

// walPath returns the log's path beside the journal file.
func walPath(path string) string { return path + walSuffix }

// walFrame is one frame of the log: a record's stored bytes or a data
// key entry's stored bytes.
type walFrame struct {
	kind byte
	data []byte
}

// walContents is what parseWAL found in a log's bytes.
type walContents struct {
	epoch  Epoch
	salt   [8]byte
	frames []walFrame
	end    int // offset past the last whole frame
}

// errWALHeader is a log whose header does not check.
var errWALHeader = errors.New("journal log header is damaged")

// parseWAL parses a log file's bytes: the header, then frames until the
// first that is not whole (length zero or out of bounds, unknown kind, or
// a checksum that fails under the header's salt). Bytes past that are a
// torn last append or frames of an earlier generation, and are cut.
func parseWAL(b []byte) (walContents, error) {
	var c walContents
	if len(b) < walHeader || string(b[:8]) != walMagic {
		return c, fmt.Errorf("%w: no header", errWALHeader)
	}
	if crc32.Checksum(b[:32], castagnoli) != binary.LittleEndian.Uint32(b[32:]) {
		return c, fmt.Errorf("%w: header checksum", errWALHeader)
	}
	copy(c.epoch[:], b[8:24])
	copy(c.salt[:], b[24:32])
	off := walHeader
	for {
		f, n := parseFrame(b[off:], c.salt)
		if n == 0 {
			break
		}
		c.frames = append(c.frames, f)
		off += n
	}
	c.end = off
	return c, nil
}

// parseFrame returns the frame at the start of b and its size, or size 0.
func parseFrame(b []byte, salt [8]byte) (walFrame, int) {
	if len(b) < walFrameHdr {
		return walFrame{}, 0
	}
	n := int(binary.LittleEndian.Uint32(b))
	kind := b[4]
	if n == 0 || n > MaxRecordSize || len(b)-walFrameHdr < n || (kind != frameRecord && kind != frameKey) {
		return walFrame{}, 0
	}
	if frameCRC(salt, b[:5], b[walFrameHdr:walFrameHdr+n]) != binary.LittleEndian.Uint32(b[5:]) {
		return walFrame{}, 0
	}
	return walFrame{kind: kind, data: b[walFrameHdr : walFrameHdr+n : walFrameHdr+n]}, walFrameHdr + n
}

func frameCRC(salt [8]byte, head, data []byte) uint32 {
	h := crc32.Update(0, castagnoli, salt[:])
	h = crc32.Update(h, castagnoli, head)
	return crc32.Update(h, castagnoli, data)
}

// appendFrame appends a frame to buf.
func appendFrame(buf []byte, salt [8]byte, kind byte, data []byte) []byte {
	var head [5]byte
	binary.LittleEndian.PutUint32(head[:], uint32(len(data)))
	head[4] = kind
	buf = append(buf, head[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, frameCRC(salt, head[:], data))
	return append(buf, data...)
}

func walHeaderBytes(epoch Epoch, salt [8]byte) []byte {
	b := make([]byte, walHeader)
	copy(b, walMagic)
	copy(b[8:], epoch[:])
	copy(b[24:], salt[:])
	binary.LittleEndian.PutUint32(b[32:], crc32.Checksum(b[:32], castagnoli))
	return b
}

// wal is the open log; only the committer uses it.
type wal struct {
	f     *os.File
	epoch Epoch
	salt  [8]byte
	off   int64 // where the next frame goes
	size  int64 // bytes of the file written (zeros ahead included)
	// torn is the end of the furthest append of this generation that
	// failed (0: none). Its frames check under the salt; the next append
	// writes zeros over what it does not cover itself, or replay would
	// read them as records that follow it.
	torn int64
}

// startWAL opens the log for epoch at path, creating it, and starts a new
// generation in it: whatever the file held must be in bbolt already. The
// file keeps its zeros written ahead.
func startWAL(path string, epoch Epoch) (*wal, error) {
	_, serr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal log: %w", err)
	}
	w := &wal{f: f, epoch: epoch}
	err = w.grow(int64(walPrealloc))
	if err == nil {
		err = w.reset()
	}
	if err == nil {
		err = unix.Fdatasync(int(f.Fd()))
	}
	if err == nil && serr != nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create journal log %s: %w", path, err)
	}
	return w, nil
}

// grow writes zeros from the file's end until it holds at least n bytes,
// so that appends overwrite written blocks and fdatasync has no metadata
// to commit (an allocating write makes it commit the file system's
// journal too).
func (w *wal) grow(n int64) error {
	if w.size >= n {
		return nil
	}
	st, err := w.f.Stat()
	if err != nil {
		return err
	}
	w.size = st.Size()
	if w.size >= n {
		return nil
	}
	n = max(n, w.size+int64(walPrealloc))
	if err := writeZeros(w.f, w.size, n-w.size); err != nil {
		w.f.Truncate(w.size)
		return err
	}
	w.size = n
	return nil
}

// zeros is written ahead in files, a piece at a time: a buffer of the
// whole size (MiBs) made each time would count towards the next garbage
// collection as much as thousands of passages.
var zeros [64 << 10]byte

// writeZeros writes n zero bytes to f at off.
func writeZeros(f *os.File, off, n int64) error {
	for n > 0 {
		b := zeros[:min(n, int64(len(zeros)))]
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
		n -= int64(len(b))
	}
	return nil
}

// reset starts a new generation: a new salt in the header makes every
// frame already in the file invalid, and appends start after the header.
// It needs no sync of its own: the next append's fdatasync carries the
// header with it, and until then a crash leaves the old header, whose
// frames are all in bbolt already.
func (w *wal) reset() error {
	rand.Read(w.salt[:])
	if _, err := w.f.WriteAt(walHeaderBytes(w.epoch, w.salt), 0); err != nil {
		return err
	}
	w.off = walHeader
	w.torn = 0
	return nil
}

// append writes buf (whole frames) at the end of the log and syncs it:
// one write and one fdatasync. When it fails, the frames it may have
// written stay in the file under the current salt, and the next append
// starts at the same offset: that one also overwrites with zeros what is
// left of them past its own frames (see torn).
func (w *wal) append(buf []byte) error {
	n := int64(len(buf))
	if end := w.off + n; w.torn > end {
		buf = append(buf, make([]byte, w.torn-end)...)
	}
	err := w.grow(w.off + int64(len(buf)))
	if err != nil {
		err = fmt.Errorf("grow journal log: %w", err)
	} else if _, err = w.f.WriteAt(buf, w.off); err != nil {
		err = fmt.Errorf("write journal log: %w", err)
	} else if err = fdatasync(int(w.f.Fd())); err != nil {
		err = fmt.Errorf("sync journal log: %w", err)
	}
	if err != nil {
		w.torn = max(w.torn, w.off+int64(len(buf)))
		return err
	}
	w.off += n
	w.torn = 0
	return nil
}

func (w *wal) close() error { return w.f.Close() }

// readWAL reads and parses the log at path; a missing log is nil.
func readWAL(path string) (*walContents, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal log: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read journal log %s: %w", path, err)
	}
	c, err := parseWAL(b)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// pendingRec is a record in the log that bbolt does not hold yet.
type pendingRec struct {
	seq    Seq
	stored []byte
}

// walTail returns the log's records that continue a chain ending at
// (last, head) of epoch, and its data key entries. Records at or before
// last are in bbolt already and skipped. The first record past last that
// does not continue the chain ends the tail with an error.
func walTail(c *walContents, epoch Epoch, last Seq, head Hash) ([]pendingRec, [][]byte, error) {
	if c == nil {
		return nil, nil, nil
	}
	if c.epoch != epoch {
		return nil, nil, fmt.Errorf("journal log of epoch %s beside a journal of epoch %s", c.epoch, epoch)
	}
	var (
		recs []pendingRec
		keys [][]byte
	)
	for _, f := range c.frames {
		if f.kind == frameKey {
			k, err := DecodeWrappedKey(f.data)
			if err != nil {
				return recs, keys, fmt.Errorf("journal log: %w", err)
			}
			if k.Epoch != epoch {
				return recs, keys, fmt.Errorf("journal log: data key of epoch %s", k.Epoch)
			}
			keys = append(keys, f.data)
			continue
		}
		r, err := DecodeRecord(f.data)
		if err != nil {
			return recs, keys, fmt.Errorf("journal log: %w", err)
		}
		if r.Seq <= last {
			continue
		}
		switch {
		case r.Epoch != epoch:
			return recs, keys, fmt.Errorf("journal log: record %d of epoch %s", r.Seq, r.Epoch)
		case r.Seq != last+1:
			return recs, keys, fmt.Errorf("journal log: record %d follows %d", r.Seq, last)
		case r.Prev != head:
			return recs, keys, fmt.Errorf("journal log: record %d does not chain on from %d", r.Seq, last)
		}
		recs = append(recs, pendingRec{r.Seq, f.data})
		last, head = r.Seq, Chain(head, f.data)
	}
	return recs, keys, nil
}

// moveLogAside renames the log of the journal at path to
// path.corrupt-TIME.wal, where SalvageMovedAside finds it, and returns the
// new path.
func moveLogAside(path string, now time.Time) (string, error) {
	base := path + movedInfix + now.UTC().Format("20060102T150405Z")
	to := base + walSuffix
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d%s", base, i, walSuffix)
	}
	if err := os.Rename(walPath(path), to); err != nil {
		return "", fmt.Errorf("move the journal's log aside: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return to, nil
}

// The readers (Journal's and Reader's Range, Tail, Keys and Verify) read
// bbolt and then the log's records that bbolt does not hold: recs is a
// snapshot of them, taken before bbolt is read. A checkpoint meanwhile
// only moves records of recs into bbolt, so bbolt is read up to just
// before recs and recs after that.

// rangeLog is rangeDB followed by the log's records.
func rangeLog(db *bbolt.DB, recs []pendingRec, from, to Seq, fn func(Seq, []byte) error) error {
	if len(recs) == 0 {
		return rangeDB(db, from, to, fn)
	}
	if bto := recs[0].seq - 1; bto > 0 && from <= bto {
		bt := bto
		if to != 0 && to < bt {
			bt = to
		}
		if err := rangeDB(db, from, bt, fn); err != nil {
			return err
		}
	}
	for _, r := range recs {
		if r.seq < from || (to != 0 && r.seq > to) {
			continue
		}
		if err := fn(r.seq, bytes.Clone(r.stored)); err != nil {
			return err
		}
	}
	return nil
}

// tailLog is tailDB with the log's records.
func tailLog(db *bbolt.DB, recs []pendingRec, n int) ([][]byte, []Seq, error) {
	if len(recs) == 0 {
		return tailDB(db, n, 0)
	}
	recs = recs[max(0, len(recs)-n):]
	var (
		out  [][]byte
		seqs []Seq
		err  error
	)
	if k := n - len(recs); k > 0 && recs[0].seq > 1 {
		out, seqs, err = tailDB(db, k, recs[0].seq-1)
		if err != nil {
			return nil, nil, err
		}
	}
	for _, r := range recs {
		out = append(out, bytes.Clone(r.stored))
		seqs = append(seqs, r.seq)
	}
	return out, seqs, nil
}

// keysLog is keysDB with the log's data keys.
func keysLog(db *bbolt.DB, keys [][]byte) ([][]byte, error) {
	out, err := keysDB(db)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(out))
	for _, k := range out {
		have[string(k)] = true
	}
	for _, k := range keys {
		if !have[string(k)] {
			out = append(out, bytes.Clone(k))
		}
	}
	return out, nil
}

// verifyLog continues res (verifyTx's, of bbolt) over the log's records,
// and reports logErr, the log's damage, as the break after them.
func verifyLog(res *VerifyResult, recs []pendingRec, logErr error) {
	if res.Break != nil {
		return
	}
	for _, r := range recs {
		if r.seq <= res.Last {
			continue
		}
		want := res.Last + 1
		rec, err := DecodeRecord(r.stored)
		switch {
		case err != nil:
			res.Break = &Break{Seq: want, Reason: fmt.Sprintf("log: %v", err)}
		case rec.Seq != want || r.seq != want:
			res.Break = &Break{Seq: want, Reason: fmt.Sprintf("log: record %d missing (next is %d)", want, rec.Seq)}
		case rec.Epoch != res.Epoch:
			res.Break = &Break{Seq: want, Reason: fmt.Sprintf("log: record of epoch %s in journal of epoch %s", rec.Epoch, res.Epoch)}
		case rec.Prev != res.Head:
			res.Break = &Break{Seq: want, Reason: fmt.Sprintf("log: previous hash %s, want %s", rec.Prev, res.Head)}
		}
		if res.Break != nil {
			return
		}
		if res.First == 0 {
			res.First = want
		}
		res.Records++
		res.Last, res.Head = want, Chain(res.Head, r.stored)
	}
	if logErr != nil {
		res.Break = &Break{Seq: res.Last + 1, Reason: logErr.Error()}
	}
}
