package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"sentinel/internal/central"
)

var _ central.Store = (*Store)(nil)

// Options configure Open. The zero value is usable.
type Options struct {
	// MaxConns bounds the connections to the database; 0 means 8.
	MaxConns int
	// Now reads the time of ingest for Device.LastSeen; nil means time.Now.
	Now func() time.Time
}

// Store is a central.Store on PostgreSQL.
type Store struct {
	connString string
	pool       *pool
	now        func() time.Time

	mu    sync.Mutex
	parts map[string]bool // partitions known to exist
}

// Open connects to the database that connString names (a URL or
// key=value string, as psql takes), applies the embedded migrations, and
// returns the store.
func Open(ctx context.Context, connString string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	ms, err := loadMigrations(migrations)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	s := &Store{connString: connString, pool: newPool(cfg, o.MaxConns), now: o.Now, parts: map[string]bool{}}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	_, err = migrate(ctx, conn, ms)
	s.pool.release(conn, err != nil)
	if err != nil {
		s.pool.close()
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	return s, nil
}

// Close implements central.Store.
func (s *Store) Close() error {
	s.pool.close()
	return nil
}

// partition returns the name of the partition of day t and its bounds.
func partition(t time.Time) (name string, from, to time.Time) {
	from = t.UTC().Truncate(24 * time.Hour)
	return "passages_p" + from.Format("20060102"), from, from.AddDate(0, 0, 1)
}

// ensurePartitions creates the partitions of the days that recs touch.
func (s *Store) ensurePartitions(ctx context.Context, conn *pgx.Conn, recs []central.Record) error {
	var need []time.Time
	seen := map[string]bool{}
	s.mu.Lock()
	for i := range recs {
		name, from, _ := partition(recs[i].Time)
		if !s.parts[name] && !seen[name] {
			seen[name] = true
			need = append(need, from)
		}
	}
	s.mu.Unlock()
	for _, day := range need {
		name, from, to := partition(day)
		// The advisory lock serialises servers creating the same day.
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock+1); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, fmt.Sprintf(
				"CREATE TABLE IF NOT EXISTS %s PARTITION OF passages FOR VALUES FROM ('%s') TO ('%s')",
				name, from.Format(time.RFC3339), to.Format(time.RFC3339)))
			return err
		})
		if err != nil {
			return fmt.Errorf("create partition %s: %w", name, err)
		}
		s.mu.Lock()
		s.parts[name] = true
		s.mu.Unlock()
	}
	return nil
}

var copyColumns = []string{"device", "epoch", "seq", "time", "site", "holder", "decision", "reasons", "stored"}

// Ingest implements central.Store. See the package documentation.
func (s *Store) Ingest(ctx context.Context, device string, epoch central.Epoch, recs []central.Record) (uint64, error) {
	if err := central.Validate(device, recs); err != nil {
		return 0, err
	}
	if n := len(recs); n > 0 && recs[n-1].Seq > math.MaxInt64 {
		return 0, fmt.Errorf("%w: sequence number %d beyond the store's range", central.ErrMalformed, recs[n-1].Seq)
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: ingest %s/%s: %w", device, epoch, err)
	}
	hw, err := s.ingest(ctx, conn, device, epoch, recs)
	var gap *central.GapError
	s.pool.release(conn, err != nil && !errors.As(err, &gap))
	if err != nil && gap == nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23514" { // no partition for a row
			s.forgetPartitions()
		}
		return 0, fmt.Errorf("pgstore: ingest %s/%s: %w", device, epoch, err)
	}
	return hw, err
}

func (s *Store) ingest(ctx context.Context, conn *pgx.Conn, device string, epoch central.Epoch, recs []central.Record) (uint64, error) {
	if len(recs) == 0 {
		return s.highWater(ctx, conn, device, epoch)
	}
	if err := s.ensurePartitions(ctx, conn, recs); err != nil {
		return 0, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	// The upsert locks the mark's row until commit and returns the mark,
	// in one round trip; a concurrent ingest of the same (device, epoch)
	// waits here and then reads the mark this one commits.
	var cur int64
	err = tx.QueryRow(ctx, `INSERT INTO high_water AS h (device, epoch, seq) VALUES ($1, $2, 0)
		ON CONFLICT (device, epoch) DO UPDATE SET seq = h.seq RETURNING seq`, device, epoch[:]).Scan(&cur)
	if err != nil {
		return 0, fmt.Errorf("lock high-water: %w", err)
	}
	rest, hw, err := central.Plan(device, epoch, uint64(cur), recs)
	if err != nil || len(rest) == 0 {
		return hw, err // the rollback keeps a refused batch from leaving a mark
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"passages"}, copyColumns, &copySource{device: device, epoch: epoch[:], recs: rest, i: -1})
	if err != nil {
		return 0, fmt.Errorf("copy passages: %w", err)
	}
	if n != int64(len(rest)) {
		return 0, fmt.Errorf("copy passages: copied %d rows of %d", n, len(rest))
	}
	b := &pgx.Batch{}
	b.Queue("UPDATE high_water SET seq = $3 WHERE device = $1 AND epoch = $2", device, epoch[:], int64(hw))
	b.Queue(`INSERT INTO devices AS d (device, last_seen) VALUES ($1, $2)
		ON CONFLICT (device) DO UPDATE SET last_seen = greatest(d.last_seen, excluded.last_seen)`, device, s.now())
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("raise high-water: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return hw, nil
}

// copySource feeds records to CopyFrom.
type copySource struct {
	device string
	epoch  []byte
	recs   []central.Record
	i      int
}

func (c *copySource) Next() bool { c.i++; return c.i < len(c.recs) }
func (c *copySource) Err() error { return nil }
func (c *copySource) Values() ([]any, error) {
	r := &c.recs[c.i]
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return []any{c.device, c.epoch, int64(r.Seq), r.Time, r.Site, r.Holder, r.Decision, reasons, r.Stored}, nil
}

func (s *Store) forgetPartitions() {
	s.mu.Lock()
	clear(s.parts)
	s.mu.Unlock()
}

func (s *Store) highWater(ctx context.Context, conn *pgx.Conn, device string, epoch central.Epoch) (uint64, error) {
	var hw int64
	err := conn.QueryRow(ctx, "SELECT seq FROM high_water WHERE device = $1 AND epoch = $2", device, epoch[:]).Scan(&hw)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return uint64(hw), err
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: high-water %s/%s: %w", device, epoch, err)
	}
	hw, err := s.highWater(ctx, conn, device, epoch)
	s.pool.release(conn, err != nil)
	if err != nil {
		return 0, fmt.Errorf("pgstore: high-water %s/%s: %w", device, epoch, err)
	}
	return hw, nil
}

// Passages implements central.Store.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		conn, err := s.pool.acquire(ctx)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
			return
		}
		broken := true
		defer func() { s.pool.release(conn, broken) }()
		var where []string
		var args []any
		add := func(cond string, v any) {
			args = append(args, v)
			where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
		}
		if !f.From.IsZero() {
			add("time >= ?", f.From)
		}
		if !f.To.IsZero() {
			add("time < ?", f.To)
		}
		if f.Site != "" {
			add("site = ?", f.Site)
		}
		if f.Device != "" {
			add("device = ?", f.Device)
		}
		if f.Holder != "" {
			add("holder = ?", f.Holder)
		}
		q := "SELECT device, epoch, seq, time, site, holder, decision, reasons, stored FROM passages"
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		q += " ORDER BY time, device, epoch, seq"
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p central.Passage
			var epoch []byte
			var seq int64
			if err := rows.Scan(&p.Device, &epoch, &seq, &p.Time, &p.Site, &p.Holder, &p.Decision, &p.Reasons, &p.Stored); err != nil {
				yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
				return
			}
			copy(p.Epoch[:], epoch)
			p.Seq = uint64(seq)
			p.Time = p.Time.UTC()
			if len(p.Reasons) == 0 {
				p.Reasons = nil
			}
			if !yield(p, nil) {
				// Closing the rows would read the rest of the result; an
				// export abandoned early drops the connection instead.
				conn.Close(context.Background())
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
			return
		}
		broken = false
	}
}

// Devices implements central.Store.
func (s *Store) Devices(ctx context.Context) ([]central.Device, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: devices: %w", err)
	}
	defer func() { s.pool.release(conn, err != nil) }()
	rows, err := conn.Query(ctx, `SELECT d.device, d.last_seen, h.epoch, h.seq
		FROM devices d JOIN high_water h USING (device) WHERE h.seq > 0 ORDER BY d.device, h.epoch`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: devices: %w", err)
	}
	var out []central.Device
	for rows.Next() {
		var id string
		var seen time.Time
		var epoch []byte
		var hw int64
		if err = rows.Scan(&id, &seen, &epoch, &hw); err != nil {
			return nil, fmt.Errorf("pgstore: devices: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, central.Device{ID: id, LastSeen: seen.UTC()})
		}
		m := central.Mark{HighWater: uint64(hw)}
		copy(m.Epoch[:], epoch)
		d := &out[len(out)-1]
		d.Marks = append(d.Marks, m)
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: devices: %w", err)
	}
	return out, nil
}

// DropBefore drops the day partitions that end at or before horizon and
// returns their names. High-water marks stay, so records older than the
// horizon that a terminal sends again are still dropped as duplicates.
func (s *Store) DropBefore(ctx context.Context, horizon time.Time) ([]string, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: drop before %s: %w", horizon, err)
	}
	defer func() { s.pool.release(conn, err != nil) }()
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'passages'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: drop before %s: %w", horizon, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: drop before %s: %w", horizon, err)
	}
	var dropped []string
	for _, name := range names {
		day, perr := time.Parse("20060102", strings.TrimPrefix(name, "passages_p"))
		if perr != nil || day.AddDate(0, 0, 1).After(horizon) {
			continue
		}
		if _, err = conn.Exec(ctx, "DROP TABLE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("pgstore: drop partition %s: %w", name, err)
		}
		s.mu.Lock()
		delete(s.parts, name)
		s.mu.Unlock()
		dropped = append(dropped, name)
	}
	return dropped, nil
}
