package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
)

var _ central.Expirer = (*Store)(nil)

// expireFacts deletes the facts central.FactExpires removes at $1: a
// home or manual fact that a later one of its holder and kind (later at,
// then higher seq) replaced before $1; else not a home fact, not an open
// whitelist membership or manual status, and ended before $1. Every such
// fact has at before $1.
const expireFacts = `DELETE FROM engine_facts f
WHERE f.at < $1 AND CASE
	WHEN f.kind IN ('home', 'manual') AND EXISTS (
		SELECT 1 FROM engine_facts g
		WHERE g.holder = f.holder AND g.kind = f.kind AND g.at < $1
		  AND (g.at > f.at OR (g.at = f.at AND g.seq > f.seq))) THEN true
	WHEN f.kind = 'home' THEN false
	WHEN f.until IS NULL AND f.kind IN ('whitelist', 'manual') THEN false
	ELSE coalesce(f.until, f.at) < $1
END`

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
