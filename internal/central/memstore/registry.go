package memstore

import (
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sentinel/internal/central"
)

// registry is the memory store's device registry, audit log and operator
// tokens. The zero value is empty.
type registry struct {
	mu      sync.Mutex
	tokens  []central.EnrolToken
	devices []central.EnrolledDevice
	audit   []central.AuditEntry
	ops     map[string]central.OpsToken
}

func (s *Store) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return central.ErrClosed
	}
	return nil
}

// AddEnrolToken implements central.Registry.
func (s *Store) AddEnrolToken(ctx context.Context, t central.EnrolToken) error {
	if err := central.CheckEnrolToken(t); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.tokens {
		if o.Hash == t.Hash {
			return fmt.Errorf("%w: the enrolment token is stored already", central.ErrRegistry)
		}
	}
	r.tokens = append(r.tokens, t)
	return nil
}

// EnrolDevice implements central.Registry. The registry's lock is held
// from the token's check to the device's record; nothing changes unless
// both can.
func (s *Store) EnrolDevice(ctx context.Context, h central.TokenHash, d central.EnrolledDevice, now time.Time) (central.EnrolledDevice, error) {
	if err := s.open(); err != nil {
		return central.EnrolledDevice{}, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.tokens {
		if subtle.ConstantTimeCompare(r.tokens[i].Hash[:], h[:]) != 1 {
			continue
		}
		t, d, err := central.Redeem(r.tokens[i], d, now)
		if err != nil {
			return central.EnrolledDevice{}, err
		}
		if slices.ContainsFunc(r.devices, func(o central.EnrolledDevice) bool { return o.ID == d.ID }) {
			return central.EnrolledDevice{}, fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
		}
		r.tokens[i] = t
		r.devices = append(r.devices, d)
		return d, nil
	}
	return central.EnrolledDevice{}, central.ErrTokenUnknown
}

// EnrolTokens implements central.Registry.
func (s *Store) EnrolTokens(ctx context.Context) ([]central.EnrolToken, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.tokens)
	slices.SortStableFunc(out, func(a, b central.EnrolToken) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// AddEnrolled implements central.Registry.
func (s *Store) AddEnrolled(ctx context.Context, d central.EnrolledDevice) error {
	if err := central.CheckEnrolled(d); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.devices, func(o central.EnrolledDevice) bool { return o.ID == d.ID }) {
		return fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
	}
	r.devices = append(r.devices, d)
	return nil
}

// Enrolled implements central.Registry.
func (s *Store) Enrolled(ctx context.Context) ([]central.EnrolledDevice, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.devices)
	slices.SortFunc(out, func(a, b central.EnrolledDevice) int {
		return cmp.Or(a.Enrolled.Compare(b.Enrolled), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// EnrolledDevice implements central.Registry.
func (s *Store) EnrolledDevice(ctx context.Context, id string) (central.EnrolledDevice, bool, error) {
	if err := s.open(); err != nil {
		return central.EnrolledDevice{}, false, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.devices {
		if d.ID == id {
			return d, true, nil
		}
	}
	return central.EnrolledDevice{}, false, nil
}

func (s *Store) changeDevice(id string, f func(d *central.EnrolledDevice)) error {
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.devices {
		if r.devices[i].ID == id {
			f(&r.devices[i])
			return nil
		}
	}
	return central.UnknownDevice(id)
}

// Renewed implements central.Registry.
func (s *Store) Renewed(ctx context.Context, id, serial string, notAfter time.Time) error {
	return s.changeDevice(id, func(d *central.EnrolledDevice) { d.Serial, d.NotAfter = serial, notAfter.UTC() })
}

// RevokeDevice implements central.Registry.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	return s.changeDevice(id, func(d *central.EnrolledDevice) {
		if d.Revoked.IsZero() {
			d.Revoked = now.UTC()
		}
	})
}

// AppendAudit implements central.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, e central.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	r.audit = append(r.audit, e)
	return nil
}

// Audit implements central.AuditLog.
func (s *Store) Audit(ctx context.Context, f central.AuditFilter) ([]central.AuditEntry, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []central.AuditEntry
	for i := range r.audit {
		if f.Match(&r.audit[i]) {
			out = append(out, r.audit[i])
		}
	}
	return out, nil
}

// PutOpsToken implements central.OpsTokens.
func (s *Store) PutOpsToken(ctx context.Context, t central.OpsToken) error {
	if err := central.CheckOpsToken(t); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.ops {
		if o.SHA256 == t.SHA256 && o.Name != t.Name {
			return fmt.Errorf("%w: %s: the same token as %s", central.ErrOpsToken, t.Name, o.Name)
		}
	}
	if r.ops == nil {
		r.ops = map[string]central.OpsToken{}
	}
	r.ops[t.Name] = t
	return nil
}

// RemoveOpsToken implements central.OpsTokens.
func (s *Store) RemoveOpsToken(ctx context.Context, name string) error {
	if err := s.open(); err != nil {
		return err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ops[name]; !ok {
		return fmt.Errorf("%w: %q", central.ErrUnknownOpsToken, name)
	}
	delete(r.ops, name)
	return nil
}

// ListOpsTokens implements central.OpsTokens.
func (s *Store) ListOpsTokens(ctx context.Context) ([]central.OpsToken, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]central.OpsToken, 0, len(r.ops))
	for _, t := range r.ops {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b central.OpsToken) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
