package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
)

var _ central.EngineStore = (*Store)(nil)

// UpdateEngine implements central.EngineStore: one transaction that starts
// by locking the row of engine_lock, so that the writers of every process
// on the database run one after another.
func (s *Store) UpdateEngine(ctx context.Context, fn func(central.EngineTx) error) error {
	return s.engineTx(ctx, pgx.TxOptions{}, true, func(t *engineTx) error { return fn(central.EngineTxOf(t)) })
}

// ViewEngine implements central.EngineStore in a read-only repeatable-read
// transaction: one snapshot.
func (s *Store) ViewEngine(ctx context.Context, fn func(central.EngineReader) error) error {
	return s.engineTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false,
		func(t *engineTx) error { return fn(t) })
}

func (s *Store) engineTx(ctx context.Context, opts pgx.TxOptions, write bool, fn func(*engineTx) error) error {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: engine: %w", err)
	}
	broken := true
	defer func() { s.pool.release(conn, broken) }()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("pgstore: engine: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	if write {
		if _, err := tx.Exec(ctx, "SELECT one FROM engine_lock FOR UPDATE"); err != nil {
			return fmt.Errorf("pgstore: engine: lock: %w", err)
		}
	}
	et := &engineTx{tx: tx}
	if err := fn(et); err != nil {
		if rerr := tx.Rollback(ctx); rerr == nil {
			broken = false
		}
		return err
	}
	if et.changed {
		if err := s.notifyEngine(ctx, tx); err != nil {
			return fmt.Errorf("pgstore: engine: notify: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: engine: commit: %w", err)
	}
	broken = false
	return nil
}

// engineTx is central.EnginePrimitives on a PostgreSQL transaction.
type engineTx struct {
	tx pgx.Tx
	// changed is set by a change of the engine's data other than a
	// status it published: the commit notifies the other processes.
	changed bool
}

var _ central.EnginePrimitives = (*engineTx)(nil)

const factColumns = "seq, holder, kind, at, area, site, value, nanokelvin, until, source"

func scanFact(row pgx.Row) (central.Fact, error) {
	var (
		f     central.Fact
		seq   int64
		kind  string
		nk    int64
		until *time.Time
	)
	if err := row.Scan(&seq, &f.Holder, &kind, &f.At, &f.Area, &f.Site, &f.Value, &nk, &until, &f.Source); err != nil {
		return f, err
	}
	f.Seq, f.Kind, f.Temperature, f.At = uint64(seq), central.FactKind(kind), physic.Temperature(nk), f.At.UTC()
	if until != nil {
		f.Until = until.UTC()
	}
	return f, nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (t *engineTx) facts(ctx context.Context, where string, args ...any) ([]central.Fact, error) {
	rows, err := t.tx.Query(ctx, "SELECT "+factColumns+" FROM engine_facts "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read facts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (central.Fact, error) { return scanFact(r) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: read facts: %w", err)
	}
	return out, nil
}

func (t *engineTx) Facts(ctx context.Context, holder string) ([]central.Fact, error) {
	return t.facts(ctx, "WHERE holder = $1 ORDER BY seq", holder)
}

func (t *engineTx) AllFacts(ctx context.Context) ([]central.Fact, error) {
	return t.facts(ctx, "ORDER BY holder, seq")
}

func collect[T any](ctx context.Context, tx pgx.Tx, what, q string, scan func(pgx.CollectableRow) (T, error), args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read %s: %w", what, err)
	}
	return out, nil
}

func scanArea(r pgx.CollectableRow) (central.Area, error) {
	var a central.Area
	var kind string
	err := r.Scan(&a.ID, &kind, &a.Parent, &a.Name)
	a.Kind = central.AreaKind(kind)
	return a, err
}

func scanSite(r pgx.CollectableRow) (central.Site, error) {
	var s central.Site
	return s, r.Scan(&s.ID, &s.Area, &s.Name)
}

func (t *engineTx) Areas(ctx context.Context) ([]central.Area, error) {
	return collect(ctx, t.tx, "areas", "SELECT id, kind, parent, name FROM engine_areas ORDER BY id", scanArea)
}

func (t *engineTx) Sites(ctx context.Context) ([]central.Site, error) {
	return collect(ctx, t.tx, "sites", "SELECT id, area, name FROM engine_sites ORDER BY id", scanSite)
}

func (t *engineTx) Grades(ctx context.Context) ([]central.Grade, error) {
	return collect(ctx, t.tx, "grades", "SELECT area, level, effective, source FROM engine_grades ORDER BY area, effective, n",
		func(r pgx.CollectableRow) (central.Grade, error) {
			var g central.Grade
			var level string
			err := r.Scan(&g.Area, &level, &g.Effective, &g.Source)
			g.Level, g.Effective = central.Level(level), g.Effective.UTC()
			return g, err
		})
}

func (t *engineTx) RuleSets(ctx context.Context) ([]central.RuleSet, error) {
	return collect(ctx, t.tx, "rule sets", "SELECT region, number, label, source, signed, deployed, by_whom FROM engine_rule_sets ORDER BY region, number",
		func(r pgx.CollectableRow) (central.RuleSet, error) {
			var rs central.RuleSet
			var n int64
			err := r.Scan(&rs.Region, &n, &rs.Label, &rs.Source, &rs.Signed, &rs.Deployed, &rs.By)
			rs.Number, rs.Deployed = uint64(n), rs.Deployed.UTC()
			return rs, err
		})
}

func (t *engineTx) Changes(ctx context.Context, from uint64, limit int) ([]central.EngineChange, error) {
	q := "SELECT seq, time, by_whom, why, action, subject, detail FROM engine_changes WHERE seq >= $1 ORDER BY seq"
	args := []any{int64(min(from, 1<<62))}
	if limit > 0 {
		q += " LIMIT $2"
		args = append(args, limit)
	}
	return collect(ctx, t.tx, "engine audit", q, func(r pgx.CollectableRow) (central.EngineChange, error) {
		var c central.EngineChange
		var seq int64
		var detail []byte
		err := r.Scan(&seq, &c.Time, &c.By, &c.Why, &c.Action, &c.Subject, &detail)
		c.Seq, c.Time, c.Detail = uint64(seq), c.Time.UTC(), json.RawMessage(detail)
		return c, err
	}, args...)
}

// one returns the single row of a query, false when there is none.
func one[T any](ctx context.Context, tx pgx.Tx, what, q string, scan func(pgx.CollectableRow) (T, error), args ...any) (T, bool, error) {
	out, err := collect(ctx, tx, what, q, scan, args...)
	if err != nil || len(out) == 0 {
		var zero T
		return zero, false, err
	}
	return out[0], true, nil
}

func (t *engineTx) Area(ctx context.Context, id string) (central.Area, bool, error) {
	return one(ctx, t.tx, "area", "SELECT id, kind, parent, name FROM engine_areas WHERE id = $1", scanArea, id)
}

func (t *engineTx) Site(ctx context.Context, id string) (central.Site, bool, error) {
	return one(ctx, t.tx, "site", "SELECT id, area, name FROM engine_sites WHERE id = $1", scanSite, id)
}

func (t *engineTx) Fact(ctx context.Context, seq uint64) (central.Fact, bool, error) {
	if seq > 1<<62 {
		return central.Fact{}, false, nil
	}
	fs, err := t.facts(ctx, "WHERE seq = $1", int64(seq))
	if err != nil || len(fs) == 0 {
		return central.Fact{}, false, err
	}
	return fs[0], true, nil
}

func (t *engineTx) InsertFact(ctx context.Context, f central.Fact) (uint64, error) {
	var seq int64
	err := t.tx.QueryRow(ctx, `INSERT INTO engine_facts (holder, kind, at, area, site, value, nanokelvin, until, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq`,
		f.Holder, string(f.Kind), f.At, f.Area, f.Site, f.Value, int64(f.Temperature), optTime(f.Until), f.Source).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("pgstore: add fact: %w", err)
	}
	return uint64(seq), nil
}

func (t *engineTx) DeleteFact(ctx context.Context, seq uint64) error {
	if _, err := t.tx.Exec(ctx, "DELETE FROM engine_facts WHERE seq = $1", int64(seq)); err != nil {
		return fmt.Errorf("pgstore: remove fact %d: %w", seq, err)
	}
	return nil
}

func (t *engineTx) PutArea(ctx context.Context, a central.Area) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO engine_areas (id, kind, parent, name) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, parent = EXCLUDED.parent, name = EXCLUDED.name`,
		a.ID, string(a.Kind), a.Parent, a.Name)
	if err != nil {
		return fmt.Errorf("pgstore: set area %s: %w", a.ID, err)
	}
	return nil
}

func (t *engineTx) PutSite(ctx context.Context, s central.Site) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO engine_sites (id, area, name) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET area = EXCLUDED.area, name = EXCLUDED.name`, s.ID, s.Area, s.Name)
	if err != nil {
		return fmt.Errorf("pgstore: set site %s: %w", s.ID, err)
	}
	return nil
}

func (t *engineTx) InsertGrade(ctx context.Context, g central.Grade) error {
	_, err := t.tx.Exec(ctx, "INSERT INTO engine_grades (area, level, effective, source) VALUES ($1, $2, $3, $4)",
		g.Area, string(g.Level), g.Effective, g.Source)
	if err != nil {
		return fmt.Errorf("pgstore: add grade of %s: %w", g.Area, err)
	}
	return nil
}

func (t *engineTx) LastRuleSet(ctx context.Context, region string) (uint64, error) {
	var n *int64
	err := t.tx.QueryRow(ctx, "SELECT max(number) FROM engine_rule_sets WHERE region = $1", region).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: rule sets of %s: %w", region, err)
	}
	if n == nil {
		return 0, nil
	}
	return uint64(*n), nil
}

func (t *engineTx) InsertRuleSet(ctx context.Context, r central.RuleSet) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO engine_rule_sets (region, number, label, source, signed, deployed, by_whom)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Region, int64(r.Number), r.Label, r.Source, r.Signed, r.Deployed, r.By)
	if err != nil {
		return fmt.Errorf("pgstore: deploy rule set %s: %w", r.Region, err)
	}
	return nil
}

func (t *engineTx) AppendChange(ctx context.Context, c central.EngineChange) error {
	if !json.Valid(c.Detail) {
		return errors.New("pgstore: audit detail is not JSON")
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO engine_changes (time, by_whom, why, action, subject, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.Time, c.By, c.Why, c.Action, c.Subject, string(c.Detail))
	if err != nil {
		return fmt.Errorf("pgstore: audit %s %s: %w", c.Action, c.Subject, err)
	}
	if c.Action != central.ChangeStatus {
		t.changed = true
	}
	return nil
}

var _ central.EngineBatchPrimitives = (*engineTx)(nil)

// FactsOf implements central.EngineBatchPrimitives in one query.
func (t *engineTx) FactsOf(ctx context.Context, holders []string) ([]central.Fact, error) {
	return t.facts(ctx, "WHERE holder = ANY($1) ORDER BY holder, seq", holders)
}

// InsertFacts implements central.EngineBatchPrimitives in two round trips:
// it takes the numbers from the facts' sequence, then copies the rows in.
func (t *engineTx) InsertFacts(ctx context.Context, fs []central.Fact) ([]uint64, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence('engine_facts', 'seq')) FROM generate_series(1, $1)", len(fs))
	if err != nil {
		return nil, fmt.Errorf("pgstore: add facts: number them: %w", err)
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("pgstore: add facts: number them: %w", err)
	}
	if len(nums) != len(fs) {
		return nil, fmt.Errorf("pgstore: add facts: got %d numbers for %d facts", len(nums), len(fs))
	}
	slices.Sort(nums)
	seqs := make([]uint64, len(fs))
	src := make([][]any, len(fs))
	for i, f := range fs {
		seqs[i] = uint64(nums[i])
		src[i] = []any{nums[i], f.Holder, string(f.Kind), f.At, f.Area, f.Site, f.Value, int64(f.Temperature), optTime(f.Until), f.Source}
	}
	_, err = t.tx.CopyFrom(ctx, pgx.Identifier{"engine_facts"},
		[]string{"seq", "holder", "kind", "at", "area", "site", "value", "nanokelvin", "until", "source"}, pgx.CopyFromRows(src))
	if err != nil {
		return nil, fmt.Errorf("pgstore: add %d facts: %w", len(fs), err)
	}
	return seqs, nil
}

// AppendChanges implements central.EngineBatchPrimitives in one copy; the
// rows take their numbers in order.
func (t *engineTx) AppendChanges(ctx context.Context, cs []central.EngineChange) error {
	if len(cs) == 0 {
		return nil
	}
	src := make([][]any, len(cs))
	for i, c := range cs {
		if !json.Valid(c.Detail) {
			return errors.New("pgstore: audit detail is not JSON")
		}
		src[i] = []any{c.Time, c.By, c.Why, c.Action, c.Subject, string(c.Detail)}
		if c.Action != central.ChangeStatus {
			t.changed = true
		}
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"engine_changes"},
		[]string{"time", "by_whom", "why", "action", "subject", "detail"}, pgx.CopyFromRows(src))
	if err != nil {
		return fmt.Errorf("pgstore: audit %d changes: %w", len(cs), err)
	}
	return nil
}
