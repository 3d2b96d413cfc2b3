package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
)

var _ central.Expirer = (*Store)(nil)

// expireFacts deletes the facts central.FactExpires removes at $1: ended
// before it, not an open whitelist membership or manual status, and a home
// fact only when its holder has a newer one (later at, then higher seq).
const expireFacts = `DELETE FROM engine_facts f
WHERE coalesce(f.until, f.at) < $1
  AND NOT (f.until IS NULL AND f.kind IN ('whitelist', 'manual'))
  AND (f.kind <> 'home' OR EXISTS (
	SELECT 1 FROM engine_facts g
	WHERE g.holder = f.holder AND g.kind = 'home' AND (g.at > f.at OR (g.at = f.at AND g.seq > f.seq))))`

// Expire implements central.Expirer in three transactions: the engine's
// (under its lock, notifying the other processes when facts went), the
// statuses' (under the status version's row lock, which publishers take),
// and the audit log's (SET LOCAL sentinel.expire, which its trigger
// requires, migration 0012). PostgreSQL's VACUUM reclaims the rows'
// space in time; it does not promise to overwrite it at once.
func (s *Store) Expire(ctx context.Context, h central.Horizons) (central.Expired, error) {
	var n central.Expired
	if !h.Facts.IsZero() || !h.Audit.IsZero() {
		err := s.engineTx(ctx, pgx.TxOptions{}, true, func(t *engineTx) error {
			if !h.Facts.IsZero() {
				tag, err := t.tx.Exec(ctx, expireFacts, h.Facts)
				if err != nil {
					return fmt.Errorf("pgstore: expire facts: %w", err)
				}
				n.Facts = int(tag.RowsAffected())
				t.changed = n.Facts > 0
			}
			if !h.Audit.IsZero() {
				tag, err := t.tx.Exec(ctx, `DELETE FROM engine_changes WHERE time < $1`, h.Audit)
				if err != nil {
					return fmt.Errorf("pgstore: expire engine changes: %w", err)
				}
				n.Changes = int(tag.RowsAffected())
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	if !h.Statuses.IsZero() {
		err := s.statusTx(ctx, pgx.TxOptions{}, true, func(t *statusTx) error {
			tag, err := t.tx.Exec(ctx, `DELETE FROM status_entries WHERE until IS NOT NULL AND until < $1`, h.Statuses)
			if err != nil {
				return fmt.Errorf("pgstore: expire statuses: %w", err)
			}
			n.Statuses = int(tag.RowsAffected())
			tag, err = t.tx.Exec(ctx, `DELETE FROM status_revocations WHERE until IS NOT NULL AND until < $1`, h.Statuses)
			if err != nil {
				return fmt.Errorf("pgstore: expire revocations: %w", err)
			}
			n.Revocations = int(tag.RowsAffected())
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	if !h.Audit.IsZero() {
		err := s.withConn(ctx, func(conn *pgx.Conn) error {
			return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL sentinel.expire = 'on'"); err != nil {
					return err
				}
				tag, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE at < $1`, h.Audit)
				n.Audit = int(tag.RowsAffected())
				return err
			})
		})
		if err != nil {
			return n, fmt.Errorf("pgstore: expire the audit log: %w", err)
		}
	}
	return n, nil
}
