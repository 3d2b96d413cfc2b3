package pgstore

import (
	"bytes"
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
	// ReadOnly opens a replica (a hot standby) for reading: Open applies
	// no migration, it only checks that the schema is this binary's. For
	// the ops queries (export, trace, fleet), whose connection string may
	// ask for a standby (target_session_attrs=prefer-standby).
	ReadOnly bool
}

// Store is a central.Store on PostgreSQL.
type Store struct {
	connString string
	pool       *pool
	now        func() time.Time
	id         string // of its notifications (watch.go)

	mu    sync.Mutex
	parts map[string]bool // partitions known to exist

	bundleMu chan struct{} // one LockBundles of this process at a time
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
	s := &Store{connString: connString, pool: newPool(cfg, o.MaxConns), now: o.Now, parts: map[string]bool{}, bundleMu: make(chan struct{}, 1), id: newStoreID()}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	if o.ReadOnly {
		err = checkSchema(ctx, conn, ms)
	} else {
		_, err = migrate(ctx, conn, ms)
	}
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

var copyColumns = []string{"device", "epoch", "seq", "time", "site", "holder", "decision", "reasons", "stored", "chain_break"}

// IngestLinked stores a contiguous ascending batch of one device's epoch
// in one transaction: it locks and reads the stored mark, lets admit
// decide what of recs to store, copies that with its Break, adds the data
// key entries keys (deduplicated), and raises the mark to the last record
// stored, keeping its Hash. It returns the mark after the transaction. An
// error from admit stores nothing and is returned unwrapped with the
// stored mark.
func (s *Store) IngestLinked(ctx context.Context, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	var site string
	if len(recs) > 0 {
		site = recs[0].Site
	}
	return s.ingestAt(ctx, site, false, device, epoch, recs, keys, admit)
}

// ingestAt is IngestLinked with the rows of the device kept under site;
// fenced checks first that this database holds site (IngestSite).
func (s *Store) ingestAt(ctx context.Context, site string, fenced bool, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	if err := central.Validate(device, recs); err != nil {
		return central.Link{}, err
	}
	if n := len(recs); n > 0 && recs[n-1].Seq > math.MaxInt64 {
		return central.Link{}, fmt.Errorf("%w: sequence number %d beyond the store's range", central.ErrMalformed, recs[n-1].Seq)
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return central.Link{}, fmt.Errorf("pgstore: ingest %s/%s: %w", device, epoch, err)
	}
	var admitErr error
	link, err := s.ingest(ctx, conn, site, fenced, device, epoch, recs, keys, func(m central.Link) ([]central.Record, central.EngineStep, error) {
		rest, step, err := admit(m)
		admitErr = err
		return rest, step, err
	})
	var (
		owned *central.EpochOwnerError
		fork  *central.ForkError
		fence *SiteFenceError
	)
	refused := errors.As(err, &owned) || errors.As(err, &fork) || errors.As(err, &fence)
	s.pool.release(conn, err != nil && admitErr == nil && !refused)
	if admitErr != nil {
		return link, admitErr
	}
	if refused {
		return link, err
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23514" { // no partition for a row
			s.forgetPartitions()
		}
		return central.Link{}, fmt.Errorf("pgstore: ingest %s/%s: %w", device, epoch, err)
	}
	return link, nil
}

func (s *Store) ingest(ctx context.Context, conn *pgx.Conn, site string, fenced bool, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	if len(recs) == 0 && len(keys) == 0 && !fenced {
		cur, err := s.link(ctx, conn, device, epoch)
		if err != nil {
			return central.Link{}, err
		}
		_, step, err := admit(cur)
		if err == nil && step != nil {
			err = errors.New("an engine step with nothing to store")
		}
		return cur, err
	}
	if err := s.ensurePartitions(ctx, conn, recs); err != nil {
		return central.Link{}, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return central.Link{}, err
	}
	defer tx.Rollback(ctx)
	if fenced {
		if err := holdSite(ctx, tx, site); err != nil {
			return central.Link{}, err
		}
		if len(recs) == 0 && len(keys) == 0 {
			cur, err := s.link(ctx, tx, device, epoch)
			if err != nil {
				return central.Link{}, err
			}
			_, step, err := admit(cur)
			if err == nil && step != nil {
				err = errors.New("an engine step with nothing to store")
			}
			return cur, err
		}
	}
	if err := claimEpoch(ctx, tx, device, epoch); err != nil {
		return central.Link{}, err
	}
	// The upsert locks the mark's row until commit and returns the mark,
	// in one round trip; a concurrent ingest of the same (device, epoch)
	// waits here and then reads the mark this one commits.
	var (
		seq  int64
		hash []byte
	)
	err = tx.QueryRow(ctx, `INSERT INTO high_water AS h (device, epoch, seq, site) VALUES ($1, $2, 0, $3)
		ON CONFLICT (device, epoch) DO UPDATE SET seq = h.seq, site = CASE WHEN h.site = '' THEN excluded.site ELSE h.site END
		RETURNING seq, hash`, device, epoch[:], site).Scan(&seq, &hash)
	if err != nil {
		return central.Link{}, fmt.Errorf("lock high-water: %w", err)
	}
	cur := central.Link{Seq: uint64(seq)}
	copy(cur.Hash[:], hash)
	var self *central.Fork
	if cur.Seq == 0 {
		if self, err = forkOf(ctx, tx, device, epoch); err != nil {
			return central.Link{}, err
		}
		if self != nil {
			cur.Seq = self.At - 1 // a branch starts where it forked
		}
	}
	if len(recs) > 0 && recs[0].Seq <= cur.Seq {
		f, err := s.findFork(ctx, tx, site, device, epoch, self, cur, recs)
		if err != nil {
			return central.Link{}, err
		}
		if f != nil {
			if err := tx.Commit(ctx); err != nil {
				return central.Link{}, fmt.Errorf("commit fork: %w", err)
			}
			return cur, &central.ForkError{Device: device, Fork: *f}
		}
	}
	rest, step, err := admit(cur)
	if err != nil {
		return cur, err // the rollback keeps a refused batch from leaving a mark
	}
	// A salvaged range may start past the mark with the loss flagged
	// as its first record's break (server.Admit).
	if len(rest) > 0 && rest[0].Seq != cur.Seq+1 && !(rest[0].Seq > cur.Seq+1 && rest[0].Break != "") {
		return central.Link{}, fmt.Errorf("admitted records start at %d after the mark %d", rest[0].Seq, cur.Seq)
	}
	if step != nil {
		// The facts of the admitted records, in this transaction, after
		// the lock that orders the engine's writers (UpdateEngine).
		if _, err := tx.Exec(ctx, "SELECT one FROM engine_lock FOR UPDATE"); err != nil {
			return central.Link{}, fmt.Errorf("engine: lock: %w", err)
		}
		// No NOTIFY (watch.go): the serve that ingests the fevers judges
		// their holders itself (server.Config.OnFever), and a fever must
		// not start a sweep of everyone on every other serve.
		if err := step(ctx, central.EngineTxOf(&engineTx{tx: tx})); err != nil {
			return central.Link{}, fmt.Errorf("engine: %w", err)
		}
	}
	if len(rest) == 0 && len(keys) == 0 {
		return cur, nil
	}
	b := &pgx.Batch{}
	for _, k := range keys {
		b.Queue(`INSERT INTO data_keys (device, epoch, entry, site) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, device, epoch[:], k, site)
	}
	next := cur
	if len(rest) > 0 {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"passages"}, copyColumns, &copySource{device: device, epoch: epoch[:], recs: rest, i: -1})
		if err != nil {
			return central.Link{}, fmt.Errorf("copy passages: %w", err)
		}
		if n != int64(len(rest)) {
			return central.Link{}, fmt.Errorf("copy passages: copied %d rows of %d", n, len(rest))
		}
		last := &rest[len(rest)-1]
		next = central.Link{Seq: last.Seq, Hash: last.Hash}
		b.Queue("UPDATE high_water SET seq = $3, hash = $4 WHERE device = $1 AND epoch = $2", device, epoch[:], int64(next.Seq), next.Hash[:])
		b.Queue(`INSERT INTO devices AS d (device, last_seen, site) VALUES ($1, $2, $3)
			ON CONFLICT (device) DO UPDATE SET last_seen = greatest(d.last_seen, excluded.last_seen),
			site = CASE WHEN d.site = '' THEN excluded.site ELSE d.site END`, device, s.now(), site)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return central.Link{}, fmt.Errorf("raise high-water: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return central.Link{}, fmt.Errorf("commit: %w", err)
	}
	return next, nil
}

// claimEpoch refuses a batch for an epoch that another device stored
// under first, and makes device the owner of an epoch that has none.
func claimEpoch(ctx context.Context, tx pgx.Tx, device string, epoch central.Epoch) error {
	var owner string
	err := tx.QueryRow(ctx, `WITH ins AS (INSERT INTO epoch_owners (epoch, device) VALUES ($1, $2)
		ON CONFLICT (epoch) DO NOTHING RETURNING device)
		SELECT device FROM ins UNION ALL SELECT device FROM epoch_owners WHERE epoch = $1`, epoch[:], device).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another ingest claimed it after this statement's snapshot.
		err = tx.QueryRow(ctx, "SELECT device FROM epoch_owners WHERE epoch = $1", epoch[:]).Scan(&owner)
	}
	if err != nil {
		return fmt.Errorf("epoch owner: %w", err)
	}
	if owner != device {
		return &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: owner}
	}
	return nil
}

const forkColumns = "epoch, journal, branch, at, mark, found"

func scanFork(row pgx.Row) (central.Fork, error) {
	var (
		f                      central.Fork
		epoch, journal, branch []byte
		at, mark               int64
	)
	if err := row.Scan(&epoch, &journal, &branch, &at, &mark, &f.Found); err != nil {
		return f, err
	}
	copy(f.Epoch[:], epoch)
	copy(f.Journal[:], journal)
	copy(f.Branch[:], branch)
	f.At, f.Mark, f.Found = uint64(at), uint64(mark), f.Found.UTC()
	return f, nil
}

// forkOf returns the fork whose branch is epoch, nil when epoch is not a
// branch of device.
func forkOf(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, device string, epoch central.Epoch) (*central.Fork, error) {
	f, err := scanFork(q.QueryRow(ctx, "SELECT "+forkColumns+" FROM forks WHERE device = $1 AND branch = $2", device, epoch[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fork: %w", err)
	}
	return &f, nil
}

// findFork compares the batch's records at or below the mark with those
// stored; at the first that differs it records the fork (once: a fork
// found again keeps its first row), gives its branch to the device and
// returns it.
func (s *Store) findFork(ctx context.Context, tx pgx.Tx, site, device string, epoch central.Epoch, self *central.Fork, mark central.Link, recs []central.Record) (*central.Fork, error) {
	to := min(mark.Seq, recs[len(recs)-1].Seq)
	rows, err := tx.Query(ctx, "SELECT seq, stored FROM passages WHERE device = $1 AND epoch = $2 AND seq BETWEEN $3 AND $4",
		device, epoch[:], int64(recs[0].Seq), int64(to))
	if err != nil {
		return nil, fmt.Errorf("read stored records: %w", err)
	}
	held := map[uint64][]byte{}
	var (
		seq    int64
		stored []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&seq, &stored}, func() error {
		held[uint64(seq)] = bytes.Clone(stored)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stored records: %w", err)
	}
	at, b, _ := central.FindFork(mark, recs, func(seq uint64) ([]byte, bool, error) {
		v, ok := held[seq]
		return v, ok, nil
	})
	if at == 0 {
		return nil, nil
	}
	if self == nil {
		if self, err = forkOf(ctx, tx, device, epoch); err != nil {
			return nil, err
		}
	}
	journal := epoch
	if self != nil {
		journal = self.Journal
	}
	f := central.NewFork(epoch, journal, at, mark.Seq, b, s.now())
	if _, err := tx.Exec(ctx, `INSERT INTO forks (device, `+forkColumns+`, site) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (device, branch) DO NOTHING`, device, f.Epoch[:], f.Journal[:], f.Branch[:], int64(f.At), int64(f.Mark), f.Found, site); err != nil {
		return nil, fmt.Errorf("record fork: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO epoch_owners (epoch, device) VALUES ($1, $2) ON CONFLICT (epoch) DO NOTHING`, f.Branch[:], device); err != nil {
		return nil, fmt.Errorf("record fork: %w", err)
	}
	return forkOf(ctx, tx, device, f.Branch)
}

// Fork returns the fork of device whose branch is branch; false when
// there is none.
func (s *Store) Fork(ctx context.Context, device string, branch central.Epoch) (central.Fork, bool, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return central.Fork{}, false, fmt.Errorf("pgstore: fork %s/%s: %w", device, branch, err)
	}
	f, err := forkOf(ctx, conn, device, branch)
	s.pool.release(conn, err != nil)
	if err != nil || f == nil {
		return central.Fork{}, false, err
	}
	return *f, true, nil
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
	return []any{c.device, c.epoch, int64(r.Seq), r.Time, r.Site, r.Holder, r.Decision, reasons, r.Stored, r.Break}, nil
}

func (s *Store) forgetPartitions() {
	s.mu.Lock()
	clear(s.parts)
	s.mu.Unlock()
}

func (s *Store) link(ctx context.Context, conn querier, device string, epoch central.Epoch) (central.Link, error) {
	var (
		seq  int64
		hash []byte
	)
	err := conn.QueryRow(ctx, "SELECT seq, hash FROM high_water WHERE device = $1 AND epoch = $2", device, epoch[:]).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return central.Link{}, nil
	}
	l := central.Link{Seq: uint64(seq)}
	copy(l.Hash[:], hash)
	return l, err
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	l, err := s.Link(ctx, device, epoch)
	return l.Seq, err
}

// Link returns the mark of (device, epoch) with the chain hash of its
// record: the zero Link when nothing is stored.
func (s *Store) Link(ctx context.Context, device string, epoch central.Epoch) (central.Link, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return central.Link{}, fmt.Errorf("pgstore: high-water %s/%s: %w", device, epoch, err)
	}
	l, err := s.link(ctx, conn, device, epoch)
	s.pool.release(conn, err != nil)
	if err != nil {
		return central.Link{}, fmt.Errorf("pgstore: high-water %s/%s: %w", device, epoch, err)
	}
	return l, nil
}

// Keys returns the data key entries stored for (device, epoch), which
// journal.Opener.AddKey takes, in no particular order.
func (s *Store) Keys(ctx context.Context, device string, epoch central.Epoch) ([][]byte, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys %s/%s: %w", device, epoch, err)
	}
	rows, err := conn.Query(ctx, "SELECT entry FROM data_keys WHERE device = $1 AND epoch = $2", device, epoch[:])
	var out [][]byte
	if err == nil {
		out, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
	}
	s.pool.release(conn, err != nil)
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys %s/%s: %w", device, epoch, err)
	}
	return out, nil
}

// Passages implements central.Store.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return s.passages(ctx, f, false)
}

// passages yields the passages f selects; held keeps to the sites this
// database holds as a cluster of several (PassagesHeld).
func (s *Store) passages(ctx context.Context, f central.Filter, held bool) iter.Seq2[central.Passage, error] {
	if !held || f.Site == "" {
		return s.query(ctx, f, held, false)
	}
	return func(yield func(central.Passage, error) bool) {
		// A site's rows leave a cluster in the transaction that marks it
		// gone there, and come in with the one that makes it active: a
		// snapshot that has rows of the site holds it. Only an empty
		// answer needs the check, in the snapshot of the rows.
		n := 0
		for p, err := range s.query(ctx, f, false, false) {
			if err != nil {
				yield(p, err)
				return
			}
			n++
			if !yield(p, nil) {
				return
			}
		}
		if n > 0 {
			return
		}
		for p, err := range s.query(ctx, f, false, true) {
			if !yield(p, err) {
				return
			}
		}
	}
}

// query yields the passages f selects; held leaves out the sites that
// have moved away, checked first checks in the same snapshot that f.Site
// has not (a *SiteFenceError when it has).
func (s *Store) query(ctx context.Context, f central.Filter, held, checked bool) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		conn, err := s.pool.acquire(ctx)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
			return
		}
		broken := true
		defer func() { s.pool.release(conn, broken) }()
		var q querier = conn
		if checked {
			// One snapshot for the check of the site and the rows.
			tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
			if err != nil {
				yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
				return
			}
			defer tx.Rollback(context.Background())
			q = tx
			if f.Site != "" {
				if err := checkHeld(ctx, tx, f.Site); err != nil {
					broken = false
					yield(central.Passage{}, err)
					return
				}
			}
		}
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
		if held && f.Site == "" {
			where = append(where, "site NOT IN (SELECT site FROM site_owner WHERE state = 'gone')")
		}
		sql := "SELECT device, epoch, seq, time, site, holder, decision, reasons, stored, chain_break FROM passages"
		if f.Slim {
			// The columns of the indexes passages_site_time and
			// passages_holder_time: an index-only scan.
			sql = "SELECT device, epoch, seq, time, site, holder, decision FROM passages"
		}
		if len(where) > 0 {
			sql += " WHERE " + strings.Join(where, " AND ")
		}
		sql += " ORDER BY time, device, epoch, seq"
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgstore: passages: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p central.Passage
			var epoch []byte
			var seq int64
			dest := []any{&p.Device, &epoch, &seq, &p.Time, &p.Site, &p.Holder, &p.Decision, &p.Reasons, &p.Stored, &p.Break}
			if f.Slim {
				dest = dest[:7]
			}
			if err := rows.Scan(dest...); err != nil {
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
	return s.devices(ctx, false)
}

// devices lists the devices with records; held keeps to the sites this
// database holds as a cluster of several (DevicesHeld).
func (s *Store) devices(ctx context.Context, held bool) (_ []central.Device, err error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: devices: %w", err)
	}
	defer func() { s.pool.release(conn, err != nil) }()
	gone := ""
	if held {
		gone = " AND h.site NOT IN (SELECT site FROM site_owner WHERE state = 'gone')"
	}
	rows, err := conn.Query(ctx, `SELECT d.device, d.last_seen, h.epoch, h.seq
		FROM devices d JOIN high_water h USING (device) WHERE h.seq > 0`+gone+` ORDER BY d.device, h.epoch`)
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
	gone = ""
	if held {
		gone = " WHERE site NOT IN (SELECT site FROM site_owner WHERE state = 'gone')"
	}
	rows, err = conn.Query(ctx, "SELECT device, "+forkColumns+" FROM forks"+gone+" ORDER BY device")
	if err != nil {
		return nil, fmt.Errorf("pgstore: devices: forks: %w", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var id string
		var f central.Fork
		var epoch, journal, branch []byte
		var at, mark int64
		if err = rows.Scan(&id, &epoch, &journal, &branch, &at, &mark, &f.Found); err != nil {
			return nil, fmt.Errorf("pgstore: devices: forks: %w", err)
		}
		copy(f.Epoch[:], epoch)
		copy(f.Journal[:], journal)
		copy(f.Branch[:], branch)
		f.At, f.Mark, f.Found = uint64(at), uint64(mark), f.Found.UTC()
		for i < len(out) && out[i].ID < id {
			i++
		}
		if i < len(out) && out[i].ID == id {
			out[i].Forks = append(out[i].Forks, f)
		}
	}
	if err = rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: devices: forks: %w", err)
	}
	for i := range out {
		central.SortForks(out[i].Forks)
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
		// IF EXISTS: every server's scheduler applies retention, and
		// another may have dropped the day since the list was read.
		if _, err = conn.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("pgstore: drop partition %s: %w", name, err)
		}
		s.mu.Lock()
		delete(s.parts, name)
		s.mu.Unlock()
		dropped = append(dropped, name)
	}
	return dropped, nil
}
