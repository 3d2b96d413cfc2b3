package memstore

import (
	"context"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
)

var _ central.StatusStore = (*Store)(nil)

// statuses is the status part of a Store. An update works on a copy and
// replaces the maps when it succeeds, so that a failed one leaves nothing.
type statuses struct {
	mu      sync.RWMutex // held for writing through a whole UpdateStatus
	entries map[string]central.StatusEntry
	revoked map[string]central.Revocation
	version uint64
}

func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return central.ErrClosed
	}
	return nil
}

// UpdateStatus implements central.StatusStore.
func (s *Store) UpdateStatus(ctx context.Context, fn func(central.StatusTx) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st := &s.status
	st.mu.Lock()
	defer st.mu.Unlock()
	tx := &statusTx{entries: maps.Clone(st.entries), revoked: maps.Clone(st.revoked), version: st.version}
	if tx.entries == nil {
		tx.entries = map[string]central.StatusEntry{}
	}
	if tx.revoked == nil {
		tx.revoked = map[string]central.Revocation{}
	}
	if err := fn(tx); err != nil {
		return err
	}
	st.entries, st.revoked, st.version = tx.entries, tx.revoked, tx.version
	return nil
}

// ViewStatus implements central.StatusStore.
func (s *Store) ViewStatus(ctx context.Context, fn func(central.StatusReader) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st := &s.status
	st.mu.RLock()
	defer st.mu.RUnlock()
	return fn(&statusTx{entries: st.entries, revoked: st.revoked, version: st.version})
}

// StatusOf implements central.StatusStore.
func (s *Store) StatusOf(ctx context.Context, h credential.Holder) (e central.StatusEntry, ok bool, err error) {
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		e, ok, err = r.Status(ctx, h)
		return err
	})
	return e, ok, err
}

type statusTx struct {
	entries map[string]central.StatusEntry
	revoked map[string]central.Revocation
	version uint64
}

func (t *statusTx) Status(ctx context.Context, h credential.Holder) (central.StatusEntry, bool, error) {
	e, ok := t.entries[h.String()]
	return e, ok, nil
}

func (t *statusTx) Entries(ctx context.Context) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		for _, k := range slices.Sorted(maps.Keys(t.entries)) {
			if !yield(t.entries[k], nil) {
				return
			}
		}
	}
}

func (t *statusTx) EntriesOf(ctx context.Context, holders []credential.Holder) ([]central.StatusEntry, error) {
	var out []central.StatusEntry
	seen := map[string]bool{}
	for _, h := range holders {
		k := h.String()
		if e, ok := t.entries[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b central.StatusEntry) int { return strings.Compare(a.Holder.String(), b.Holder.String()) })
	return out, nil
}

func (t *statusTx) HeldBy(ctx context.Context, source string, at time.Time) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		for _, k := range slices.Sorted(maps.Keys(t.entries)) {
			if e := t.entries[k]; e.Source == source && e.Holds(at) && !yield(e, nil) {
				return
			}
		}
	}
}

func (t *statusTx) Revocations(ctx context.Context) iter.Seq2[central.Revocation, error] {
	return func(yield func(central.Revocation, error) bool) {
		for _, k := range slices.Sorted(maps.Keys(t.revoked)) {
			if !yield(t.revoked[k], nil) {
				return
			}
		}
	}
}

func (t *statusTx) Version(ctx context.Context) (uint64, error) { return t.version, nil }

func (t *statusTx) Counts(ctx context.Context) (int, int, error) {
	return len(t.entries), len(t.revoked), nil
}

func (t *statusTx) LapsedBetween(ctx context.Context, from, to time.Time) (entries, revocations int, err error) {
	for _, e := range t.entries {
		if central.LapsesBetween(e.Until, from, to) {
			entries++
		}
	}
	for _, r := range t.revoked {
		if central.LapsesBetween(r.Until, from, to) {
			revocations++
		}
	}
	return entries, revocations, nil
}

func (t *statusTx) SetStatus(ctx context.Context, e central.StatusEntry) (central.StatusEntry, bool, error) {
	if err := e.Validate(); err != nil {
		return central.StatusEntry{}, false, err
	}
	// Times as the real stores keep them: UTC.
	e.Effective, e.SetAt = e.Effective.UTC(), e.SetAt.UTC()
	if !e.Until.IsZero() {
		e.Until = e.Until.UTC()
	}
	k := e.Holder.String()
	prev, had := t.entries[k]
	t.entries[k] = e
	return prev, had, nil
}

func (t *statusTx) Revoke(ctx context.Context, uci string, at, until time.Time) (bool, error) {
	prev, had := t.revoked[uci]
	next, fresh, changed, err := central.MergeRevocation(prev, had, uci, at, until)
	if err == nil && changed {
		t.revoked[uci] = next
	}
	return fresh, err
}

func (t *statusTx) SetVersion(ctx context.Context, v uint64) error {
	t.version = v
	return nil
}
