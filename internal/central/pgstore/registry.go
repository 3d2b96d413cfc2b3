package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"sentinel/internal/central"
)

// withConn runs f on a pooled connection.
func (s *Store) withConn(ctx context.Context, f func(conn *pgx.Conn) error) error {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	err = f(conn)
	s.pool.release(conn, err != nil && !isRefusal(err))
	return err
}

// isRefusal reports an error of the store's own making, after which the
// connection is still sound.
func isRefusal(err error) bool {
	for _, e := range []error{central.ErrRegistry, central.ErrTokenUnknown, central.ErrTokenUsed, central.ErrTokenExpired,
		central.ErrUnknownDevice, central.ErrOpsToken, central.ErrUnknownOpsToken} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// uniqueViolation reports PostgreSQL's unique_violation.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// AddEnrolToken implements central.Registry.
func (s *Store) AddEnrolToken(ctx context.Context, t central.EnrolToken) error {
	if err := central.CheckEnrolToken(t); err != nil {
		return err
	}
	var used *time.Time
	var dev *string
	if t.Used {
		used, dev = nullTime(t.UsedAt), &t.Device
		if used == nil {
			used = &t.Created
		}
	}
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO enrol_tokens (hash, site, created, expires, used_at, device) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.Hash[:], t.Site, t.Created, t.Expires, used, dev)
		if uniqueViolation(err) {
			return fmt.Errorf("%w: the enrolment token is stored already", central.ErrRegistry)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: add enrolment token: %w", err)
	}
	return nil
}

const tokenColumns = `hash, site, created, expires, used_at, device`

func scanToken(row pgx.Row) (central.EnrolToken, error) {
	var (
		t      central.EnrolToken
		hash   []byte
		usedAt *time.Time
		dev    *string
	)
	if err := row.Scan(&hash, &t.Site, &t.Created, &t.Expires, &usedAt, &dev); err != nil {
		return t, err
	}
	copy(t.Hash[:], hash)
	t.Created, t.Expires = t.Created.UTC(), t.Expires.UTC()
	if usedAt != nil {
		t.Used, t.UsedAt = true, usedAt.UTC()
	}
	if dev != nil {
		t.Device = *dev
	}
	return t, nil
}

// EnrolDevice implements central.Registry. The token's row is locked
// (SELECT ... FOR UPDATE) until the transaction that spends it and inserts
// the device commits, so that of several servers enrolling with it at
// once one succeeds and the others read it spent; a failed insert rolls
// the token's spending back.
func (s *Store) EnrolDevice(ctx context.Context, h central.TokenHash, d central.EnrolledDevice, now time.Time) (central.EnrolledDevice, error) {
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM enrol_tokens WHERE hash = $1 FOR UPDATE`, h[:]))
			if errors.Is(err, pgx.ErrNoRows) {
				return central.ErrTokenUnknown
			}
			if err != nil {
				return err
			}
			if t, d, err = central.Redeem(t, d, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE enrol_tokens SET used_at = $2, device = $3 WHERE hash = $1`, h[:], t.UsedAt, t.Device); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO enrolled_devices (id, site, enrolled, serial, not_after, revoked) VALUES ($1, $2, $3, $4, $5, $6)`,
				d.ID, d.Site, d.Enrolled, d.Serial, nullTime(d.NotAfter), nullTime(d.Revoked))
			if uniqueViolation(err) {
				return fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
			}
			return err
		})
	})
	if err != nil {
		if isRefusal(err) {
			return central.EnrolledDevice{}, err
		}
		return central.EnrolledDevice{}, fmt.Errorf("pgstore: enrol device: %w", err)
	}
	return d, nil
}

// EnrolTokens implements central.Registry.
func (s *Store) EnrolTokens(ctx context.Context) ([]central.EnrolToken, error) {
	var out []central.EnrolToken
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT `+tokenColumns+` FROM enrol_tokens ORDER BY created, hash`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: enrolment tokens: %w", err)
	}
	return out, nil
}

// AddEnrolled implements central.Registry.
func (s *Store) AddEnrolled(ctx context.Context, d central.EnrolledDevice) error {
	if err := central.CheckEnrolled(d); err != nil {
		return err
	}
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO enrolled_devices (id, site, enrolled, serial, not_after, revoked) VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ID, d.Site, d.Enrolled, d.Serial, nullTime(d.NotAfter), nullTime(d.Revoked))
		if uniqueViolation(err) {
			return fmt.Errorf("%w: device %s is enrolled already", central.ErrRegistry, d.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: add device: %w", err)
	}
	return nil
}

const deviceColumns = `id, site, enrolled, serial, not_after, revoked`

func scanDevice(row pgx.Row) (central.EnrolledDevice, error) {
	var (
		d                 central.EnrolledDevice
		notAfter, revoked *time.Time
	)
	if err := row.Scan(&d.ID, &d.Site, &d.Enrolled, &d.Serial, &notAfter, &revoked); err != nil {
		return d, err
	}
	d.Enrolled, d.NotAfter, d.Revoked = d.Enrolled.UTC(), timeOf(notAfter), timeOf(revoked)
	return d, nil
}

// Enrolled implements central.Registry.
func (s *Store) Enrolled(ctx context.Context) ([]central.EnrolledDevice, error) {
	var out []central.EnrolledDevice
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT `+deviceColumns+` FROM enrolled_devices ORDER BY enrolled, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDevice(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: devices: %w", err)
	}
	return out, nil
}

// EnrolledDevice implements central.Registry.
func (s *Store) EnrolledDevice(ctx context.Context, id string) (central.EnrolledDevice, bool, error) {
	var (
		d  central.EnrolledDevice
		ok bool
	)
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		var err error
		d, err = scanDevice(conn.QueryRow(ctx, `SELECT `+deviceColumns+` FROM enrolled_devices WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return central.EnrolledDevice{}, false, fmt.Errorf("pgstore: device %s: %w", id, err)
	}
	return d, ok, nil
}

// changeDevice runs an UPDATE of one device; none updated is
// ErrUnknownDevice.
func (s *Store) changeDevice(ctx context.Context, id, sql string, args ...any) error {
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		tag, err := conn.Exec(ctx, sql, append([]any{id}, args...)...)
		if err == nil && tag.RowsAffected() == 0 {
			return central.UnknownDevice(id)
		}
		return err
	})
	if err != nil && !isRefusal(err) {
		return fmt.Errorf("pgstore: device %s: %w", id, err)
	}
	return err
}

// Renewed implements central.Registry.
func (s *Store) Renewed(ctx context.Context, id, serial string, notAfter time.Time) error {
	return s.changeDevice(ctx, id, `UPDATE enrolled_devices SET serial = $2, not_after = $3 WHERE id = $1`, serial, nullTime(notAfter))
}

// RevokeDevice implements central.Registry.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	return s.changeDevice(ctx, id, `UPDATE enrolled_devices SET revoked = coalesce(revoked, $2) WHERE id = $1`, now.UTC())
}

// AppendAudit implements central.AuditLog. The entry is durable when the
// INSERT commits.
func (s *Store) AppendAudit(ctx context.Context, e central.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("pgstore: audit append: %w", err)
	}
	err = s.withConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO audit_log (at, operator, action, entry) VALUES ($1, $2, $3, $4)`, e.Time, e.Operator, e.Action, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: audit append: %w", err)
	}
	return nil
}

// Audit implements central.AuditLog.
func (s *Store) Audit(ctx context.Context, f central.AuditFilter) ([]central.AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !f.From.IsZero() {
		add("at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add("at < $%d", f.To)
	}
	if f.Operator != "" {
		add("operator = $%d", f.Operator)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	q := `SELECT entry FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	var out []central.AuditEntry
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var data []byte
			if err := rows.Scan(&data); err != nil {
				return err
			}
			var e central.AuditEntry
			if err := json.Unmarshal(data, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: audit: %w", err)
	}
	return out, nil
}

// PutOpsToken implements central.OpsTokens.
func (s *Store) PutOpsToken(ctx context.Context, t central.OpsToken) error {
	if err := central.CheckOpsToken(t); err != nil {
		return err
	}
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO ops_tokens (name, role, sha256) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, sha256 = EXCLUDED.sha256`, t.Name, string(t.Role), t.SHA256[:])
		if uniqueViolation(err) {
			return fmt.Errorf("%w: %s: the same token as another name", central.ErrOpsToken, t.Name)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: put operator token: %w", err)
	}
	return nil
}

// RemoveOpsToken implements central.OpsTokens.
func (s *Store) RemoveOpsToken(ctx context.Context, name string) error {
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		tag, err := conn.Exec(ctx, `DELETE FROM ops_tokens WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %q", central.ErrUnknownOpsToken, name)
		}
		return err
	})
	if err != nil && !isRefusal(err) {
		return fmt.Errorf("pgstore: remove operator token: %w", err)
	}
	return err
}

// ListOpsTokens implements central.OpsTokens.
func (s *Store) ListOpsTokens(ctx context.Context) ([]central.OpsToken, error) {
	var out []central.OpsToken
	err := s.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT name, role, sha256 FROM ops_tokens ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				t    central.OpsToken
				role string
				sum  []byte
			)
			if err := rows.Scan(&t.Name, &role, &sum); err != nil {
				return err
			}
			t.Role = central.OpsRole(role)
			copy(t.SHA256[:], sum)
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: operator tokens: %w", err)
	}
	return out, nil
}
