package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

var _ central.StatusStore = (*Store)(nil)

// statusPage is how many entries Entries reads at a time: no rows stay
// open while the caller's loop body runs, so the body may query the same
// transaction.
const statusPage = 1000

// UpdateStatus implements central.StatusStore: one transaction that
// starts by locking the row of the status version (SELECT ... FOR
// UPDATE), so that transactions of every process on the database run one
// after another.
func (s *Store) UpdateStatus(ctx context.Context, fn func(central.StatusTx) error) error {
	return s.statusTx(ctx, pgx.TxOptions{}, true, func(t *statusTx) error { return fn(t) })
}

// ViewStatus implements central.StatusStore in a read-only repeatable-read
// transaction: one snapshot.
func (s *Store) ViewStatus(ctx context.Context, fn func(central.StatusReader) error) error {
	return s.statusTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false,
		func(t *statusTx) error { return fn(t) })
}

// StatusOf implements central.StatusStore.
func (s *Store) StatusOf(ctx context.Context, h credential.Holder) (e central.StatusEntry, ok bool, err error) {
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		e, ok, err = r.Status(ctx, h)
		return err
	})
	return e, ok, err
}

// statusTx runs fn in a transaction; fn's error is returned as it is.
func (s *Store) statusTx(ctx context.Context, opts pgx.TxOptions, write bool, fn func(*statusTx) error) (err error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: status: %w", err)
	}
	broken := true
	defer func() { s.pool.release(conn, broken) }()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("pgstore: status: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	t := &statusTx{tx: tx}
	lock := "SELECT version FROM status_version"
	if write {
		lock += " FOR UPDATE"
	}
	var v int64
	if err := tx.QueryRow(ctx, lock).Scan(&v); err != nil {
		return fmt.Errorf("pgstore: status: read the status version: %w", err)
	}
	t.version = uint64(v)
	if err := fn(t); err != nil {
		if rerr := tx.Rollback(ctx); rerr == nil {
			broken = false
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: status: commit: %w", err)
	}
	broken = false
	return nil
}

// statusTx is a central.StatusTx on a PostgreSQL transaction.
type statusTx struct {
	tx      pgx.Tx
	version uint64
}

var _ central.StatusTx = (*statusTx)(nil)

const statusColumns = "holder, status, effective, until, reason, note, source, rule_set, set_at"

// scanStatus reads one row of statusColumns.
func scanStatus(row pgx.Row) (central.StatusEntry, error) {
	var (
		e             central.StatusEntry
		holder, st    string
		until         *time.Time
		reason        int16
		effect, setAt time.Time
	)
	if err := row.Scan(&holder, &st, &effect, &until, &reason, &e.Note, &e.Source, &e.RuleSet, &setAt); err != nil {
		return e, err
	}
	var err error
	if e.Holder, err = credential.ParseHolder(holder); err != nil {
		return e, fmt.Errorf("%w: %s: %v", central.ErrStatusDamaged, holder, err)
	}
	if e.Status, err = status.ParseStatus(st); err != nil {
		return e, fmt.Errorf("%w: %s: %v", central.ErrStatusDamaged, holder, err)
	}
	if reason < 0 || reason > 255 {
		return e, fmt.Errorf("%w: %s: reason %d", central.ErrStatusDamaged, holder, reason)
	}
	e.Reason, e.Effective, e.SetAt = byte(reason), effect.UTC(), setAt.UTC()
	if until != nil {
		e.Until = until.UTC()
	}
	return e, nil
}

func (t *statusTx) Status(ctx context.Context, h credential.Holder) (central.StatusEntry, bool, error) {
	e, err := scanStatus(t.tx.QueryRow(ctx, "SELECT "+statusColumns+" FROM status_entries WHERE holder = $1", h.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return central.StatusEntry{}, false, nil
	}
	if err != nil {
		return central.StatusEntry{}, false, fmt.Errorf("pgstore: status of %s: %w", h, err)
	}
	return e, true, nil
}

func (t *statusTx) Entries(ctx context.Context) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		after := ""
		for {
			rows, err := t.tx.Query(ctx, "SELECT "+statusColumns+" FROM status_entries WHERE holder > $1 ORDER BY holder LIMIT $2", after, statusPage)
			if err != nil {
				yield(central.StatusEntry{}, fmt.Errorf("pgstore: status entries: %w", err))
				return
			}
			page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (central.StatusEntry, error) { return scanStatus(r) })
			if err != nil {
				yield(central.StatusEntry{}, fmt.Errorf("pgstore: status entries: %w", err))
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < statusPage {
				return
			}
			after = page[len(page)-1].Holder.String()
		}
	}
}

func (t *statusTx) EntriesOf(ctx context.Context, holders []credential.Holder) ([]central.StatusEntry, error) {
	keys := make([]string, len(holders))
	for i, h := range holders {
		keys[i] = h.String()
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []central.StatusEntry
	for len(keys) > 0 {
		page := keys[:min(len(keys), statusPage)]
		keys = keys[len(page):]
		rows, err := t.tx.Query(ctx, "SELECT "+statusColumns+" FROM status_entries WHERE holder = ANY($1) ORDER BY holder", page)
		if err != nil {
			return nil, fmt.Errorf("pgstore: status entries of %d holders: %w", len(page), err)
		}
		es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (central.StatusEntry, error) { return scanStatus(r) })
		if err != nil {
			return nil, fmt.Errorf("pgstore: status entries of %d holders: %w", len(page), err)
		}
		out = append(out, es...)
	}
	return out, nil
}

func (t *statusTx) HeldBy(ctx context.Context, source string, at time.Time) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		// The index status_entries_held (migration 0008) finds them; they
		// are read at once, so the loop body may query the transaction.
		rows, err := t.tx.Query(ctx, "SELECT "+statusColumns+` FROM status_entries
			WHERE status <> 'green' AND source = $1 AND coalesce(until, 'infinity'::timestamptz) > $2 ORDER BY holder`, source, at)
		if err != nil {
			yield(central.StatusEntry{}, fmt.Errorf("pgstore: statuses held by %s: %w", source, err))
			return
		}
		es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (central.StatusEntry, error) { return scanStatus(r) })
		if err != nil {
			yield(central.StatusEntry{}, fmt.Errorf("pgstore: statuses held by %s: %w", source, err))
			return
		}
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (t *statusTx) Revocations(ctx context.Context) iter.Seq2[central.Revocation, error] {
	return func(yield func(central.Revocation, error) bool) {
		rows, err := t.tx.Query(ctx, "SELECT uci, revoked_at, until FROM status_revocations ORDER BY uci")
		if err != nil {
			yield(central.Revocation{}, fmt.Errorf("pgstore: revocations: %w", err))
			return
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (central.Revocation, error) {
			var (
				rv    central.Revocation
				until *time.Time
			)
			err := r.Scan(&rv.UCI, &rv.RevokedAt, &until)
			rv.RevokedAt = rv.RevokedAt.UTC()
			if until != nil {
				rv.Until = until.UTC()
			}
			return rv, err
		})
		if err != nil {
			yield(central.Revocation{}, fmt.Errorf("pgstore: revocations: %w", err))
			return
		}
		for _, rv := range all {
			if !yield(rv, nil) {
				return
			}
		}
	}
}

func (t *statusTx) Version(ctx context.Context) (uint64, error) { return t.version, nil }

func (t *statusTx) Counts(ctx context.Context) (entries, revocations int, err error) {
	err = t.tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM status_entries), (SELECT count(*) FROM status_revocations)").Scan(&entries, &revocations)
	if err != nil {
		return 0, 0, fmt.Errorf("pgstore: status counts: %w", err)
	}
	return entries, revocations, nil
}

func (t *statusTx) LapsedBetween(ctx context.Context, from, to time.Time) (entries, revocations int, err error) {
	err = t.tx.QueryRow(ctx, `SELECT
	(SELECT count(*) FROM status_entries WHERE until > $1 AND until <= $2),
	(SELECT count(*) FROM status_revocations WHERE until > $1 AND until <= $2)`, from, to).Scan(&entries, &revocations)
	if err != nil {
		return 0, 0, fmt.Errorf("pgstore: lapsed statuses: %w", err)
	}
	return entries, revocations, nil
}

func (t *statusTx) SetStatus(ctx context.Context, e central.StatusEntry) (central.StatusEntry, bool, error) {
	if err := e.Validate(); err != nil {
		return central.StatusEntry{}, false, err
	}
	prev, had, err := t.Status(ctx, e.Holder)
	if err != nil {
		return central.StatusEntry{}, false, err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO status_entries (`+statusColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (holder) DO UPDATE SET status = EXCLUDED.status, effective = EXCLUDED.effective, until = EXCLUDED.until,
	reason = EXCLUDED.reason, note = EXCLUDED.note, source = EXCLUDED.source, rule_set = EXCLUDED.rule_set, set_at = EXCLUDED.set_at`,
		e.Holder.String(), e.Status.String(), e.Effective, nullTime(e.Until), int16(e.Reason), e.Note, e.Source, e.RuleSet, e.SetAt)
	if err != nil {
		return central.StatusEntry{}, false, fmt.Errorf("pgstore: set status of %s: %w", e.Holder, err)
	}
	return prev, had, nil
}

func (t *statusTx) Revoke(ctx context.Context, uci string, at, until time.Time) (bool, error) {
	var (
		prev   central.Revocation
		had    bool
		pUntil *time.Time
	)
	if uci != "" {
		err := t.tx.QueryRow(ctx, "SELECT revoked_at, until FROM status_revocations WHERE uci = $1", uci).Scan(&prev.RevokedAt, &pUntil)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return false, fmt.Errorf("pgstore: revoke %s: %w", uci, err)
		default:
			had, prev.UCI, prev.RevokedAt = true, uci, prev.RevokedAt.UTC()
			if pUntil != nil {
				prev.Until = pUntil.UTC()
			}
		}
	}
	next, fresh, changed, err := central.MergeRevocation(prev, had, uci, at, until)
	if err != nil || !changed {
		return fresh, err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO status_revocations (uci, revoked_at, until) VALUES ($1, $2, $3)
ON CONFLICT (uci) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, until = EXCLUDED.until`, uci, next.RevokedAt, nullTime(next.Until))
	if err != nil {
		return false, fmt.Errorf("pgstore: revoke %s: %w", uci, err)
	}
	return fresh, nil
}

func (t *statusTx) SetVersion(ctx context.Context, v uint64) error {
	if v > 1<<63-1 {
		return fmt.Errorf("pgstore: status version %d does not fit", v)
	}
	if _, err := t.tx.Exec(ctx, "UPDATE status_version SET version = $1", int64(v)); err != nil {
		return fmt.Errorf("pgstore: set the status version: %w", err)
	}
	t.version = v
	return nil
}
