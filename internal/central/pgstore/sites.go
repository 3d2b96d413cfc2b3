package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"sentinel/internal/central"
)

// This file is the part of the store that package pgshard uses when the
// database is one cluster of several, each holding the passages of some
// sites (migration 0009): ingest and reads that first check, in the same
// transaction, that the site is held here.

// querier is what the queries of a store need of a connection or a
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Site states in site_owner.
const (
	SiteActive = "active" // ingest and reads here
	SiteMoving = "moving" // being copied away: reads here, ingest waits
	SiteGone   = "gone"   // moved away
)

// SiteFenceError is returned by IngestSite, and by the Site reads, when
// this database does not hold the site for the operation: State is the
// site's state here ("" when this database has no entry for it).
type SiteFenceError struct {
	Site  string
	State string
}

func (e *SiteFenceError) Error() string {
	switch e.State {
	case SiteMoving:
		return fmt.Sprintf("pgstore: site %q is being moved to another cluster: retry in a moment", e.Site)
	case SiteGone:
		return fmt.Sprintf("pgstore: site %q has moved to another cluster", e.Site)
	}
	return fmt.Sprintf("pgstore: this cluster does not hold site %q", e.Site)
}

// siteLockClass is the first key of the advisory locks on sites
// (pg_advisory_xact_lock_shared(class, hashtext(site))): an ingest holds
// its site's shared, a move takes it exclusively to change the site's
// state.
const siteLockClass = 0x53495445 // "SITE"

// holdSite takes the site's lock shared for the transaction and checks
// that the site is active here. The check runs after the lock is granted
// (a statement of its own, so with a snapshot taken after the lock), and
// so sees the state a move committed while this waited.
func holdSite(ctx context.Context, tx pgx.Tx, site string) error {
	// One round trip: the server runs the second statement, with a
	// snapshot of its own, once the first has the lock.
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", siteLockClass, site)
	b.Queue("SELECT state FROM site_owner WHERE site = $1", site)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("lock site %q: %w", site, err)
	}
	var state string
	err := br.QueryRow().Scan(&state)
	if cerr := br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) {
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read site %q: %w", site, err)
	}
	if state != SiteActive {
		return &SiteFenceError{Site: site, State: state}
	}
	return nil
}

// checkHeld refuses a read of a site that has moved away.
func checkHeld(ctx context.Context, q querier, site string) error {
	var state string
	err := q.QueryRow(ctx, "SELECT state FROM site_owner WHERE site = $1", site).Scan(&state)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: read site %q: %w", site, err)
	}
	if state == SiteGone {
		return &SiteFenceError{Site: site, State: state}
	}
	return nil
}

// IngestSite is IngestLinked on a database that is one cluster of
// several: it keeps the device's mark, data keys and forks under site,
// and first takes the site's lock shared and checks that the site is
// active here, all in the ingest's transaction; a *SiteFenceError when
// it is not, with nothing stored. Every record must name site.
func (s *Store) IngestSite(ctx context.Context, site, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	for i := range recs {
		if recs[i].Site != site {
			return central.Link{}, fmt.Errorf("%w: record %d (seq %d) names site %q, the device's passages are kept at site %q",
				central.ErrMalformed, i, recs[i].Seq, recs[i].Site, site)
		}
	}
	return s.ingestAt(ctx, site, true, device, epoch, recs, keys, admit)
}

// PlaceSite makes this database hold site, unless it holds a state for
// it already (a move may have started): the first ingest of a site that
// the routing map places here.
func (s *Store) PlaceSite(ctx context.Context, site string) error {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: place site %q: %w", site, err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO site_owner (site, state) VALUES ($1, 'active') ON CONFLICT (site) DO NOTHING", site)
	s.pool.release(conn, err != nil)
	if err != nil {
		return fmt.Errorf("pgstore: place site %q: %w", site, err)
	}
	return nil
}

// HoldsRowsOf reports whether this database holds any passage or mark
// of site.
func (s *Store) HoldsRowsOf(ctx context.Context, site string) (bool, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("pgstore: rows of site %q: %w", site, err)
	}
	var ok bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM passages WHERE site = $1)
		OR EXISTS (SELECT 1 FROM high_water WHERE site = $1)`, site).Scan(&ok)
	s.pool.release(conn, err != nil)
	if err != nil {
		return false, fmt.Errorf("pgstore: rows of site %q: %w", site, err)
	}
	return ok, nil
}

// PassagesHeld is Passages on a database that is one cluster of several:
// it leaves out the sites that have moved away, and with f.Site set it
// yields a *SiteFenceError when that site has, checked in the snapshot
// the rows are read in. A site's rows leave a cluster in the transaction
// that marks it gone and come in with the one that makes it active, so
// an answer with rows needs no check.
func (s *Store) PassagesHeld(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return s.passages(ctx, f, true)
}

// DevicesHeld is Devices on a database that is one cluster of several:
// it leaves out the marks and forks of sites that have moved away.
func (s *Store) DevicesHeld(ctx context.Context) ([]central.Device, error) {
	return s.devices(ctx, true)
}

// readSite runs fn in a read-only snapshot after checking that site has
// not moved away (a *SiteFenceError when it has).
func (s *Store) readSite(ctx context.Context, site string, fn func(q querier) error) error {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	broken := true
	defer func() { s.pool.release(conn, broken) }()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := checkHeld(ctx, tx, site); err != nil {
		broken = false
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	err = tx.Commit(ctx)
	broken = err != nil
	return err
}

// SiteLink is Link for a device whose rows are kept under site, checked
// to be held here.
func (s *Store) SiteLink(ctx context.Context, site, device string, epoch central.Epoch) (l central.Link, err error) {
	// Rows of a site are here only while it is held here: a mark found
	// needs no check (see passages).
	if l, err := s.Link(ctx, device, epoch); err == nil && l != (central.Link{}) {
		return l, nil
	}
	err = s.readSite(ctx, site, func(q querier) (err error) {
		l, err = s.link(ctx, q, device, epoch)
		return err
	})
	if err != nil {
		return central.Link{}, fmt.Errorf("pgstore: high-water %s/%s: %w", device, epoch, err)
	}
	return l, nil
}

// SiteKeys is Keys for a device whose rows are kept under site, checked
// to be held here.
func (s *Store) SiteKeys(ctx context.Context, site, device string, epoch central.Epoch) (out [][]byte, err error) {
	if out, err := s.Keys(ctx, device, epoch); err == nil && len(out) > 0 {
		return out, nil
	}
	err = s.readSite(ctx, site, func(q querier) error {
		rows, err := q.Query(ctx, "SELECT entry FROM data_keys WHERE device = $1 AND epoch = $2", device, epoch[:])
		if err == nil {
			out, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys %s/%s: %w", device, epoch, err)
	}
	return out, nil
}

// SiteFork is Fork for a device whose rows are kept under site, checked
// to be held here.
func (s *Store) SiteFork(ctx context.Context, site, device string, branch central.Epoch) (f central.Fork, ok bool, err error) {
	if f, ok, err := s.Fork(ctx, device, branch); err == nil && ok {
		return f, true, nil
	}
	err = s.readSite(ctx, site, func(q querier) error {
		p, err := forkOf(ctx, q, device, branch)
		if p != nil {
			f, ok = *p, true
		}
		return err
	})
	if err != nil {
		return central.Fork{}, false, fmt.Errorf("pgstore: fork %s/%s: %w", device, branch, err)
	}
	return f, ok, nil
}

// ConnString returns the connection string the store was opened with.
func (s *Store) ConnString() string { return s.connString }

// Days returns the first instant of each UTC day that has a partition.
func (s *Store) Days(ctx context.Context) ([]time.Time, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: days: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'passages'::regclass ORDER BY c.relname`)
	var names []string
	if err == nil {
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	s.pool.release(conn, err != nil)
	if err != nil {
		return nil, fmt.Errorf("pgstore: days: %w", err)
	}
	var out []time.Time
	for _, n := range names {
		if len(n) == len("passages_p20060102") {
			if d, err := time.Parse("passages_p20060102", n); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// EnsureDays creates the partitions of the UTC days of ts that are
// missing.
func (s *Store) EnsureDays(ctx context.Context, ts []time.Time) error {
	recs := make([]central.Record, len(ts))
	for i, t := range ts {
		recs[i].Time = t
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: partitions: %w", err)
	}
	err = s.ensurePartitions(ctx, conn, recs)
	s.pool.release(conn, err != nil)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23514" {
			s.forgetPartitions()
		}
		return fmt.Errorf("pgstore: partitions: %w", err)
	}
	return nil
}

// SiteLockKey returns the two keys of the advisory lock on site, which a
// move takes exclusively (pg_advisory_xact_lock(k1, hashtext(site))).
func SiteLockKey() int32 { return siteLockClass }

// WithConn runs fn on a connection of the store's pool, for the routing
// tables of package pgshard. A connection fn leaves in a transaction, or
// after an error, is closed rather than reused.
func (s *Store) WithConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	err = fn(conn)
	s.pool.release(conn, err != nil)
	return err
}
