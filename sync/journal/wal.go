package journal

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"sentinel/internal/atomicfile"
)

// The write-ahead logs beside the bbolt file (see the package doc, "Durability").
const (
	walSuffix   = ".wal"  // the first log (the only one of journals written before there were two)
	wal2Suffix  = ".wal2" // the second log
	walMagic    = "SNTLWAL1"
	walHeader   = 64 // magic 8, epoch 16, salt 8, crc 4, zeros
	walFrameHdr = 9  // length 4, kind 1, crc 4

	frameRecord byte = 1
	frameKey    byte = 2
)

// walSuffixes are the suffixes of the journal's two logs, in the order
// Open and moveLogAside take them.
var walSuffixes = [...]string{walSuffix, wal2Suffix}

// Checkpoint, switch and preallocation thresholds (variables for the tests).
var (
	walCheckpointBytes = 512 << 10              // bytes of records in the logs, not yet in bbolt, that start a checkpoint
	walSwitchBytes     = 1 << 20                // bytes in the active log past which appends move to the other log
	walMaxBytes        = 8 << 20                // bytes in the active log at which appends wait for a checkpoint
	walPrealloc        = 2 << 20                // written zeros kept ahead in each log file
	walIdle            = 250 * time.Millisecond // a quiet committer checkpoints after this
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fdatasync syncs the log's appends (a variable for the tests).
var fdatasync = unix.Fdatasync

// walPaths returns the paths of the journal's two logs, beside the
// journal file.
func walPaths(path string) []string { return []string{path + walSuffix, path + wal2Suffix} }

// walFrame is one frame of the log: a record's stored bytes or a data
// key entry's stored bytes.
type walFrame struct {
	kind byte
	data []byte
}

// walContents is what parseWAL found in a log's bytes.
type walContents struct {
	name   string // the log's file name, for messages
	epoch  Epoch
	salt   [8]byte
	frames []walFrame
	end    int // offset past the last whole frame
	// after are the whole frames (checking under the salt) that lie
	// past end: a torn last append leaves none that hold a record the
	// journal lacks, damage inside the log does (see walTail).
	after []walFrame
	// cut is set when the bytes end inside the frame at end: the file
	// was cut short. Its zeros are written ahead of every append, so an
	// append never runs past the end of the file.
	cut bool
}

// errWALHeader is a log whose header does not check.
var errWALHeader = errors.New("journal log header is damaged")

// errWALNotFile is a log's name taken by something that is not a file
// (a directory, a device): what the log held is not there.
var errWALNotFile = errors.New("is not a file: the journal's log is not there")

// parseWAL parses a log file's bytes: the header, then frames until the
// first that is not whole (length zero or out of bounds, unknown kind, or
// a checksum that fails under the header's salt). Bytes past that are a
// torn last append or frames of an earlier generation, and are cut; the
// whole frames among them that check under the salt are kept aside
// (after), since damage inside the log (a flipped byte, a zeroed page)
// also ends the frames, and leaves whole ones behind it.
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
	c.cut = cutShort(b[off:])
	// The rest of a log is mostly zeros written ahead and the frames of
	// earlier generations: zeros are skipped a word at a time (a frame's
	// length is not zero), and most other places fail at once on their
	// length or kind.
	for i := off + 1; i+walFrameHdr < len(b); {
		if j := i; binary.LittleEndian.Uint64(b[j:]) == 0 {
			for j+8 <= len(b) && binary.LittleEndian.Uint64(b[j:]) == 0 {
				j += 8
			}
			i = max(i+1, j-3)
			continue
		}
		if n, k := binary.LittleEndian.Uint32(b[i:]), b[i+4]; n == 0 || n > MaxRecordSize || k != frameRecord && k != frameKey {
			i++
			continue
		}
		if f, n := parseFrame(b[i:], c.salt); n > 0 {
			c.after = append(c.after, f)
			i += n
			continue
		}
		i++
	}
	return c, nil
}

// cutShort reports whether rest, the bytes of a log past its last whole
// frame, end inside a frame: not zeros, and too short for the frame that
// its first bytes announce (or for a frame's header).
func cutShort(rest []byte) bool {
	if len(rest) >= walFrameHdr+MaxRecordSize || !slices.ContainsFunc(rest, func(c byte) bool { return c != 0 }) {
		return false
	}
	if len(rest) < walFrameHdr {
		return true
	}
	n, ok := frameLen(rest)
	kind := rest[4]
	return ok && (kind == frameRecord || kind == frameKey) && len(rest)-walFrameHdr < n
}

// frameLen returns the data length a frame's header announces, and false
// when it is 0 or over MaxRecordSize. The length is checked before it
// becomes an int: on a 32-bit terminal (ARM v7) a damaged length of 2³¹
// or more would turn negative and pass the bound.
func frameLen(b []byte) (int, bool) {
	u := binary.LittleEndian.Uint32(b)
	if u == 0 || u > MaxRecordSize {
		return 0, false
	}
	return int(u), true
}

// parseFrame returns the frame at the start of b and its size, or size 0.
func parseFrame(b []byte, salt [8]byte) (walFrame, int) {
	if len(b) < walFrameHdr {
		return walFrame{}, 0
	}
	n, ok := frameLen(b)
	kind := b[4]
	if !ok || len(b)-walFrameHdr < n || (kind != frameRecord && kind != frameKey) {
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

// wal is an open log; only the committer uses it.
type wal struct {
	f     *os.File
	path  string
	epoch Epoch
	salt  [8]byte
	off   int64 // where the next frame goes
	size  int64 // bytes of the file written (zeros ahead included)
	last  Seq   // the last record appended in this generation (0: none)
	recs  int   // records appended in this generation
	// torn is the end of the furthest append of this generation that
	// failed (0: none). Its frames check under the salt; the next append
	// writes zeros over what it does not cover itself, or replay would
	// read them as records that follow it.
	torn int64
}

// startWALs opens the two logs of the journal at path for epoch,
// creating them with their zeros written ahead, and starts a new
// generation in each: whatever the files held must be in bbolt already.
// The first is the one appended to.
func startWALs(path string, epoch Epoch) (*wal, *wal, error) {
	var (
		ws      [2]*wal
		created bool
	)
	for i, p := range walPaths(path) {
		w, c, err := startWAL(p, epoch)
		if err != nil {
			if ws[0] != nil {
				ws[0].close()
			}
			return nil, nil, err
		}
		ws[i], created = w, created || c
	}
	if created {
		if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
			ws[0].close()
			ws[1].close()
			return nil, nil, fmt.Errorf("create journal logs: %w", err)
		}
	}
	return ws[0], ws[1], nil
}

// startWAL opens the log for epoch at path, creating it (created), and
// starts a new generation in it.
//
// A new log is made whole under a temporary name (its zeros written
// ahead, its header, synced) and then renamed into place, as the journal
// file is (createDB): a log under its own name always has a header. Made
// in place, a creation cut short (a full disk, a kill) left a log without
// one, and the next Open took the journal for damaged and moved it aside.
func startWAL(path string, epoch Epoch) (w *wal, created bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	created = errors.Is(err, fs.ErrNotExist)
	name := path
	if created {
		name = path + ".new"
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create journal log: %w", err)
	}
	w = &wal{f: f, path: path, epoch: epoch}
	err = w.grow(int64(walPrealloc))
	if err == nil {
		err = w.reset()
	}
	if err == nil {
		err = unix.Fdatasync(int(f.Fd()))
	}
	if err == nil && created {
		err = os.Rename(name, path)
	}
	if err != nil {
		f.Close()
		if created {
			os.Remove(name)
		}
		return nil, false, fmt.Errorf("create journal log %s: %w", path, err)
	}
	return w, created, nil
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

// writeZeros writes n zero bytes to f at off (a variable for the tests).
var writeZeros = writeZerosFile

func writeZerosFile(f *os.File, off, n int64) error {
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
//
// When the header cannot be written the log keeps its salt, and the next
// append goes on behind its frames.
func (w *wal) reset() error {
	var salt [8]byte
	rand.Read(salt[:])
	if _, err := w.f.WriteAt(walHeaderBytes(w.epoch, salt), 0); err != nil {
		return err
	}
	w.salt = salt
	w.off = walHeader
	w.torn = 0
	w.last, w.recs = 0, 0
	return nil
}

// append writes buf (whole frames, the last record's seq last, recs
// records) at the end of the log and syncs it: one write and one
// fdatasync. When it fails, the frames it may have
// written stay in the file under the current salt, and the next append
// starts at the same offset: that one also overwrites with zeros what is
// left of them past its own frames (see torn).
func (w *wal) append(buf []byte, last Seq, recs int) error {
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
	if recs > 0 {
		w.last, w.recs = last, w.recs+recs
	}
	return nil
}

func (w *wal) close() error { return w.f.Close() }

// readWAL reads and parses the whole log at path; a missing log is nil.
func readWAL(path string) (*walContents, error) {
	b, err := readLogBytes(path, true)
	if b == nil || err != nil {
		return nil, err
	}
	c, err := parseWAL(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	c.name = filepath.Base(path)
	// Every log is made with its zeros written ahead and never shrinks:
	// a shorter one was cut short, even at the end of a frame.
	c.cut = c.cut || len(b) < walPrealloc
	return &c, nil
}

// readLogBytes reads the log at path, a missing log as nil. Unless whole,
// it reads up to a frame's size past the log's last whole frame and
// stops there, not at the end of the zeros written ahead: while
// sentineld appends, a short read is a short window for its appends to
// move to the other log (see readLogsLive). Open reads the whole file, so
// that it finds whole records behind damage however far past it they are.
func readLogBytes(path string, whole bool) ([]byte, error) {
	if logReadHook != nil {
		defer logReadHook(path)
	}
	// Not blocking: a named pipe in the log's place would wait for a
	// writer.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal log: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("read journal log: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s (a %s) %w", filepath.Base(path), fileKind(st.Mode()), errWALNotFile)
	}
	b := make([]byte, 0, logReadChunk)
	for {
		n, err := f.ReadAt(b[len(b):cap(b)], int64(len(b)))
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read journal log %s: %w", path, err)
		}
		// What ends the log's frames lies inside what was read.
		if !whole {
			if c, err := parseWAL(b); err != nil || c.end+walFrameHdr+MaxRecordSize <= len(b) {
				return b, nil
			}
		}
		b = slices.Grow(b, cap(b))
	}
}

// fileKind names what a file that is not a regular one is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// logReadChunk is readLogBytes' first read.
const logReadChunk = 64 << 10

// readLogs reads and parses the two logs of the journal at path, oldest
// first; missing logs are left out. Only one log is appended to at a
// time, and a log is started anew only once bbolt holds everything in
// it, so the log whose first record has the lower seq is the older (a
// log without records, or with only what bbolt holds, is skipped by
// walTail wherever it comes).
func readLogs(path string) ([]*walContents, error) {
	var cs []*walContents
	for _, p := range walPaths(path) {
		c, err := readWAL(p)
		if err != nil {
			return nil, err
		}
		if c != nil {
			cs = append(cs, c)
		}
	}
	sortLogs(cs)
	return cs, nil
}

// readLogsLive is readLogs for a journal that another process may be
// appending to (Reader). The two files are not read at one instant: were
// the appends to move from the log read first to the other between the
// two reads, the records appended to the first after it was read would
// be missing between the two. So a log is read again after the other,
// and the reads are consistent when that log did not start a new
// generation meanwhile (its header, with its random salt, is the same):
// then the appends did not move to it, and whatever moved away from it
// is in its second read. Else the other log is read again, in turn,
// until one holds still.
func readLogsLive(path string) ([]*walContents, error) {
	ps := walPaths(path)
	var b [2][]byte
	for i, p := range ps {
		var err error
		if b[i], err = readLogBytes(p, false); err != nil {
			return nil, err
		}
	}
	stable := false
	for try, i := 0, 0; try < liveLogTries && !stable; try, i = try+1, 1-i {
		nb, err := readLogBytes(ps[i], false)
		if err != nil {
			return nil, err
		}
		stable = (nb == nil) == (b[i] == nil) && bytes.Equal(nb[:min(len(nb), walHeader)], b[i][:min(len(b[i]), walHeader)])
		b[i] = nb
	}
	if !stable {
		return nil, fmt.Errorf("the journal's logs kept starting anew while they were read (%d reads): try again", liveLogTries+2)
	}
	var cs []*walContents
	for i, bb := range b {
		if bb == nil {
			continue
		}
		c, err := parseWAL(bb)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(ps[i]), err)
		}
		c.name = filepath.Base(ps[i])
		cs = append(cs, &c)
	}
	sortLogs(cs)
	return cs, nil
}

// liveLogTries bounds the reads again of readLogsLive.
const liveLogTries = 16

// logReadHook, when set, runs after each read of a log (for the tests).
var logReadHook func(path string)

// sortLogs sorts logs by the seq of their first record, logs without
// records first.
func sortLogs(cs []*walContents) {
	slices.SortStableFunc(cs, func(a, b *walContents) int { return cmp.Compare(firstSeq(a), firstSeq(b)) })
}

// firstSeq returns the seq of c's first record, 0 when it has none or
// that record does not decode (walTail then reports it).
func firstSeq(c *walContents) Seq {
	for _, f := range c.frames {
		if f.kind == frameRecord {
			if r, err := DecodeRecord(f.data); err == nil {
				return r.Seq
			}
			return 0
		}
	}
	return 0
}

// pendingRec is a record in the log that bbolt does not hold yet.
type pendingRec struct {
	seq    Seq
	stored []byte
}

// walTail returns the records of the logs cs (oldest first) that
// continue a chain ending at (last, head) of epoch, and their data key
// entries. Records at or before last are in bbolt already and skipped.
// The first record past last that does not continue the chain ends the
// tail with an error.
func walTail(cs []*walContents, epoch Epoch, last Seq, head Hash) ([]pendingRec, [][]byte, error) {
	var (
		recs []pendingRec
		keys [][]byte
		cut  string // a log cut short
	)
	for _, c := range cs {
		if c.epoch != epoch {
			if len(c.frames) == 0 {
				// It holds nothing: a release that reads only the first
				// log started a new epoch beside it.
				continue
			}
			return recs, keys, fmt.Errorf("journal log of epoch %s beside a journal of epoch %s", c.epoch, epoch)
		}
		if c.cut && cut == "" {
			cut = c.name
		}
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
	}
	// A torn last append leaves behind its cut only frames of its own,
	// never acknowledged, or of earlier generations, whose records bbolt
	// holds. A whole record of the epoch past the cut that the journal
	// would not hold means damage inside the log: cutting there would
	// lose the acknowledged passages behind it, and the next appends
	// would take their seqs again.
	for _, c := range cs {
		for _, f := range c.after {
			if f.kind != frameRecord {
				continue
			}
			if r, err := DecodeRecord(f.data); err == nil && r.Epoch == epoch && r.Seq > last {
				return recs, keys, fmt.Errorf("journal log %s is damaged after record %d: record %d and others behind the damage are whole", c.name, last, r.Seq)
			}
		}
	}
	if cut != "" {
		// What was cut off may be acknowledged passages, and the next
		// appends would take their seqs again.
		return recs, keys, fmt.Errorf("journal log %s was cut short after record %d, inside the frame that followed: the passages written there are lost", cut, last)
	}
	return recs, keys, nil
}

// moveLogAside renames the logs of the journal at path to
// path.corrupt-TIME.wal and .wal2, where SalvageMovedAside finds them,
// and returns path.corrupt-TIME.
func moveLogAside(path string, now time.Time) (string, error) {
	base := path + movedInfix + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 1; ; i++ {
		free := true
		for _, sfx := range walSuffixes {
			if _, err := os.Lstat(to + sfx); !errors.Is(err, fs.ErrNotExist) {
				free = false
			}
		}
		if free {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	for _, sfx := range walSuffixes {
		if err := os.Rename(path+sfx, to+sfx); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("move the journal's log aside: %w", err)
		}
	}
	return to, atomicfile.SyncDir(filepath.Dir(path))
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
