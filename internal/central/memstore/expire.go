package memstore

import (
	"context"
	"maps"
	"slices"

	"sentinel/internal/central"
)

// Expire implements central.Expirer.
func (s *Store) Expire(ctx context.Context, h central.Horizons) (central.Expired, error) {
	var n central.Expired
	if err := s.checkOpen(); err != nil {
		return n, err
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	if !h.Facts.IsZero() || !h.Audit.IsZero() {
		d := &s.engine
		d.mu.Lock()
		if !h.Facts.IsZero() {
			for _, seq := range central.ExpiredFacts(slices.Collect(maps.Values(d.facts)), h.Facts) {
				delete(d.facts, seq)
				n.Facts++
			}
		}
		if !h.Audit.IsZero() {
			before := len(d.changes)
			d.changes = slices.DeleteFunc(d.changes, func(c central.EngineChange) bool { return c.Time.Before(h.Audit) })
			n.Changes = before - len(d.changes)
		}
		d.mu.Unlock()
	}
	if !h.Statuses.IsZero() {
		st := &s.status
		st.mu.Lock()
		for k, e := range st.entries {
			if !e.Until.IsZero() && e.Until.Before(h.Statuses) {
				delete(st.entries, k)
				n.Statuses++
			}
		}
		for k, r := range st.revoked {
			if !r.Until.IsZero() && r.Until.Before(h.Statuses) {
				delete(st.revoked, k)
				n.Revocations++
			}
		}
		st.mu.Unlock()
	}
	if !h.Audit.IsZero() {
		r := &s.reg
		r.mu.Lock()
		before := len(r.audit)
		r.audit = slices.DeleteFunc(r.audit, func(e central.AuditEntry) bool { return e.Time.Before(h.Audit) })
		n.Audit = before - len(r.audit)
		r.mu.Unlock()
	}
	return n, nil
}
