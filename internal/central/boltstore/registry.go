package boltstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

// Buckets of the registry, the audit log and the operator tokens, at the
// top level beside the passages' "devices". Values are JSON.
var (
	bucketEnrolTokens = []byte("enrol-tokens") // token hash -> central.EnrolToken
	bucketEnrolled    = []byte("enrolled")     // device id -> central.EnrolledDevice
	bucketAudit       = []byte("audit")        // big-endian sequence -> central.AuditEntry
	bucketOpsTokens   = []byte("ops-tokens")   // name -> opsTokenValue
)

// opsTokenValue is an operator token as stored.
type opsTokenValue struct {
	Role   central.OpsRole `json:"role"`
	SHA256 [32]byte        `json:"sha256"`
}

// view runs f in a read transaction; a missing bucket reads as nil.
func (s *Store) view(ctx context.Context, f func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(f)
}

// update runs f in a write transaction with bucket name created.
func (s *Store) update(ctx context.Context, name []byte, f func(b *bolt.Bucket) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		return f(b)
	})
}

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// AddEnrolToken implements central.Registry.
func (s *Store) AddEnrolToken(ctx context.Context, t central.EnrolToken) error {
	if err := central.CheckEnrolToken(t); err != nil {
		return err
	}
	err := s.update(ctx, bucketEnrolTokens, func(b *bolt.Bucket) error {
		if b.Get(t.Hash[:]) != nil {
			return fmt.Errorf("%w: the enrolment token is stored already", central.ErrRegistry)
		}
		return put(b, t.Hash[:], t)
	})
	if err != nil {
		return fmt.Errorf("boltstore: add enrolment token: %w", err)
	}
	return nil
}

// EnrolDevice implements central.Registry. The token's read and write and
// the device's write share one bbolt transaction, which excludes every
// other writer and commits all or nothing.
func (s *Store) EnrolDevice(ctx context.Context, h central.TokenHash, d central.EnrolledDevice, now time.Time) (central.EnrolledDevice, error) {
	if err := ctx.Err(); err != nil {
		return central.EnrolledDevice{}, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		tokens, err := tx.CreateBucketIfNotExists(bucketEnrolTokens)
		if err != nil {
			return err
		}
		devices, err := tx.CreateBucketIfNotExists(bucketEnrolled)
		if err != nil {
			return err
		}
		v := tokens.Get(h[:])
		if v == nil {
			return central.ErrTokenUnknown
		}
		var t central.EnrolToken
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("boltstore: enrolment token %x: %w", h[:4], err)
		}
		if t, d, err = central.Redeem(t, d, now); err != nil {
			return err
		}
		if err := put(tokens, h[:], t); err != nil {
			return err
		}
		if devices.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
		}
		return put(devices, []byte(d.ID), d)
	})
	if err != nil {
		return central.EnrolledDevice{}, err
	}
	return d, nil
}

// all decodes every value of bucket name.
func all[T any](s *Store, ctx context.Context, name []byte) ([]T, error) {
	var out []T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("%s %q: %w", name, k, err)
			}
			out = append(out, x)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: read %s: %w", name, err)
	}
	return out, nil
}

// EnrolTokens implements central.Registry.
func (s *Store) EnrolTokens(ctx context.Context) ([]central.EnrolToken, error) {
	out, err := all[central.EnrolToken](s, ctx, bucketEnrolTokens)
	slices.SortStableFunc(out, func(a, b central.EnrolToken) int { return a.Created.Compare(b.Created) })
	return out, err
}

// AddEnrolled implements central.Registry.
func (s *Store) AddEnrolled(ctx context.Context, d central.EnrolledDevice) error {
	if err := central.CheckEnrolled(d); err != nil {
		return err
	}
	err := s.update(ctx, bucketEnrolled, func(b *bolt.Bucket) error {
		if b.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
		}
		return put(b, []byte(d.ID), d)
	})
	if err != nil {
		return fmt.Errorf("boltstore: add device: %w", err)
	}
	return nil
}

// Enrolled implements central.Registry.
func (s *Store) Enrolled(ctx context.Context) ([]central.EnrolledDevice, error) {
	out, err := all[central.EnrolledDevice](s, ctx, bucketEnrolled)
	slices.SortFunc(out, func(a, b central.EnrolledDevice) int {
		return cmp.Or(a.Enrolled.Compare(b.Enrolled), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// EnrolledDevice implements central.Registry.
func (s *Store) EnrolledDevice(ctx context.Context, id string) (central.EnrolledDevice, bool, error) {
	var (
		d  central.EnrolledDevice
		ok bool
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEnrolled)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &d)
	})
	if err != nil {
		return central.EnrolledDevice{}, false, fmt.Errorf("boltstore: device %s: %w", id, err)
	}
	return d, ok, nil
}

func (s *Store) changeDevice(ctx context.Context, id string, f func(d *central.EnrolledDevice)) error {
	return s.update(ctx, bucketEnrolled, func(b *bolt.Bucket) error {
		v := b.Get([]byte(id))
		if v == nil {
			return central.UnknownDevice(id)
		}
		var d central.EnrolledDevice
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("boltstore: device %s: %w", id, err)
		}
		f(&d)
		return put(b, []byte(id), d)
	})
}

// Renewed implements central.Registry.
func (s *Store) Renewed(ctx context.Context, id, serial string, notAfter time.Time) error {
	return s.changeDevice(ctx, id, func(d *central.EnrolledDevice) { d.Serial, d.NotAfter = serial, notAfter.UTC() })
}

// RevokeDevice implements central.Registry.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	return s.changeDevice(ctx, id, func(d *central.EnrolledDevice) {
		if d.Revoked.IsZero() {
			d.Revoked = now.UTC()
		}
	})
}

// AppendAudit implements central.AuditLog. The entry is durable when the
// transaction commits (bbolt syncs the file unless NoSync).
func (s *Store) AppendAudit(ctx context.Context, e central.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	err := s.update(ctx, bucketAudit, func(b *bolt.Bucket) error {
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		return put(b, be64(n), e)
	})
	if err != nil {
		return fmt.Errorf("boltstore: audit append: %w", err)
	}
	return nil
}

// Audit implements central.AuditLog.
func (s *Store) Audit(ctx context.Context, f central.AuditFilter) ([]central.AuditEntry, error) {
	es, err := all[central.AuditEntry](s, ctx, bucketAudit)
	return slices.DeleteFunc(es, func(e central.AuditEntry) bool { return !f.Match(&e) }), err
}

// PutOpsToken implements central.OpsTokens.
func (s *Store) PutOpsToken(ctx context.Context, t central.OpsToken) error {
	if err := central.CheckOpsToken(t); err != nil {
		return err
	}
	err := s.update(ctx, bucketOpsTokens, func(b *bolt.Bucket) error {
		if err := b.ForEach(func(k, v []byte) error {
			var o opsTokenValue
			if err := json.Unmarshal(v, &o); err != nil {
				return err
			}
			if o.SHA256 == t.SHA256 && string(k) != t.Name {
				return fmt.Errorf("%w: %s: the same token as %s", central.ErrOpsToken, t.Name, k)
			}
			return nil
		}); err != nil {
			return err
		}
		return put(b, []byte(t.Name), opsTokenValue{Role: t.Role, SHA256: t.SHA256})
	})
	if err != nil {
		return fmt.Errorf("boltstore: put operator token: %w", err)
	}
	return nil
}

// RemoveOpsToken implements central.OpsTokens.
func (s *Store) RemoveOpsToken(ctx context.Context, name string) error {
	return s.update(ctx, bucketOpsTokens, func(b *bolt.Bucket) error {
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %q", central.ErrUnknownOpsToken, name)
		}
		return b.Delete([]byte(name))
	})
}

// ListOpsTokens implements central.OpsTokens.
func (s *Store) ListOpsTokens(ctx context.Context) ([]central.OpsToken, error) {
	var out []central.OpsToken
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOpsTokens)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var o opsTokenValue
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("operator token %q: %w", k, err)
			}
			out = append(out, central.OpsToken{Name: string(k), Role: o.Role, SHA256: o.SHA256})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: operator tokens: %w", err)
	}
	return out, nil
}
