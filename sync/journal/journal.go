package journal

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// FileName is the journal's file name in the data directory.
const FileName = "journal.db"

// Path returns the journal's path in a data directory.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Defaults of Options.
const (
	DefaultRetention  = 14 * 24 * time.Hour
	DefaultDiskLimit  = 0.80
	DefaultTimeout    = 2 * time.Second
	DefaultMaxBatch   = 256
	DefaultPurgeEvery = time.Hour

	DefaultCheckpointEvery = 512
)

// Options configure a journal. The zero value is usable: a terminal that
// is not enrolled, with the defaults.
type Options struct {
	// CentreKey is the centre's HPKE public key from the trust bundle
	// (trust.HPKEPublicKey.Key). Nil when the terminal is not enrolled:
	// sealed fields are then unrecoverable (see the package doc).
	CentreKey hpke.PublicKey
	// Retention is how long acknowledged records are kept
	// (DefaultRetention when zero).
	Retention time.Duration
	// DiskLimit is the fraction of the file system in use past which
	// acknowledged records are purged early, with an alarm
	// (DefaultDiskLimit when zero).
	DiskLimit float64
	// Timeout bounds the wait for the file lock (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxBatch bounds the passages committed in one transaction
	// (DefaultMaxBatch when zero).
	MaxBatch int
	// CheckpointEvery is how many records the log holds before they are
	// moved into bbolt (DefaultCheckpointEvery when zero; see the package
	// doc, "Durability").
	CheckpointEvery int
	// PurgeEvery is how often the journal runs Purge by itself
	// (DefaultPurgeEvery when zero; negative: never, the owner calls Purge).
	PurgeEvery time.Duration
	// Now is the clock (time.Now when nil): it dates data keys, moved-aside
	// files and purges.
	Now func() time.Time
	// OnAlarm, when set, is called when an alarm is raised. It runs on the
	// journal's goroutines and must not block or call the journal.
	OnAlarm func(Alarm)
}

func (o *Options) setDefaults() {
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.DiskLimit == 0 {
		o.DiskLimit = DefaultDiskLimit
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.PurgeEvery == 0 {
		o.PurgeEvery = DefaultPurgeEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Journal is an open passage journal. Its methods are safe for concurrent
// use.
type Journal struct {
	path string
	opts Options
	db   *bbolt.DB
	file *os.File // bbolt's file, for addSlack

	epoch Epoch

	mu     sync.RWMutex // held for reading by every operation, for writing by Close
	closed bool

	queue chan *request
	stop  chan struct{}
	wg    sync.WaitGroup

	centre atomic.Pointer[centreKey]
	// retention is Options.Retention, changed by SetRetention.
	retention atomic.Int64

	// Owned by the committer goroutine.
	seq   Seq
	last  Hash
	key   *dataKey
	wal   *wal // the log appended to
	spare *wal // the other log, appended to once this one is full and bbolt holds all of that one
	buf   []byte

	// cmu is held by whoever appends to the log or starts a new
	// generation of it: the committer, and flush (a mutex rather than a
	// request to the committer, so that a caller in a synctest bubble
	// can flush a journal opened outside it).
	cmu sync.Mutex

	// ckmu is held by whoever moves the log's records into bbolt: the
	// checkpointer goroutine, and the committer or flush (with cmu, taken
	// first) when they must wait for it. ckptKick wakes the checkpointer.
	ckmu        sync.Mutex
	ckptKick    chan struct{}
	ckptIdle    atomic.Bool // the kick is the idle one: move what the log holds, however little
	ckptFailing atomic.Bool // the last checkpoint failed; cleared when one succeeds

	// Counts, for the tests: switches of the appends to the other log,
	// and appends that waited for a checkpoint because the log was full.
	switches atomic.Int64
	waits    atomic.Int64

	// The log's records and data keys that bbolt does not hold yet, in
	// order, and the records' bytes; the committer appends and the
	// checkpoint empties, readers take the slices under pmu (never
	// changing what they share).
	pmu       sync.RWMutex
	pending   []pendingRec
	pendKeys  []pendingKey
	pendBytes int

	alarmMu sync.Mutex
	alarms  map[AlarmKind]Alarm

	// replaying is set while Open replays the logs, before the
	// goroutines start: a checkpoint that fails then fails Open, so it
	// raises no alarm saying that the gate keeps working.
	replaying bool

	// Test hooks.
	commitHook atomic.Pointer[func(*bbolt.Tx) error]      // runs inside each checkpoint's bbolt commit before it returns
	appendHook func() error                               // runs before each append to the log
	statfs     func(path string, st *unix.Statfs_t) error // disk usage
}

// centreKey is the centre's key with its id, computed once rather than
// at every commit.
type centreKey struct {
	pub hpke.PublicKey
	id  [8]byte
}

func newCentreKey(pub hpke.PublicKey) *centreKey { return &centreKey{pub, CentreKeyID(pub)} }

type pendingKey struct {
	id     DataKeyID
	stored []byte
}

type request struct {
	p    Passage
	seq  Seq
	done chan error
}

// Open opens the journal at path, creating it with a new epoch if it does
// not exist, and starts its committer. A file that bbolt cannot open or
// whose hash chain does not verify is moved aside (renamed to
// path.corrupt-TIMESTAMP, deleted only by PurgeMovedAside once its
// salvage is delivered) and replaced by a new journal with a new epoch;
// the journal then holds an AlarmCorrupt alarm. A file
// locked by another process is an error after opts.Timeout.
func Open(path string, opts Options) (*Journal, error) {
	opts.setDefaults()
	j := &Journal{
		path:     path,
		opts:     opts,
		queue:    make(chan *request, opts.MaxBatch),
		stop:     make(chan struct{}),
		ckptKick: make(chan struct{}, 1),
		alarms:   make(map[AlarmKind]Alarm),
		statfs:   unix.Statfs,
	}
	j.retention.Store(int64(opts.Retention))
	if opts.CentreKey != nil {
		j.centre.Store(newCentreKey(opts.CentreKey))
	}
	now := opts.Now()
	var (
		db  *bbolt.DB
		st  state
		err error
	)
	if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
		// Logs without their journal file continue no chain here: keep
		// them aside for salvage. The file was deleted or moved by hand,
		// or lost with the disk's damage (the logs are made only beside
		// a journal file): whatever it held that the centre does not
		// have is gone, and the alarm says so.
		var moved, reason string
		for _, p := range walPaths(path) {
			if _, lerr := os.Lstat(p); lerr == nil {
				if moved, err = moveLogAside(path, now); err != nil {
					return nil, fmt.Errorf("open journal %s: %w", path, err)
				}
				reason = fmt.Sprintf("the journal file %s was missing beside its logs", filepath.Base(path))
				break
			}
		}
		db, st, err = createDB(path, opts.Timeout, now, moved, reason, &j.file)
		if err == nil && moved != "" {
			j.raise(Alarm{Kind: AlarmCorrupt, At: now, MovedTo: moved,
				Message: fmt.Sprintf("%s: its logs were moved aside to %s and %s and new epoch %s started; the passages in the logs are salvaged for the centre, those only in the missing file are lost unless it is found (sentinelctl journal salvage FILE queues a copy of it)", reason, moved+walSuffix, moved+wal2Suffix, st.epoch)})
		}
	} else {
		db, st, err = openDB(path, opts.Timeout, now, &j.file)
		if err == nil {
			j.db, j.epoch, j.seq, j.last = db, st.epoch, st.seq, st.last
			if h := openCommitHook; h != nil {
				j.commitHook.Store(&h)
			}
			if err = j.replayWAL(); err != nil {
				db.Close()
				j.pending, j.pendKeys, j.pendBytes = nil, nil, 0
				j.ckptFailing.Store(false)
				j.clear(AlarmCommit)
			}
		}
		var ce *corruptError
		if errors.As(err, &ce) {
			moved, merr := moveAside(path, now)
			if merr != nil {
				return nil, fmt.Errorf("open journal %s: %v; %w", path, err, merr)
			}
			// The logs go with it: their records continue that file's
			// chain, and salvage reads them from there.
			for _, sfx := range walSuffixes {
				if merr := os.Rename(path+sfx, moved+sfx); merr != nil && !errors.Is(merr, fs.ErrNotExist) {
					return nil, fmt.Errorf("open journal %s: %v; move its log aside: %w", path, err, merr)
				}
			}
			db, st, err = createDB(path, opts.Timeout, now, moved, err.Error(), &j.file)
			if err == nil {
				j.raise(Alarm{Kind: AlarmCorrupt, At: now, MovedTo: moved,
					Message: fmt.Sprintf("journal could not be used (%v): moved aside to %s, new epoch %s started; keep that file and its logs %s and %s: the passages still readable in them are salvaged for the centre, and the files are deleted by themselves once the centre has them and the retention has passed", ce, moved, st.epoch, moved+walSuffix, moved+wal2Suffix)})
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if j.db != db { // created, not replayed
		j.db, j.epoch, j.seq, j.last = db, st.epoch, st.seq, st.last
	}
	if j.wal, j.spare, err = startWALs(path, j.epoch); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.wg.Add(2)
	go j.commitLoop()
	go j.checkpointLoop()
	if opts.PurgeEvery > 0 {
		j.wg.Add(1)
		go j.purgeLoop()
	}
	return j, nil
}

// Epoch returns the journal's epoch.
func (j *Journal) Epoch() Epoch { return j.epoch }

// SetRetention changes how long acknowledged records (and the journals
// moved aside) are kept, from the next Purge on: the site's settings
// changed. d ≤ 0 means DefaultRetention.
func (j *Journal) SetRetention(d time.Duration) {
	if d <= 0 {
		d = DefaultRetention
	}
	j.retention.Store(int64(d))
}

// Retention returns how long acknowledged records are kept.
func (j *Journal) Retention() time.Duration { return time.Duration(j.retention.Load()) }

// SetCentreKey changes the centre's key (a new trust bundle); the next
// passage is sealed under a new data key wrapped to it. Nil means not
// enrolled.
func (j *Journal) SetCentreKey(pub hpke.PublicKey) {
	if pub == nil {
		j.centre.Store(nil)
		return
	}
	j.centre.Store(newCentreKey(pub))
}

// Append records p and returns its sequence number once it is durable
// (written to the journal's log and synced with fdatasync): only then may
// the gate open. When the commit fails it
// returns an *UnavailableError and the passage is not recorded. When ctx
// ends first, Append returns ctx.Err() and the passage may or may not be
// recorded: the gate must stay shut. Append copies p; the slices and map
// it refers to must not change until Append returns.
func (j *Journal) Append(ctx context.Context, p *Passage) (Seq, error) {
	if err := p.validate(); err != nil {
		return 0, err
	}
	r := requests.Get().(*request)
	r.p = *p
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case j.queue <- r:
	case <-ctx.Done():
		j.mu.RUnlock()
		return 0, ctx.Err()
	}
	j.mu.RUnlock()
	select {
	case err := <-r.done:
		// The committer is done with r once it has answered.
		seq := r.seq
		*r = request{done: r.done}
		requests.Put(r)
		if err != nil {
			return 0, err
		}
		return seq, nil
	case <-ctx.Done():
		return 0, ctx.Err() // r stays the committer's
	}
}

// openCommitHook, when set, is the commit hook of every journal Open
// opens, replay's checkpoint included (for the tests).
var openCommitHook func(*bbolt.Tx) error

// requests are Append's requests for reuse: made for every passage, they
// were garbage collected while lanes waited.
var requests = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

// commitLoop is the committer: it takes everything queued, appends it to
// the log with one write and one fdatasync and wakes every waiter. It
// wakes the checkpointer when the logs hold enough records or bytes that
// bbolt lacks and when it has been quiet for walIdle. It starts a new
// generation of the log once bbolt holds everything in it, and moves the
// appends to the other log when this one is full and bbolt holds all of
// that one (see switchLog). Only when the log has grown to walMaxBytes,
// because the checkpointer could not empty the other log in time (its
// commits fail or take longer than filling a log), does it wait for a
// checkpoint itself.
func (j *Journal) commitLoop() {
	defer j.wg.Done()
	batch := make([]*request, 0, j.opts.MaxBatch)
	idle := time.NewTimer(walIdle)
	idle.Stop()
	defer idle.Stop()
	for {
		select {
		case r := <-j.queue:
			batch = j.fill(append(batch[:0], r))
			j.cmu.Lock()
			j.renewLog()
			j.switchLog()
			j.commit(batch)
			clear(batch)
			if j.wal.off >= int64(walMaxBytes) {
				j.waits.Add(1)
				j.checkpointLocked()
			}
			n, due := j.checkpointDue()
			if due {
				j.kick()
			}
			if n > 0 {
				idle.Reset(walIdle)
			}
			j.cmu.Unlock()
		case <-idle.C:
			j.ckptIdle.Store(true)
			j.kick()
		case <-j.stop:
			j.cmu.Lock()
			defer j.cmu.Unlock()
			for {
				batch = j.fill(batch[:0])
				if len(batch) == 0 {
					j.checkpointLocked()
					return
				}
				j.commit(batch)
			}
		}
	}
}

// kick wakes the checkpointer, unless it has been woken already.
func (j *Journal) kick() {
	select {
	case j.ckptKick <- struct{}{}:
	default:
	}
}

// checkpointDue returns how many records the logs hold that bbolt does
// not, and whether they are enough for a checkpoint: CheckpointEvery
// records or walCheckpointBytes of them. It counts what bbolt lacks, not
// how far the log reaches: under a steady stream of passages some
// passage is always in the log that the last checkpoint did not take,
// and a checkpoint after every append, of the one or two records it
// added, would keep bbolt committing, two fdatasyncs each time, beside
// every append.
func (j *Journal) checkpointDue() (int, bool) {
	j.pmu.RLock()
	defer j.pmu.RUnlock()
	n := len(j.pending)
	return n, n >= j.opts.CheckpointEvery || j.pendBytes >= walCheckpointBytes
}

// checkpointLoop is the checkpointer: woken by the committer, it moves
// what the log holds into bbolt, off the path of the appends. A kick that
// a checkpoint already served (the committer kicks after each append
// while one runs) finds too little left and waits for the next.
func (j *Journal) checkpointLoop() {
	defer j.wg.Done()
	for {
		select {
		case <-j.ckptKick:
			if _, due := j.checkpointDue(); !due && !j.ckptIdle.Swap(false) {
				continue
			}
			j.ckmu.Lock()
			j.moveLogged()
			j.ckmu.Unlock()
		case <-j.stop:
			return
		}
	}
}

// renewLog starts a new generation of the log when bbolt holds every
// record and data key in it; it runs with cmu held, before an append.
func (j *Journal) renewLog() {
	if j.wal.off == walHeader {
		return
	}
	j.pmu.RLock()
	empty := len(j.pending) == 0 && len(j.pendKeys) == 0
	j.pmu.RUnlock()
	if !empty {
		return
	}
	if err := j.wal.reset(); err != nil {
		// The next append writes at the old offset under the old salt:
		// nothing is lost, the log only does not start anew.
		j.raise(Alarm{Kind: AlarmCommit, At: j.opts.Now(), Message: fmt.Sprintf("the journal's log %s could not start anew (%v)", j.wal.path, err)})
	}
}

// switchLog moves the appends to the spare log when the active one holds
// 2×CheckpointEvery records or walSwitchBytes and bbolt holds every
// record of the spare; it runs with cmu held, before an append. Under a
// steady stream of passages the log never holds only what bbolt has, so
// renewLog never starts it anew; the two logs take turns instead: while
// appends go to one, the checkpointer moves the other's records into
// bbolt (a checkpoint is due at CheckpointEvery records, so it has
// emptied the other log long before this one fills again).
//
// The spare's new generation (a new salt in its header) needs no sync of
// its own, as in renewLog: the first append to it syncs the header with
// it, and a crash before that leaves the old header, whose frames bbolt
// holds. The active log must have no failed append in it (torn): its
// frames would stay behind under its salt with the seqs that the next
// appends, in the other log, take again.
func (j *Journal) switchLog() {
	w := j.wal
	if w.torn != 0 || (w.off < int64(walSwitchBytes) && w.recs < 2*j.opts.CheckpointEvery) {
		return
	}
	if !j.inBolt(j.spare.last) {
		return
	}
	if err := j.spare.reset(); err != nil {
		// Appends stay in this log, which only grows.
		j.raise(Alarm{Kind: AlarmCommit, At: j.opts.Now(), Message: fmt.Sprintf("the journal's log %s could not start anew (%v)", j.spare.path, err)})
		return
	}
	j.wal, j.spare = j.spare, w
	j.switches.Add(1)
}

// inBolt reports whether bbolt holds every record up to s.
func (j *Journal) inBolt(s Seq) bool {
	j.pmu.RLock()
	defer j.pmu.RUnlock()
	return len(j.pending) == 0 || j.pending[0].seq > s
}

// fill adds what is queued, without waiting, up to MaxBatch.
func (j *Journal) fill(batch []*request) []*request {
	for len(batch) < j.opts.MaxBatch {
		select {
		case r := <-j.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (j *Journal) commit(batch []*request) {
	now := j.opts.Now()
	err := j.rotateKey(now)
	if err == nil && j.appendHook != nil {
		err = j.appendHook()
	}
	seq, last := j.seq, j.last
	buf := j.buf[:0]
	recs := make([]pendingRec, 0, len(batch))
	if err == nil && !j.key.saved {
		buf = appendFrame(buf, j.wal.salt, frameKey, j.key.stored)
	}
	for _, r := range batch {
		if err != nil {
			break
		}
		seq++
		var s Sealed
		if s, err = j.key.seal(j.epoch, seq, &r.p); err != nil {
			break
		}
		var stored []byte
		if stored, err = encodeRecord(j.epoch, seq, last, &r.p, s); err != nil {
			break
		}
		buf = appendFrame(buf, j.wal.salt, frameRecord, stored)
		recs = append(recs, pendingRec{seq, stored})
		last = Chain(last, stored)
		r.seq = seq
	}
	if err == nil {
		err = j.wal.append(buf, seq, len(recs))
	}
	if cap(buf) <= 1<<20 {
		j.buf = buf
	}
	if err != nil {
		ue := &UnavailableError{Err: err}
		j.raise(Alarm{Kind: AlarmCommit, At: now, Message: ue.Error()})
		for _, r := range batch {
			r.done <- ue
		}
		return
	}
	j.pmu.Lock()
	j.pending = append(j.pending, recs...)
	j.pendBytes += recBytes(recs)
	if !j.key.saved {
		j.pendKeys = append(j.pendKeys, pendingKey{j.key.entry.ID, j.key.stored})
	}
	j.pmu.Unlock()
	j.seq, j.last, j.key.saved = seq, last, true
	if !j.ckptFailing.Load() {
		j.clear(AlarmCommit)
	}
	for _, r := range batch {
		r.done <- nil
	}
}

// checkpointLocked waits for the checkpointer, moves what is left in the
// logs into bbolt and starts a new generation of both; it runs with cmu
// held, or in Open before the committer starts.
func (j *Journal) checkpointLocked() error {
	j.ckmu.Lock()
	defer j.ckmu.Unlock()
	return j.checkpoint()
}

// checkpoint moves the logs' records and data keys into bbolt in one
// commit and then starts a new generation of both logs; it runs with cmu
// and ckmu held.
func (j *Journal) checkpoint() error {
	if err := j.moveLogged(); err != nil {
		return err
	}
	for _, w := range []*wal{j.wal, j.spare} {
		if w != nil && w.off != walHeader {
			if err := w.reset(); err != nil {
				return fmt.Errorf("reset journal log: %w", err)
			}
		}
	}
	return nil
}

// moveLogged moves the log's records and data keys that bbolt does not
// hold yet into bbolt in one commit; it runs with ckmu held. The log
// keeps them (the committer starts its new generation once bbolt holds
// everything). When the commit fails the records stay in the log,
// durable, and in pending, readable; the commit alarm is raised and the
// next checkpoint tries again.
func (j *Journal) moveLogged() error {
	j.pmu.RLock()
	recs, keys := j.pending, j.pendKeys
	j.pmu.RUnlock()
	if len(recs) == 0 && len(keys) == 0 {
		return nil
	}
	hook := j.commitHook.Load()
	err := j.update(func(tx *bbolt.Tx) error {
		kb := tx.Bucket(bucketKeys)
		for _, k := range keys {
			if err := kb.Put(k.id[:], k.stored); err != nil {
				return err
			}
		}
		if err := j.addSlack(tx); err != nil {
			return err
		}
		b := tx.Bucket(bucketRecords)
		b.FillPercent = 1 // keys only ever grow
		for _, r := range recs {
			if err := b.Put(seqKey(r.seq), r.stored); err != nil {
				return err
			}
		}
		if hook != nil {
			return (*hook)(tx)
		}
		return nil
	})
	if err != nil && j.replaying {
		return err
	}
	if err != nil {
		j.ckptFailing.Store(true)
		j.raise(Alarm{Kind: AlarmCommit, At: j.opts.Now(), Message: fmt.Sprintf(
			"the journal could not move %d passages from its log into %s (%v); they are recorded durably in the log and the gate keeps working, but free disk space or replace the storage: the log grows until this succeeds", len(recs), j.path, err)})
		return err
	}
	// The committer appended only behind what was taken: drop that
	// prefix. Readers keep the slices they took, unchanged.
	j.pmu.Lock()
	j.pending = dropPrefix(j.pending, len(recs))
	j.pendBytes -= recBytes(recs)
	j.pendKeys = dropPrefix(j.pendKeys, len(keys))
	j.pmu.Unlock()
	if j.ckptFailing.Swap(false) {
		j.clear(AlarmCommit)
	}
	return nil
}

// recBytes returns the stored bytes of recs.
func recBytes(recs []pendingRec) int {
	n := 0
	for _, r := range recs {
		n += len(r.stored)
	}
	return n
}

// dropPrefix returns s without its first n elements, nil when empty.
func dropPrefix[E any](s []E, n int) []E {
	if n == len(s) {
		return nil
	}
	return s[n:len(s):len(s)]
}

// settle moves the log's records into bbolt now, beside the committer:
// Ack and SetBranch need bbolt to hold what was appended before them,
// not the appends to wait for that commit (the log starts anew at a
// later append, see renewLog).
func (j *Journal) settle() error {
	j.ckmu.Lock()
	defer j.ckmu.Unlock()
	return j.moveLogged()
}

// flush checkpoints the log into bbolt now and starts it anew.
func (j *Journal) flush() error {
	j.cmu.Lock()
	defer j.cmu.Unlock()
	return j.checkpointLocked()
}

// replayWAL moves the log's records that bbolt does not hold into bbolt.
// A torn last append is cut. A log damaged beyond that (a header that
// does not check, a record that does not continue the chain, another
// epoch) is a *corruptError: the chain cannot be proven, so Open moves the
// journal and its log aside and starts a new epoch, as for a damaged
// journal file.
func (j *Journal) replayWAL() error {
	cs, err := readLogs(j.path)
	var (
		recs []pendingRec
		keys [][]byte
	)
	if errors.Is(err, errWALHeader) || errors.Is(err, errWALNotFile) {
		return &corruptError{err}
	}
	if err == nil {
		recs, keys, err = walTail(cs, j.epoch, j.seq, j.last)
		if err != nil {
			return &corruptError{err}
		}
	}
	if err != nil {
		return err
	}
	for _, k := range keys {
		wk, err := DecodeWrappedKey(k)
		if err != nil {
			return &corruptError{err}
		}
		j.pendKeys = append(j.pendKeys, pendingKey{wk.ID, k})
	}
	j.pending, j.pendBytes = recs, recBytes(recs)
	for _, r := range recs {
		j.seq, j.last = r.seq, Chain(j.last, r.stored)
	}
	j.replaying = true
	err = j.checkpointLocked()
	j.replaying = false
	if ce := (*corruptError)(nil); errors.As(err, &ce) {
		return err
	}
	if err != nil {
		// Nothing is lost: the logs stay as they are, and the next
		// Open replays them again. A full disk is the usual cause.
		return fmt.Errorf("the journal's logs hold %d passages that could not be moved into %s (%w): nothing is lost, they stay in the logs until it succeeds; free space on the data directory's disk (df shows it; delete what is not the terminal's, or replace a failing disk), then start sentineld again",
			len(recs), filepath.Base(j.path), err)
	}
	return nil
}

// update runs fn in a write transaction, turning a panic inside bbolt (a
// damaged page that the check at Open could not see) into an error: the
// passage is not recorded and the gate stays shut, instead of the daemon
// dying. bbolt rolls the transaction back as the panic unwinds.
func (j *Journal) update(fn func(*bbolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corruptf("writing the file: %v", p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return j.db.Update(fn)
}

// rotateKey makes a new data key when there is none yet (each Open), on a
// new UTC day, or when the centre's key changed.
func (j *Journal) rotateKey(now time.Time) error {
	var centre hpke.PublicKey
	c := j.centre.Load()
	if c != nil {
		centre = c.pub
	}
	if k := j.key; k != nil {
		y1, m1, d1 := k.entry.Created.UTC().Date()
		y2, m2, d2 := now.UTC().Date()
		sameCentre := (c == nil) == k.entry.Ephemeral && (c == nil || c.id == k.entry.Centre)
		if y1 == y2 && m1 == m2 && d1 == d2 && sameCentre {
			return nil
		}
	}
	k, err := newDataKey(j.epoch, centre, now)
	if err != nil {
		return err
	}
	j.key = k
	return nil
}

// Close stops accepting passages, commits those already queued, stops the
// journal's goroutines and closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	j.wg.Wait()
	werr := j.wal.close()
	serr := j.spare.close()
	return errors.Join(j.db.Close(), werr, serr)
}

// use runs fn unless the journal is closed, and keeps Close waiting until
// fn returns.
func (j *Journal) use(fn func() error) error {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	return fn()
}

// Verify checks the whole hash chain and the journal's meta data. A broken
// chain is reported in the result's Break (the first bad record), not as
// an error.
func (j *Journal) Verify() (VerifyResult, error) {
	var res VerifyResult
	recs, _ := j.logged()
	err := j.use(func() error {
		return safeView(j.db, func(tx *bbolt.Tx) error {
			var err error
			res, err = verifyTx(tx)
			if err == nil {
				verifyLog(&res, recs, nil)
			}
			return err
		})
	})
	return res, err
}

// Range calls fn with the stored bytes of every record from from to to
// (inclusive; to 0 means the last), in order: the sync upload sends them
// unchanged. fn may keep the slice. Records are read in short read
// transactions, so a long upload does not hold up commits.
func (j *Journal) Range(from, to Seq, fn func(Seq, []byte) error) error {
	recs, _ := j.logged()
	return j.use(func() error { return rangeLog(j.db, recs, from, to, fn) })
}

// Keys returns every stored data key entry (WrappedKey's stored form), for
// the sync upload; the centre's Opener.AddKey takes them.
func (j *Journal) Keys() ([][]byte, error) {
	var out [][]byte
	err := j.use(func() (err error) {
		_, keys := j.logged()
		out, err = keysLog(j.db, keys)
		return err
	})
	return out, err
}

// Tail returns the last n records' stored bytes and sequence numbers,
// oldest first.
func (j *Journal) Tail(n int) ([][]byte, []Seq, error) {
	var (
		out  [][]byte
		seqs []Seq
	)
	err := j.use(func() (err error) {
		recs, _ := j.logged()
		out, seqs, err = tailLog(j.db, recs, n)
		return err
	})
	return out, seqs, err
}

// logged returns the log's records and data keys that bbolt does not hold
// yet (see rangeLog).
func (j *Journal) logged() ([]pendingRec, [][]byte) {
	j.pmu.RLock()
	defer j.pmu.RUnlock()
	keys := make([][]byte, len(j.pendKeys))
	for i, k := range j.pendKeys {
		keys[i] = k.stored
	}
	return j.pending, keys
}

// Slack kept at the end of the file, written with zeros.
const (
	slackMin  = 512 << 10
	slackStep = 1 << 20
)

// addSlack keeps at least slackMin bytes of written zeros past the pages
// bbolt uses. bbolt grows its file with ftruncate, which leaves a hole:
// every commit that writes into a hole makes fdatasync commit file system
// metadata too, which on ext4 costs two to four times a plain data sync.
// Writing the zeros ahead, slackStep at a time, pays that once per step.
// It runs inside the write transaction, so no other transaction can grow
// the file meanwhile, and it writes only past the file's end, where bbolt
// has nothing.
func (j *Journal) addSlack(tx *bbolt.Tx) error {
	if j.file == nil {
		return nil
	}
	st, err := j.file.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size-tx.Size() >= slackMin {
		return nil
	}
	if err := writeZeros(j.file, size, slackStep); err != nil {
		// A full disk: give the space back and let bbolt try the commit
		// in what is left.
		j.file.Truncate(size)
	}
	return nil
}
