package pgshard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central/pgstore"
)

// ClusterInfo describes one cluster of the routing map.
type ClusterInfo struct {
	Name  string
	Conn  string // the connection string with any password replaced by ***
	Added time.Time
	Sites int // sites the routing map places on it
}

// SiteInfo is one entry of the routing map.
type SiteInfo struct {
	Site       string
	Cluster    string
	MovingFrom string // set while a move is under way, or its source not yet emptied
	MovingTo   string
	Placed     time.Time
	Moved      time.Time // zero when never moved
}

var clusterName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// AddCluster adds the PostgreSQL database at conn to the routing map as
// cluster name: it applies the migrations there and records the name in
// it, so that the same database is never added twice (nor the home
// database as a cluster). New sites are placed on the cluster with the
// fewest sites; existing ones stay until moved (MoveSite).
func (s *Store) AddCluster(ctx context.Context, name, conn string) error {
	if !clusterName.MatchString(name) || name == Home {
		return fmt.Errorf("pgshard: cluster name %q: use 1 to 32 lower-case letters, digits and '-', starting with a letter, and not %q", name, Home)
	}
	c, err := pgstore.Open(ctx, conn, nil)
	if err != nil {
		return fmt.Errorf("pgshard: add cluster %s: cannot open its database at %s: create it first (createdb), reachable from this host and every serve host, with the password in ~/.pgpass, and check the URL: %w", name, Redact(conn), err)
	}
	defer c.Close()
	var self string
	err = c.WithConn(ctx, func(pc *pgx.Conn) error {
		return pc.QueryRow(ctx, `WITH ins AS (INSERT INTO cluster_self (one, name) VALUES (true, $1) ON CONFLICT DO NOTHING RETURNING name)
			SELECT name FROM ins UNION ALL SELECT name FROM cluster_self`, name).Scan(&self)
	})
	if err != nil {
		return fmt.Errorf("pgshard: add cluster %s: %w", name, err)
	}
	if self != name {
		if self == Home {
			return fmt.Errorf("pgshard: add cluster %s: that database is a centre's home database (perhaps this one's): give a database of its own", name)
		}
		return fmt.Errorf("pgshard: add cluster %s: that database was added already, as cluster %q", name, self)
	}
	var have string
	err = s.home.WithConn(ctx, func(pc *pgx.Conn) error {
		return pc.QueryRow(ctx, `WITH ins AS (INSERT INTO clusters (name, conn) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING conn)
			SELECT conn FROM ins UNION ALL SELECT conn FROM clusters WHERE name = $1`, name, conn).Scan(&have)
	})
	if err != nil {
		return fmt.Errorf("pgshard: add cluster %s: %w", name, err)
	}
	if have != conn {
		return fmt.Errorf("pgshard: add cluster %s: a cluster of that name exists, at %s", name, Redact(have))
	}
	_, err = s.loadClusters(ctx)
	return err
}

// Clusters lists the clusters, home first.
func (s *Store) Clusters(ctx context.Context) ([]ClusterInfo, error) {
	var out []ClusterInfo
	err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT c.name, c.conn, c.added, (SELECT count(*) FROM site_clusters s WHERE s.cluster = c.name)
			FROM (SELECT $1::text COLLATE "C" AS name, $2::text AS conn, NULL::timestamptz AS added UNION ALL
			      SELECT name, conn, added FROM clusters) c ORDER BY c.name <> $1, c.name`, Home, s.conns[Home])
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClusterInfo, error) {
			var (
				ci    ClusterInfo
				added *time.Time
				n     int64
			)
			err := r.Scan(&ci.Name, &ci.Conn, &added, &n)
			if added != nil {
				ci.Added = added.UTC()
			}
			ci.Conn, ci.Sites = Redact(ci.Conn), int(n)
			return ci, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgshard: clusters: %w", err)
	}
	return out, nil
}

// Sites lists the routing map, by site.
func (s *Store) Sites(ctx context.Context) ([]SiteInfo, error) {
	var out []SiteInfo
	err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT site, cluster, coalesce(moving_from, ''), coalesce(moving_to, ''), placed, moved FROM site_clusters ORDER BY site")
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SiteInfo, error) {
			var (
				si    SiteInfo
				moved *time.Time
			)
			err := r.Scan(&si.Site, &si.Cluster, &si.MovingFrom, &si.MovingTo, &si.Placed, &moved)
			si.Placed = si.Placed.UTC()
			if moved != nil {
				si.Moved = moved.UTC()
			}
			return si, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgshard: sites: %w", err)
	}
	return out, nil
}

// Redact replaces the password of a connection string (URL or key=value)
// with ***.
func Redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
			return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
		}
		return conn
	}
	return passwordKV.ReplaceAllString(conn, "${1}***")
}

var passwordKV = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// moveLockClass is the first key of the session advisory lock at the home
// cluster that keeps two moves of one site from running at once.
const moveLockClass = 0x4d4f5645 // "MOVE"

// Moved reports what MoveSite did.
type Moved struct {
	Site       string
	From, To   string
	Passages   int64         // passages copied
	Marks      int64         // high-water marks copied
	Paused     time.Duration // from the site's ingest paused to the routing map switched
	Took       time.Duration
	AlreadyAt  bool // the site was on To already (and its source, if any, is now emptied)
	FirstPlace bool // the site had no rows anywhere: only placed
}

// MoveSite moves site to cluster to, while the other sites keep
// ingesting and this one's ingest waits (Options.MoveWait, then a
// temporary error the terminal retries):
//
//  1. the routing map notes the move (moving_from, moving_to);
//  2. on the source, the site's lock is taken exclusively, which waits
//     for the ingests in flight, and its state set to moving: no ingest
//     of the site commits there from then on;
//  3. its passages, marks, data keys, devices and forks are copied to the
//     target in one transaction, which makes the site active there;
//  4. the routing map names the target: ingest resumes there;
//  5. after the target's transactions older than the copy have ended
//     (readers that could miss the site otherwise), the site's rows are
//     deleted from the source in one transaction, which marks it gone.
//
// Every step can be run again: a move that stopped half-way (a crash, a
// cluster unreachable) is finished by running it again with the same
// target, and undone by moving the site back to its source. report, when
// not nil, gets a line per step in words.
func (s *Store) MoveSite(ctx context.Context, site, to string, report func(string)) (Moved, error) {
	start := time.Now()
	m := Moved{Site: site, To: to}
	say := func(format string, args ...any) {
		if report != nil {
			report(fmt.Sprintf(format, args...))
		}
	}
	if site == "" {
		return m, errors.New("pgshard: move: no site given")
	}
	dst, err := s.cluster(ctx, to)
	if errors.Is(err, ErrClusterDown) {
		return m, fmt.Errorf("pgshard: move %s to %s: nothing was moved: %w", site, to, err)
	}
	if err != nil {
		return m, fmt.Errorf("pgshard: move %s: no cluster %q: add it first (sentinel-central clusters add): %w", site, to, err)
	}
	homeConn, err := pgx.Connect(ctx, s.conns[Home])
	if err != nil {
		return m, fmt.Errorf("pgshard: move %s: connect to the home cluster: %w", site, err)
	}
	defer homeConn.Close(context.Background())
	var locked bool
	if err := homeConn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", moveLockClass, site).Scan(&locked); err != nil {
		return m, fmt.Errorf("pgshard: move %s: %w", site, err)
	}
	if !locked {
		return m, fmt.Errorf("pgshard: move %s: another move of this site is under way: let it finish ('sentinel-central clusters sites' shows it)", site)
	}
	var (
		cur          string
		from, target *string
	)
	err = homeConn.QueryRow(ctx, "SELECT cluster, moving_from, moving_to FROM site_clusters WHERE site = $1", site).Scan(&cur, &from, &target)
	if errors.Is(err, pgx.ErrNoRows) {
		legacy, err := s.home.HoldsRowsOf(ctx, site)
		if err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
		first := to
		if legacy {
			first = Home
		}
		if _, err := homeConn.Exec(ctx, "INSERT INTO site_clusters (site, cluster) VALUES ($1, $2) ON CONFLICT (site) DO NOTHING", site, first); err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
		if err := homeConn.QueryRow(ctx, "SELECT cluster, moving_from, moving_to FROM site_clusters WHERE site = $1", site).Scan(&cur, &from, &target); err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
		if cur == to && !legacy {
			m.FirstPlace, m.Took = true, time.Since(start)
			say("site %s had no passages anywhere: its first upload goes to cluster %s", site, to)
			return m, dst.PlaceSite(ctx, site)
		}
	} else if err != nil {
		return m, fmt.Errorf("pgshard: move %s: read the routing map: %w", site, err)
	}
	if target != nil && *target != to && cur != to {
		// A move to another cluster stopped before the switch: undo
		// its copy, then move from the source as planned.
		say("an earlier move of site %s to %s did not finish: removing its copy there", site, *target)
		if err := s.dropCopy(ctx, site, *target); err != nil {
			return m, err
		}
	}
	if from != nil && target == nil && cur != to {
		// An earlier move switched to cur but did not empty its source.
		say("an earlier move of site %s left its rows on %s: removing them", site, *from)
		if err := s.emptySource(ctx, site, *from); err != nil {
			return m, err
		}
		if _, err := homeConn.Exec(ctx, "UPDATE site_clusters SET moving_from = NULL WHERE site = $1", site); err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
	}
	src := cur
	if cur == to {
		if from == nil {
			m.AlreadyAt, m.Took = true, time.Since(start)
			say("site %s is on cluster %s already", site, to)
			return m, nil
		}
		if target != nil {
			// Moved back to its source before the switch: undo the copy.
			say("site %s stays on cluster %s: removing the copy of the unfinished move to %s", site, to, *target)
			if err := s.dropCopy(ctx, site, *target); err != nil {
				return m, err
			}
			if err := s.setState(ctx, to, site, pgstore.SiteActive); err != nil {
				return m, err
			}
			if _, err := homeConn.Exec(ctx, "UPDATE site_clusters SET moving_from = NULL, moving_to = NULL WHERE site = $1", site); err != nil {
				return m, fmt.Errorf("pgshard: move %s: %w", site, err)
			}
			m.AlreadyAt, m.Took = true, time.Since(start)
			return m, nil
		}
		// Switched, but the source not emptied yet.
		src = *from
		m.From, m.AlreadyAt = src, true
		say("site %s is on cluster %s; finishing the removal from %s", site, to, src)
	} else {
		m.From = src
		if _, err := homeConn.Exec(ctx, "UPDATE site_clusters SET moving_from = $2, moving_to = $3 WHERE site = $1", site, src, to); err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
		// The target's partitions first, outside the pause (the copy
		// creates those of days begun since).
		if err := s.copyDays(ctx, src, to); err != nil {
			return m, fmt.Errorf("pgshard: move %s: %w", site, err)
		}
		paused := time.Now()
		if err := s.pause(ctx, src, site); err != nil {
			return m, err
		}
		say("site %s: ingest paused on cluster %s", site, src)
		since, err := s.copySite(ctx, site, src, to, &m)
		if err != nil {
			return m, err
		}
		say("site %s: copied %d passages and %d marks to cluster %s", site, m.Passages, m.Marks, to)
		if _, err := homeConn.Exec(ctx, "UPDATE site_clusters SET cluster = $2, moving_to = NULL, moved = now() WHERE site = $1", site, to); err != nil {
			return m, fmt.Errorf("pgshard: move %s: switch the routing map: %w", site, err)
		}
		m.Paused = time.Since(paused)
		say("site %s: uploads go to cluster %s now (paused %v)", site, to, m.Paused.Round(time.Millisecond))
		s.forgetRoute(site)
		if err := s.waitReaders(ctx, to, since, say); err != nil {
			return m, err
		}
	}
	if err := s.emptySource(ctx, site, src); err != nil {
		return m, err
	}
	if _, err := homeConn.Exec(ctx, "UPDATE site_clusters SET moving_from = NULL WHERE site = $1", site); err != nil {
		return m, fmt.Errorf("pgshard: move %s: %w", site, err)
	}
	say("site %s: removed from cluster %s", site, src)
	m.Took = time.Since(start)
	return m, nil
}

// connect opens a connection of its own to cluster name.
func (s *Store) connect(ctx context.Context, name string) (*pgx.Conn, error) {
	if _, err := s.cluster(ctx, name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cs := s.conns[name]
	s.mu.Unlock()
	c, err := pgx.Connect(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("pgshard: connect to cluster %s: %w", name, err)
	}
	return c, nil
}

// siteTables are the tables whose rows move with a site, with their
// columns.
var siteTables = []struct{ name, cols string }{
	{"passages", "device, epoch, seq, time, site, holder, decision, reasons, stored, chain_break"},
	{"high_water", "device, epoch, seq, hash, site"},
	{"data_keys", "device, epoch, entry, site"},
	{"devices", "device, last_seen, site"},
	{"forks", "device, branch, epoch, journal, at, mark, found, site"},
}

// pause sets site moving on cluster name once no ingest of it is in
// flight there, and gives the rows of its devices from before the
// routing map their site.
func (s *Store) pause(ctx context.Context, name, site string) error {
	c, err := s.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", pgstore.SiteLockKey(), site); err != nil {
			return fmt.Errorf("pgshard: pause site %s on cluster %s: %w", site, name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO site_owner (site, state) VALUES ($1, 'moving')
			ON CONFLICT (site) DO UPDATE SET state = 'moving', changed = now()`, site); err != nil {
			return fmt.Errorf("pgshard: pause site %s on cluster %s: %w", site, name, err)
		}
		for _, q := range []string{
			`UPDATE high_water SET site = $1 WHERE site = '' AND device IN (SELECT DISTINCT device FROM passages WHERE site = $1)`,
			`UPDATE data_keys SET site = $1 WHERE site = '' AND device IN (SELECT device FROM high_water WHERE site = $1)`,
			`UPDATE devices SET site = $1 WHERE site = '' AND device IN (SELECT device FROM high_water WHERE site = $1)`,
			`UPDATE forks SET site = $1 WHERE site = '' AND device IN (SELECT device FROM high_water WHERE site = $1)`,
		} {
			if _, err := tx.Exec(ctx, q, site); err != nil {
				return fmt.Errorf("pgshard: pause site %s on cluster %s: give old rows their site: %w", site, name, err)
			}
		}
		return nil
	})
}

// setState sets site's state on cluster name.
func (s *Store) setState(ctx context.Context, name, site, state string) error {
	c, err := s.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", pgstore.SiteLockKey(), site); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO site_owner (site, state) VALUES ($1, $2)
			ON CONFLICT (site) DO UPDATE SET state = $2, changed = now()`, site, state)
		return err
	})
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// copySite copies site's rows from cluster src to dst in one transaction
// of dst, which makes the site active there, and returns the time of
// dst when it committed.
func (s *Store) copySite(ctx context.Context, site, src, dst string, m *Moved) (time.Time, error) {
	from, err := s.connect(ctx, src)
	if err != nil {
		return time.Time{}, err
	}
	defer from.Close(context.Background())
	to, err := s.connect(ctx, dst)
	if err != nil {
		return time.Time{}, err
	}
	defer to.Close(context.Background())
	fail := func(err error) (time.Time, error) {
		return time.Time{}, fmt.Errorf("pgshard: copy site %s from cluster %s to %s: %w", site, src, dst, err)
	}
	if err := s.copyDays(ctx, src, dst); err != nil {
		return fail(err)
	}
	if _, err := from.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fail(err)
	}
	defer from.Exec(context.Background(), "ROLLBACK")
	tx, err := to.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", pgstore.SiteLockKey(), site); err != nil {
		return fail(err)
	}
	for _, t := range siteTables {
		// Rows of an earlier copy that was not finished.
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.name+" WHERE site = $1", site); err != nil {
			return fail(err)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := from.PgConn().CopyTo(ctx, pw, fmt.Sprintf("COPY (SELECT %s FROM %s WHERE site = %s) TO STDOUT (FORMAT binary)", t.cols, t.name, quote(site)))
			pw.CloseWithError(err)
			done <- err
		}()
		tag, err := to.PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", t.name, t.cols))
		pr.CloseWithError(errors.New("copy ended"))
		if rerr := <-done; rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return fail(fmt.Errorf("table %s: %w", t.name, err))
		}
		switch t.name {
		case "passages":
			m.Passages = tag.RowsAffected()
		case "high_water":
			m.Marks = tag.RowsAffected()
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO site_owner (site, state) VALUES ($1, 'active')
		ON CONFLICT (site) DO UPDATE SET state = 'active', changed = now()`, site); err != nil {
		return fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	var at time.Time
	if err := to.QueryRow(ctx, "SELECT now()").Scan(&at); err != nil {
		return fail(err)
	}
	return at, nil
}

// copyDays creates on cluster dst the day partitions that src has.
func (s *Store) copyDays(ctx context.Context, src, dst string) error {
	from, err := s.cluster(ctx, src)
	if err != nil {
		return err
	}
	to, err := s.cluster(ctx, dst)
	if err != nil {
		return err
	}
	days, err := from.Days(ctx)
	if err == nil {
		err = to.EnsureDays(ctx, days)
	}
	if err != nil {
		return fmt.Errorf("partitions of cluster %s: %w", dst, err)
	}
	return nil
}

// waitReaders waits until the transactions of cluster name that started
// before since have ended: a query over every cluster that read name
// before the copy may still be reading the source.
func (s *Store) waitReaders(ctx context.Context, name string, since time.Time, say func(string, ...any)) error {
	c, err := s.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	told := false
	for {
		var n int
		err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start < $1`, since).Scan(&n)
		if err != nil {
			return fmt.Errorf("pgshard: wait for the readers of cluster %s: %w", name, err)
		}
		if n == 0 {
			return nil
		}
		if !told {
			say("waiting for %d queries on cluster %s that started before the copy", n, name)
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// emptySource deletes site's rows from cluster name in one transaction,
// which marks the site gone there.
func (s *Store) emptySource(ctx context.Context, site, name string) error {
	c, err := s.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", pgstore.SiteLockKey(), site); err != nil {
			return err
		}
		if name != Home {
			// The home cluster keeps the claims of every cluster.
			if _, err := tx.Exec(ctx, "DELETE FROM epoch_owners WHERE device IN (SELECT device FROM high_water WHERE site = $1)", site); err != nil {
				return err
			}
		}
		for _, t := range siteTables {
			if _, err := tx.Exec(ctx, "DELETE FROM "+t.name+" WHERE site = $1", site); err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO site_owner (site, state) VALUES ($1, 'gone')
			ON CONFLICT (site) DO UPDATE SET state = 'gone', changed = now()`, site)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgshard: remove site %s from cluster %s: %w", site, name, err)
	}
	return nil
}

// dropCopy removes the copy of site that an unfinished move left on
// cluster name (the routing map never named it there).
func (s *Store) dropCopy(ctx context.Context, site, name string) error {
	return s.emptySource(ctx, site, name)
}
