package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"sentinel/internal/central"
)

var _ central.Store = (*Store)(nil)

type key struct {
	device string
	epoch  central.Epoch
}

// Store keeps passages in memory. The zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu       sync.Mutex
	closed   bool
	marks    map[key]central.Link
	keys     map[key][][]byte // data key entries, once each
	seen     map[string]time.Time
	passages []central.Passage
	stored   map[recKey][]byte        // stored bytes by identity
	owners   map[central.Epoch]string // the device that stored under an epoch first
	forks    map[key]central.Fork     // by device and branch

	reg    registry   // devices, tokens, audit, operator tokens (registry.go)
	status statuses   // the status part (status.go)
	engine engineData // the code engine's part (engine.go)
}

type recKey struct {
	key
	seq uint64
}

// New returns an empty store that reads the time of ingest from now
// (time.Now when nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, marks: map[key]central.Link{}, keys: map[key][][]byte{}, seen: map[string]time.Time{},
		stored: map[recKey][]byte{}, owners: map[central.Epoch]string{}, forks: map[key]central.Fork{}}
}

// IngestLinked implements central.Store.
func (s *Store) IngestLinked(ctx context.Context, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	if err := central.Validate(device, recs); err != nil {
		return central.Link{}, err
	}
	if err := ctx.Err(); err != nil {
		return central.Link{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return central.Link{}, central.ErrClosed
	}
	if o, ok := s.owners[epoch]; ok && o != device {
		return central.Link{}, &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: o}
	}
	k := key{device, epoch}
	mark, ok := s.marks[k]
	self, branch := s.forks[k]
	if !ok && branch {
		mark.Seq = self.At - 1 // a branch starts where it forked
	}
	if len(recs) > 0 && recs[0].Seq <= mark.Seq {
		at, stored, _ := central.FindFork(mark, recs, func(seq uint64) ([]byte, bool, error) {
			b, ok := s.stored[recKey{k, seq}]
			return b, ok, nil
		})
		if at > 0 {
			journal := epoch
			if branch {
				journal = self.Journal
			}
			f := central.NewFork(epoch, journal, at, mark.Seq, stored, s.now())
			if old, ok := s.forks[key{device, f.Branch}]; ok {
				f = old
			}
			s.forks[key{device, f.Branch}] = f
			s.owners[epoch], s.owners[f.Branch] = device, device
			return mark, &central.ForkError{Device: device, Fork: f}
		}
	}
	rest, step, err := admit(mark)
	if err != nil {
		return mark, err
	}
	// A salvaged range may start past the mark with the loss flagged as
	// its first record's break (server.Admit).
	if len(rest) > 0 && rest[0].Seq != mark.Seq+1 && !(rest[0].Seq > mark.Seq+1 && rest[0].Break != "") {
		return central.Link{}, fmt.Errorf("memstore: ingest %s/%s: admitted records start at %d after the mark %d", device, epoch, rest[0].Seq, mark.Seq)
	}
	// The engine step works on a copy that replaces the engine's data
	// only once nothing below can fail: records and facts together.
	if step != nil {
		d := &s.engine
		d.mu.Lock()
		defer d.mu.Unlock()
		c := d.clone()
		if err := step(ctx, central.EngineTxOf(engineTx{c})); err != nil {
			return central.Link{}, fmt.Errorf("memstore: ingest %s/%s: %w", device, epoch, err)
		}
		defer func() {
			d.facts, d.areas, d.sites, d.grades, d.ruleSets, d.changes, d.factSeq, d.changeSeq = c.facts, c.areas, c.sites, c.grades, c.ruleSets, c.changes, c.factSeq, c.changeSeq
		}()
	}
	s.owners[epoch] = device
	for _, e := range keys {
		if !slices.ContainsFunc(s.keys[k], func(b []byte) bool { return bytes.Equal(b, e) }) {
			s.keys[k] = append(s.keys[k], bytes.Clone(e))
		}
	}
	for _, r := range rest {
		r.Stored = bytes.Clone(r.Stored)
		r.Reasons = slices.Clone(r.Reasons)
		r.Salvaged = false // not stored
		s.passages = append(s.passages, central.Passage{Device: device, Epoch: epoch, Record: r})
		s.stored[recKey{k, r.Seq}] = r.Stored
	}
	if len(rest) > 0 {
		last := &rest[len(rest)-1]
		mark = central.Link{Seq: last.Seq, Hash: last.Hash}
		s.marks[k] = mark
		s.seen[device] = s.now()
	}
	return mark, nil
}

// Link implements central.Store.
func (s *Store) Link(ctx context.Context, device string, epoch central.Epoch) (central.Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return central.Link{}, central.ErrClosed
	}
	return s.marks[key{device, epoch}], nil
}

// Keys implements central.Store.
func (s *Store) Keys(ctx context.Context, device string, epoch central.Epoch) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, central.ErrClosed
	}
	var out [][]byte
	for _, b := range s.keys[key{device, epoch}] {
		out = append(out, bytes.Clone(b))
	}
	return out, nil
}

// Fork implements central.Store.
func (s *Store) Fork(ctx context.Context, device string, branch central.Epoch) (central.Fork, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return central.Fork{}, false, central.ErrClosed
	}
	f, ok := s.forks[key{device, branch}]
	return f, ok, nil
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, central.ErrClosed
	}
	return s.marks[key{device, epoch}].Seq, nil
}

// Passages implements central.Store.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			yield(central.Passage{}, central.ErrClosed)
			return
		}
		var out []central.Passage
		for i := range s.passages {
			if f.Match(&s.passages[i]) {
				out = append(out, s.passages[i])
			}
		}
		s.mu.Unlock()
		slices.SortFunc(out, central.ComparePassages)
		for _, p := range out {
			if !yield(p, nil) {
				return
			}
		}
	}
}

// Devices implements central.Store.
func (s *Store) Devices(ctx context.Context) ([]central.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, central.ErrClosed
	}
	byID := map[string]*central.Device{}
	for k, hw := range s.marks {
		d := byID[k.device]
		if d == nil {
			d = &central.Device{ID: k.device, LastSeen: s.seen[k.device]}
			byID[k.device] = d
		}
		d.Marks = append(d.Marks, central.Mark{Epoch: k.epoch, HighWater: hw.Seq})
	}
	for k, f := range s.forks {
		if d := byID[k.device]; d != nil {
			d.Forks = append(d.Forks, f)
		}
	}
	out := make([]central.Device, 0, len(byID))
	for _, d := range byID {
		central.SortForks(d.Forks)
		slices.SortFunc(d.Marks, func(a, b central.Mark) int { return bytes.Compare(a.Epoch[:], b.Epoch[:]) })
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b central.Device) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Close implements central.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
