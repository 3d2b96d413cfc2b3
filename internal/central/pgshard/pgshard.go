package pgshard

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/pgstore"
)

var _ central.Store = (*Store)(nil)

// Home is the name of the home cluster: the database that serve
// --postgres names, which keeps the routing map and the centre's state.
const Home = "home"

// ErrSiteMoving is wrapped by the error of an ingest of a site that is
// being moved to another cluster for longer than Options.MoveWait: a
// temporary refusal, which the terminal's next upload overcomes. The
// error also matches central.ErrBusy.
var ErrSiteMoving = errors.New("pgshard: the site is being moved to another cluster")

// ErrClusterDown is wrapped by the error of an operation that needs a
// passage cluster that cannot be reached: a temporary failure of that
// cluster's sites only.
var ErrClusterDown = errors.New("cannot reach passage cluster")

// Options configure Open. The zero value is usable.
type Options struct {
	// MaxConns bounds the connections to each cluster; 0 means 8.
	MaxConns int
	// Now reads the time of ingest for Device.LastSeen; nil means time.Now.
	Now func() time.Time
	// MoveWait is how long an ingest of a site that is being moved waits
	// for the move to finish before it fails with ErrSiteMoving; 0 means
	// 5 s.
	MoveWait time.Duration
	// Logger gets the routing decisions (a site placed, an ingest sent
	// to a site's new cluster); nil discards them.
	Logger *slog.Logger
}

// Store is a central.Store whose passages, marks, data keys and forks are
// spread by site over PostgreSQL clusters, and whose other state
// (statuses, registry, engine, audit, tokens, health) is the home
// cluster's. See the package comment.
type Store struct {
	*pgstore.Store // the home cluster: everything but passages is here

	home *pgstore.Store
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	clusters map[string]*pgstore.Store // open clusters by name, home included
	conns    map[string]string         // their connection strings
	routes   map[string]string         // site → cluster, as last read (ingest checks it)
	devSites map[string]string         // device → its site, claimed at the home cluster
	owners   map[central.Epoch]string  // epoch → the device that claimed it
	down     map[string]error          // clusters that could not be opened, by name
}

// Open opens the home cluster at connString (applying the migrations)
// and the clusters its routing map names.
func Open(ctx context.Context, connString string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MoveWait <= 0 {
		o.MoveWait = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	home, err := pgstore.Open(ctx, connString, &pgstore.Options{MaxConns: o.MaxConns, Now: o.Now})
	if err != nil {
		return nil, err
	}
	s := &Store{
		Store: home, home: home, opts: o, log: o.Logger,
		clusters: map[string]*pgstore.Store{Home: home},
		conns:    map[string]string{Home: connString},
		routes:   map[string]string{},
		devSites: map[string]string{},
		owners:   map[central.Epoch]string{},
		down:     map[string]error{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var self string
	err = home.WithConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `WITH ins AS (INSERT INTO cluster_self (one, name) VALUES (true, $1) ON CONFLICT DO NOTHING RETURNING name)
			SELECT name FROM ins UNION ALL SELECT name FROM cluster_self`, Home).Scan(&self)
	})
	if err == nil && self != Home {
		err = fmt.Errorf("this database was added as passage cluster %q of a centre: open that centre's home database instead", self)
	}
	if err == nil {
		_, err = s.loadClusters(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pgshard: open: %w", err)
	}
	return s, nil
}

// Close closes every cluster.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, c := range s.clusters {
		c.Close()
		delete(s.clusters, name)
	}
	return nil
}

// Home returns the home cluster's store.
func (s *Store) Home() *pgstore.Store { return s.home }

// loadClusters reads the clusters of the routing map and opens those not
// open yet; it returns their names, home first. A cluster that cannot be
// opened is logged and kept in down, and tried again at the next call:
// cluster returns its error.
func (s *Store) loadClusters(ctx context.Context) ([]string, error) {
	type row struct{ name, conn string }
	var rows []row
	err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
		rs, err := c.Query(ctx, "SELECT name, conn FROM clusters ORDER BY name")
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.name, &x.conn)
			return x, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the clusters: %w", err)
	}
	names := []string{Home}
	for _, r := range rows {
		names = append(names, r.name)
		s.mu.Lock()
		_, ok := s.clusters[r.name]
		s.mu.Unlock()
		if ok {
			continue
		}
		c, err := pgstore.Open(ctx, r.conn, &pgstore.Options{MaxConns: s.opts.MaxConns, Now: s.opts.Now})
		if err != nil {
			// One cluster down stops its own sites only: the others,
			// and everything the home cluster serves, go on. cluster
			// reports it to whoever needs it, and tries it again.
			if ctx.Err() != nil {
				return nil, fmt.Errorf("cluster %q: %w", r.name, err)
			}
			s.log.Warn("passage cluster cannot be reached; its sites' uploads wait for it", "cluster", r.name, "err", err)
			s.mu.Lock()
			s.down[r.name] = err
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		if _, ok := s.clusters[r.name]; ok {
			c.Close()
		} else {
			s.clusters[r.name], s.conns[r.name] = c, r.conn
		}
		delete(s.down, r.name)
		s.mu.Unlock()
	}
	return names, nil
}

// cluster returns the open cluster name, reading the clusters again when
// it is not open (one added since).
func (s *Store) cluster(ctx context.Context, name string) (*pgstore.Store, error) {
	s.mu.Lock()
	c, ok := s.clusters[name]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	if _, err := s.loadClusters(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok = s.clusters[name]
	down := s.down[name]
	s.mu.Unlock()
	if !ok && down != nil {
		return nil, fmt.Errorf("%w %q: the uploads of its sites wait (the terminals retry) and reads that need it fail until its PostgreSQL is back: %w", ErrClusterDown, name, down)
	}
	if !ok {
		return nil, fmt.Errorf("the routing map names cluster %q, which is not in its list of clusters", name)
	}
	return c, nil
}

// IngestLinked implements central.Ingester: the upload goes, as one
// transaction, to the cluster of the device's site, after the device's
// site and the epoch are claimed at the home cluster (once per process).
// An upload of a site that is being moved waits for the move, up to
// Options.MoveWait; the fevers it keeps as facts go to the home cluster
// (see the package comment).
func (s *Store) IngestLinked(ctx context.Context, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	if err := central.Validate(device, recs); err != nil {
		return central.Link{}, err
	}
	site := ""
	if len(recs) > 0 {
		site = recs[0].Site
		for i := range recs {
			if recs[i].Site != site {
				return central.Link{}, fmt.Errorf("%w: records of one upload name sites %q and %q: a terminal's passages all belong to its site",
					central.ErrMalformed, site, recs[i].Site)
			}
		}
	}
	site, err := s.claimDevice(ctx, device, site, len(recs) > 0)
	if err != nil {
		return central.Link{}, err
	}
	if err := s.claimEpoch(ctx, device, epoch); err != nil {
		return central.Link{}, err
	}
	deadline := time.Now().Add(s.opts.MoveWait)
	wait := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		name, c, err := s.route(ctx, site, true)
		if err != nil {
			return central.Link{}, fmt.Errorf("pgshard: ingest %s/%s: %w", device, epoch, err)
		}
		link, err := c.IngestSite(ctx, site, device, epoch, recs, keys, s.admitOn(ctx, name, admit))
		var fe *pgstore.SiteFenceError
		if !errors.As(err, &fe) {
			return link, err
		}
		s.forgetRoute(site)
		s.log.Info("ingest found the site's cluster changed", "site", site, "cluster", name, "state", fe.State, "device", device)
		if fe.State != pgstore.SiteMoving {
			if attempt < 8 {
				continue
			}
			return central.Link{}, fmt.Errorf("pgshard: ingest %s/%s: site %q is not held by the cluster the routing map names (%s): %w", device, epoch, site, name, err)
		}
		if time.Now().After(deadline) {
			return central.Link{}, fmt.Errorf("%w (%w): site %q is moving away from cluster %s; the terminal retries its upload", ErrSiteMoving, central.ErrBusy, site, name)
		}
		select {
		case <-ctx.Done():
			return central.Link{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// admitOn returns admit for an ingest on cluster name. On a cluster other
// than home, the engine step admit returns (the fevers of the records it
// admits) runs at once in its own transaction on the home cluster, where
// the engine's tables are, before the passages' transaction commits: a
// failure stores nothing, and a step kept before a failure of the
// passages' commit adds nothing when the terminal sends the records again
// (a fever's source names its record).
func (s *Store) admitOn(ctx context.Context, name string, admit central.AdmitFunc) central.AdmitFunc {
	if name == Home {
		return admit
	}
	return func(m central.Link) ([]central.Record, central.EngineStep, error) {
		rest, step, err := admit(m)
		if err != nil || step == nil {
			return rest, step, err
		}
		if err := s.home.UpdateEngine(ctx, func(tx central.EngineTx) error { return step(ctx, tx) }); err != nil {
			return nil, nil, fmt.Errorf("keep the facts of the upload at the home cluster: %w", err)
		}
		return rest, nil, nil
	}
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	l, err := s.Link(ctx, device, epoch)
	return l.Seq, err
}

// Link implements central.Ingester on the cluster of the device's site.
func (s *Store) Link(ctx context.Context, device string, epoch central.Epoch) (l central.Link, err error) {
	err = s.onDevice(ctx, device, func(site string, c *pgstore.Store) (err error) {
		l, err = c.SiteLink(ctx, site, device, epoch)
		return err
	})
	return l, err
}

// Keys implements central.Ingester on the cluster of the device's site.
func (s *Store) Keys(ctx context.Context, device string, epoch central.Epoch) (out [][]byte, err error) {
	err = s.onDevice(ctx, device, func(site string, c *pgstore.Store) (err error) {
		out, err = c.SiteKeys(ctx, site, device, epoch)
		return err
	})
	return out, err
}

// Fork implements central.Ingester on the cluster of the device's site.
func (s *Store) Fork(ctx context.Context, device string, branch central.Epoch) (f central.Fork, ok bool, err error) {
	err = s.onDevice(ctx, device, func(site string, c *pgstore.Store) (err error) {
		f, ok, err = c.SiteFork(ctx, site, device, branch)
		return err
	})
	return f, ok, err
}

// onDevice runs read on the cluster that holds device's rows, again on
// the site's new cluster when the site moved meanwhile.
func (s *Store) onDevice(ctx context.Context, device string, read func(site string, c *pgstore.Store) error) error {
	site, err := s.deviceSite(ctx, device)
	if err != nil {
		return fmt.Errorf("pgshard: device %s: %w", device, err)
	}
	for attempt := 0; ; attempt++ {
		_, c, err := s.route(ctx, site, false)
		if err != nil {
			return fmt.Errorf("pgshard: device %s: %w", device, err)
		}
		err = read(site, c)
		var fe *pgstore.SiteFenceError
		if !errors.As(err, &fe) || attempt == 8 {
			return err
		}
		s.forgetRoute(site)
	}
}

// Passages implements central.Store. A filter that names a site, or a
// device, reads the one cluster of that site; any other reads every
// cluster at once and merges their rows in the store's order.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		site := f.Site
		if site == "" && f.Device != "" {
			ds, err := s.deviceSite(ctx, f.Device)
			if err != nil {
				yield(central.Passage{}, fmt.Errorf("pgshard: passages: %w", err))
				return
			}
			if ds != "" {
				// A device's passages all name its site.
				site, f.Site = ds, ds
			}
		}
		if site != "" {
			s.sitePassages(ctx, site, f, yield)
			return
		}
		names, err := s.loadClusters(ctx)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgshard: passages: %w", err))
			return
		}
		var seqs []iter.Seq2[central.Passage, error]
		for _, n := range names {
			c, err := s.cluster(ctx, n)
			if err != nil {
				yield(central.Passage{}, fmt.Errorf("pgshard: passages: %w", err))
				return
			}
			seqs = append(seqs, c.PassagesHeld(ctx, f))
		}
		merge(seqs, yield)
	}
}

// sitePassages yields the passages of one site from its cluster.
func (s *Store) sitePassages(ctx context.Context, site string, f central.Filter, yield func(central.Passage, error) bool) {
	for attempt := 0; ; attempt++ {
		_, c, err := s.route(ctx, site, false)
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("pgshard: passages of site %q: %w", site, err))
			return
		}
		moved := false
		for p, err := range c.PassagesHeld(ctx, f) {
			var fe *pgstore.SiteFenceError
			if errors.As(err, &fe) && attempt < 8 {
				// Checked before the first row: nothing was yielded.
				moved = true
				break
			}
			if !yield(p, err) || err != nil {
				return
			}
		}
		if !moved {
			return
		}
		s.forgetRoute(site)
	}
}

// Devices implements central.Store: the devices of every cluster.
func (s *Store) Devices(ctx context.Context) ([]central.Device, error) {
	names, err := s.loadClusters(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgshard: devices: %w", err)
	}
	byID := map[string]*central.Device{}
	for _, n := range names {
		c, err := s.cluster(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("pgshard: devices: %w", err)
		}
		ds, err := c.DevicesHeld(ctx)
		if err != nil {
			return nil, fmt.Errorf("pgshard: devices of cluster %s: %w", n, err)
		}
		for _, d := range ds {
			have := byID[d.ID]
			if have == nil {
				byID[d.ID] = &d
				continue
			}
			// Only while a site is copied do two clusters hold a device:
			// the copy is at least as far as the source.
			if d.LastSeen.After(have.LastSeen) {
				have.LastSeen = d.LastSeen
			}
			have.Marks = mergeMarks(have.Marks, d.Marks)
			have.Forks = mergeForks(have.Forks, d.Forks)
		}
	}
	out := make([]central.Device, 0, len(byID))
	for _, d := range byID {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func mergeMarks(a, b []central.Mark) []central.Mark {
	m := map[central.Epoch]uint64{}
	for _, x := range append(a, b...) {
		m[x.Epoch] = max(m[x.Epoch], x.HighWater)
	}
	out := make([]central.Mark, 0, len(m))
	for e, hw := range m {
		out = append(out, central.Mark{Epoch: e, HighWater: hw})
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].Epoch[:]) < string(out[j].Epoch[:]) })
	return out
}

func mergeForks(a, b []central.Fork) []central.Fork {
	out := append([]central.Fork(nil), a...)
	for _, f := range b {
		dup := false
		for _, g := range a {
			dup = dup || g.Branch == f.Branch
		}
		if !dup {
			out = append(out, f)
		}
	}
	central.SortForks(out)
	return out
}

// DropBefore drops the day partitions that end at or before horizon on
// every cluster; the names of those of other clusters than home are
// prefixed with the cluster's name and a colon.
func (s *Store) DropBefore(ctx context.Context, horizon time.Time) ([]string, error) {
	names, err := s.loadClusters(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgshard: drop before %s: %w", horizon, err)
	}
	var out []string
	for _, n := range names {
		c, err := s.cluster(ctx, n)
		if err != nil {
			return out, err
		}
		dropped, err := c.DropBefore(ctx, horizon)
		for _, d := range dropped {
			if n != Home {
				d = n + ":" + d
			}
			out = append(out, d)
		}
		if err != nil {
			return out, fmt.Errorf("pgshard: cluster %s: %w", n, err)
		}
	}
	return out, nil
}
