package engine

import (
	"context"
	"slices"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
)

// Current reads from r the status entries a sweep of s at now needs, by
// holder id: those of the holders with facts, and those the engine still
// holds at a colour (central.StatusReader.HeldBy), whose holders it adds
// to s without facts when they have none left, so that the rules judge
// them too (green, when nothing else holds). Every other holder is green
// or held by hand and stays so without being read: the cost follows the
// holders with facts, not everyone with a status.
func (s *Snapshot) Current(ctx context.Context, r central.StatusReader, now time.Time) (map[string]central.StatusEntry, error) {
	current, err := s.Entries(ctx, r)
	if err != nil {
		return nil, err
	}
	added := false
	for e, err := range r.HeldBy(ctx, SourceEngine, now) {
		if err != nil {
			return nil, err
		}
		id := e.Holder.String()
		if _, ok := current[id]; ok {
			continue
		}
		current[id] = e
		if _, ok := s.find(id); !ok {
			s.Holders = append(s.Holders, Holder{ID: id})
			added = true
		}
	}
	if added {
		slices.SortFunc(s.Holders, func(a, b Holder) int { return strings.Compare(a.ID, b.ID) })
	}
	return current, nil
}

// Entries reads from r the status entries of the snapshot's holders, by
// holder id.
func (s *Snapshot) Entries(ctx context.Context, r central.StatusReader) (map[string]central.StatusEntry, error) {
	ids := make([]credential.Holder, 0, len(s.Holders))
	for _, h := range s.Holders {
		if id, err := credential.ParseHolderID(h.ID); err == nil {
			ids = append(ids, id) // an unparsable id is PlanSweep's error to report
		}
	}
	es, err := r.EntriesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	current := make(map[string]central.StatusEntry, len(es))
	for _, e := range es {
		current[e.Holder.String()] = e
	}
	return current, nil
}

// find returns the index of the holder with id in s.Holders, which are in
// id order.
func (s *Snapshot) find(id string) (int, bool) {
	return slices.BinarySearchFunc(s.Holders, id, func(h Holder, id string) int { return strings.Compare(h.ID, id) })
}
