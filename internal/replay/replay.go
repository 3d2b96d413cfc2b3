package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"sentinel/internal/atomicfile"
)

// File is the memory's file name in the data directory.
const File = "replay.log"

// Defaults of Options.
const (
	DefaultMaxEntries = 1 << 16
	DefaultMaxWindow  = 24 * time.Hour
	// maxFile bounds what Open reads: far more than MaxEntries records.
	maxFile = 64 << 20
)

// KeySize is the size of a key: a SHA-256.
const KeySize = 32

// Key identifies one use of a code (see internal/gate).
type Key [KeySize]byte

// The file: a magic header, then records of key, expiry (Unix
// nanoseconds, big-endian) and the CRC-32C of both.
var magic = []byte("SNTLRPL1")

const recordSize = KeySize + 8 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configure a Memory. The zero value is usable.
type Options struct {
	// Now is the terminal's clock at Open, to drop expired entries
	// (time.Now when nil). The zero time means the clock cannot be
	// trusted yet (a terminal that booted at 1970): then every intact
	// entry is kept, and each expires by its own time once the clock is
	// set.
	Now func() time.Time
	// MaxEntries bounds the entries kept (DefaultMaxEntries). When full,
	// the entry closest to expiry makes room.
	MaxEntries int
	// MaxWindow is the longest an entry may be kept (DefaultMaxWindow);
	// entries expiring later are dropped at Open.
	MaxWindow time.Duration
	// NoSync skips the fsync after each record: a power cut may then lose
	// the last admissions. For tests.
	NoSync bool
	// Logger receives damaged files and write errors (discarded when nil).
	Logger *slog.Logger
}

// Memory is the replay memory. It is safe for concurrent use by the lanes.
type Memory struct {
	path   string
	opts   Options
	logger *slog.Logger

	mu      sync.Mutex
	f       *os.File // nil once closed, or when the file could not be written
	used    map[Key]entry
	records int       // records in the file
	now     time.Time // the latest time Reserve was given
}

type entry struct {
	until   int64 // Unix nanoseconds
	durable bool  // written to the file
}

// Open reads the memory at path (a missing file is an empty memory),
// drops damaged, expired and implausible records, and rewrites the file
// with what remains. A damaged file is never an error: the memory is a
// safety net, and a gate must not stay shut because of it. An error means
// the file cannot be written at all.
func Open(path string, opts Options) (*Memory, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxWindow <= 0 {
		opts.MaxWindow = DefaultMaxWindow
	}
	m := &Memory{path: path, opts: opts, logger: opts.Logger, used: make(map[Key]entry)}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	b, err := readFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		m.logger.Warn("replay memory unreadable: starting empty", "path", path, "error", err)
	}
	now := opts.Now()
	st := m.load(b, now)
	if st.damaged > 0 {
		m.logger.Warn("replay memory damaged: dropped the damaged records", "path", path, "damaged", st.damaged, "kept", len(m.used))
	}
	if err := m.rewrite(); err != nil {
		return nil, err
	}
	return m, nil
}

// readFile reads at most maxFile bytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFile))
}

type loadStats struct{ damaged, expired int }

// load parses the file's bytes into m.used, keeping the entries live at
// now and no further ahead than MaxWindow.
func (m *Memory) load(b []byte, now time.Time) loadStats {
	var st loadStats
	if len(b) == 0 {
		return st
	}
	if !bytes.HasPrefix(b, magic) {
		st.damaged++
		return st
	}
	b = b[len(magic):]
	lo, hi := now.UnixNano(), now.Add(m.opts.MaxWindow).UnixNano()
	if now.IsZero() {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	for ; len(b) >= recordSize; b = b[recordSize:] {
		r := b[:recordSize]
		if crc32.Checksum(r[:KeySize+8], castagnoli) != binary.BigEndian.Uint32(r[KeySize+8:]) {
			st.damaged++
			continue
		}
		var k Key
		copy(k[:], r)
		until := int64(binary.BigEndian.Uint64(r[KeySize:]))
		if until <= lo || until > hi {
			st.expired++
			continue
		}
		if e, ok := m.used[k]; !ok || until > e.until {
			m.used[k] = entry{until: until, durable: true}
		}
	}
	if len(b) > 0 {
		st.damaged++ // a torn last record
	}
	for len(m.used) > m.opts.MaxEntries {
		m.evict()
	}
	return st
}

// rewrite writes the durable entries to a new file, atomically, and opens
// it for appending.
func (m *Memory) rewrite() error {
	buf := make([]byte, 0, len(magic)+recordSize*len(m.used))
	buf = append(buf, magic...)
	n := 0
	for k, e := range m.used {
		if e.durable {
			buf = appendRecord(buf, k, e.until)
			n++
		}
	}
	if m.f != nil {
		m.f.Close()
		m.f = nil
	}
	if err := atomicfile.WriteFile(m.path, buf, 0o600); err != nil {
		return fmt.Errorf("replay: write %s: %w", m.path, err)
	}
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("replay: open %s: %w", m.path, err)
	}
	m.f, m.records = f, n
	return nil
}

func appendRecord(dst []byte, k Key, until int64) []byte {
	start := len(dst)
	dst = append(dst, k[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(until))
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// Used reports whether k was admitted and is still remembered at now.
func (m *Memory) Used(k Key, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.used[k]
	return ok && e.until > now.UnixNano()
}

// Reserve marks k used until until, unless it already is at now: then it
// reports false. A reservation is kept in memory only, until Commit writes
// it or Release forgets it.
func (m *Memory) Reserve(k Key, now, until time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.After(m.now) {
		m.now = now
	}
	if e, ok := m.used[k]; ok && e.until > now.UnixNano() {
		return false
	}
	if len(m.used) >= m.opts.MaxEntries {
		m.sweep(now)
		if len(m.used) >= m.opts.MaxEntries {
			m.evict()
		}
	}
	m.used[k] = entry{until: until.UnixNano()}
	return true
}

// Release forgets a reservation whose passage was not recorded, so that
// the person can show the code again.
func (m *Memory) Release(k Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.used[k]; ok && !e.durable {
		delete(m.used, k)
	}
}

// Commit writes a reservation to the file, so that it survives a restart.
// The entry stays in memory whatever the error.
func (m *Memory) Commit(k Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.used[k]
	if !ok || e.durable {
		return nil
	}
	if m.f == nil {
		return errors.New("replay: the memory is closed")
	}
	var buf [recordSize]byte
	if _, err := m.f.Write(appendRecord(buf[:0], k, e.until)); err != nil {
		return fmt.Errorf("replay: append to %s: %w", m.path, err)
	}
	if !m.opts.NoSync {
		if err := m.f.Sync(); err != nil {
			return fmt.Errorf("replay: sync %s: %w", m.path, err)
		}
	}
	e.durable = true
	m.used[k] = e
	m.records++
	if m.records > 2*len(m.used)+1024 {
		m.sweep(m.now)
		if err := m.rewrite(); err != nil {
			return err
		}
	}
	return nil
}

// sweep forgets the entries expired at now; the caller holds m.mu.
func (m *Memory) sweep(now time.Time) {
	t := now.UnixNano()
	for k, e := range m.used {
		if e.until <= t {
			delete(m.used, k)
		}
	}
}

// evict forgets the entry closest to expiry; the caller holds m.mu.
func (m *Memory) evict() {
	var victim Key
	first := true
	var until int64
	for k, e := range m.used {
		if first || e.until < until {
			victim, until, first = k, e.until, false
		}
	}
	if !first {
		delete(m.used, victim)
	}
}

// Len returns the number of entries remembered, expired or not.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.used)
}

// Close closes the file. Entries reserved but not committed are lost.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}
