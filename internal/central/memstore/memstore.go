package memstore

import (
	"bytes"
	"cmp"
	"context"
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
	marks    map[key]uint64
	seen     map[string]time.Time
	passages []central.Passage
	stored   map[recKey][]byte        // stored bytes by identity
	owners   map[central.Epoch]string // the device that stored under an epoch first
	forks    map[key]central.Fork     // by device and branch
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
	return &Store{now: now, marks: map[key]uint64{}, seen: map[string]time.Time{},
		stored: map[recKey][]byte{}, owners: map[central.Epoch]string{}, forks: map[key]central.Fork{}}
}

// Ingest implements central.Store.
func (s *Store) Ingest(ctx context.Context, device string, epoch central.Epoch, recs []central.Record) (uint64, error) {
	if err := central.Validate(device, recs); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, central.ErrClosed
	}
	if o, ok := s.owners[epoch]; ok && o != device {
		return 0, &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: o}
	}
	k := key{device, epoch}
	mark, ok := s.marks[k]
	self, branch := s.forks[k]
	if !ok && branch {
		mark = self.At - 1
	}
	at, stored, _ := central.FindFork(central.Link{Seq: mark}, recs, func(seq uint64) ([]byte, bool, error) {
		b, ok := s.stored[recKey{k, seq}]
		return b, ok, nil
	})
	if at > 0 {
		journal := epoch
		if branch {
			journal = self.Journal
		}
		f := central.NewFork(epoch, journal, at, mark, stored, s.now())
		if old, ok := s.forks[key{device, f.Branch}]; ok {
			f = old
		}
		s.forks[key{device, f.Branch}] = f
		s.owners[epoch], s.owners[f.Branch] = device, device
		return mark, &central.ForkError{Device: device, Fork: f}
	}
	rest, hw, err := central.Plan(device, epoch, mark, recs)
	if err != nil {
		return hw, err
	}
	s.owners[epoch] = device
	for _, r := range rest {
		r.Stored = bytes.Clone(r.Stored)
		r.Reasons = slices.Clone(r.Reasons)
		s.passages = append(s.passages, central.Passage{Device: device, Epoch: epoch, Record: r})
		s.stored[recKey{k, r.Seq}] = r.Stored
	}
	if len(rest) > 0 {
		s.marks[k] = hw
		s.seen[device] = s.now()
	}
	return hw, nil
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, central.ErrClosed
	}
	return s.marks[key{device, epoch}], nil
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
		d.Marks = append(d.Marks, central.Mark{Epoch: k.epoch, HighWater: hw})
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
