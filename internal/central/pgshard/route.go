package pgshard

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
	"sentinel/internal/central/pgstore"
)

// route returns the cluster of site. ingest is true for an ingest, which
// places a site the routing map does not name yet (on the home cluster
// when that holds rows of the site from before the map, otherwise on the
// cluster with the fewest sites). A read of a site the map does not name
// goes to the home cluster. The answers from the map are kept: an ingest
// checks the site's state on the cluster in its transaction, and a read
// in its snapshot, so a stale answer costs a retry.
func (s *Store) route(ctx context.Context, site string, ingest bool) (string, *pgstore.Store, error) {
	s.mu.Lock()
	name, ok := s.routes[site]
	s.mu.Unlock()
	if ok {
		c, err := s.cluster(ctx, name)
		return name, c, err
	}
	name, err := s.homeRoute(ctx, site)
	if err != nil {
		return "", nil, err
	}
	if name == "" && !ingest {
		return Home, s.home, nil
	}
	if name == "" {
		if name, err = s.place(ctx, site); err != nil {
			return "", nil, err
		}
	}
	c, err := s.cluster(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if ingest {
		// The cluster holds the site from now on, unless a move has
		// given it another state there already.
		if err := c.PlaceSite(ctx, site); err != nil {
			return "", nil, err
		}
	}
	s.mu.Lock()
	keep(s.routes, site, name)
	s.mu.Unlock()
	return name, c, nil
}

func (s *Store) forgetRoute(site string) {
	s.mu.Lock()
	delete(s.routes, site)
	s.mu.Unlock()
}

// homeRoute reads the cluster of site from the routing map; "" when the
// map does not name one.
func (s *Store) homeRoute(ctx context.Context, site string) (string, error) {
	var name string
	err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT cluster FROM site_clusters WHERE site = $1", site).Scan(&name)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the cluster of site %q: %w", site, err)
	}
	return name, nil
}

// place enters site into the routing map and returns its cluster; of
// several servers placing a site at once, the first one's choice holds.
// A cluster this process could not reach is not chosen.
func (s *Store) place(ctx context.Context, site string) (string, error) {
	legacy, err := s.home.HoldsRowsOf(ctx, site)
	if err != nil {
		return "", err
	}
	// A cluster that cannot be reached gets no new site: its uploads
	// would fail until it is back.
	down := []string{}
	s.mu.Lock()
	for name := range s.down {
		down = append(down, name)
	}
	s.mu.Unlock()
	var name string
	err = s.home.WithConn(ctx, func(c *pgx.Conn) error {
		choice := Home
		if !legacy {
			err := c.QueryRow(ctx, `SELECT c.name FROM (SELECT $1::text COLLATE "C" AS name UNION ALL SELECT name FROM clusters) c
				LEFT JOIN site_clusters s ON s.cluster = c.name
				WHERE c.name <> ALL($2::text[])
				GROUP BY c.name ORDER BY count(s.site), c.name LIMIT 1`, Home, down).Scan(&choice)
			if err != nil {
				return err
			}
		}
		return c.QueryRow(ctx, `WITH ins AS (INSERT INTO site_clusters (site, cluster) VALUES ($1, $2)
			ON CONFLICT (site) DO NOTHING RETURNING cluster)
			SELECT cluster FROM ins UNION ALL SELECT cluster FROM site_clusters WHERE site = $1`, site, choice).Scan(&name)
	})
	if err != nil {
		return "", fmt.Errorf("place site %q: %w", site, err)
	}
	s.log.Info("site placed", "site", site, "cluster", name)
	return name, nil
}

// claimDevice returns the site under which device's rows are kept: the
// one its first upload claimed at the home cluster. An upload with
// records (withRecs) names site, and claims it for a device that has
// none; it must name the claimed one. An upload without records keeps
// to the claimed site, or the device's enrolment site.
func (s *Store) claimDevice(ctx context.Context, device, site string, withRecs bool) (string, error) {
	s.mu.Lock()
	have, ok := s.devSites[device]
	s.mu.Unlock()
	if !ok && !withRecs {
		// Nothing to claim with: keep to what is known of the device.
		site, err := s.deviceSite(ctx, device)
		if err != nil {
			return "", fmt.Errorf("pgshard: device %s: %w", device, err)
		}
		return site, nil
	}
	if !ok && site == "" {
		// Records that name no site come from a terminal enrolled without
		// one, or from a server that could not read the registry: never
		// claim "" for a terminal the registry places at a site.
		var enrolled string
		err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
			err := c.QueryRow(ctx, "SELECT site FROM enrolled_devices WHERE id = $1", device).Scan(&enrolled)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("pgshard: read the enrolment of device %s: %w", device, err)
		}
		if enrolled != "" {
			return "", fmt.Errorf("pgshard: device %s uploads passages that name no site, but it is enrolled at site %q: "+
				"the server could not read its enrolment; the terminal sends the upload again", device, enrolled)
		}
	}
	if !ok {
		err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `WITH ins AS (INSERT INTO device_sites (device, site) VALUES ($1, $2)
				ON CONFLICT (device) DO NOTHING RETURNING site)
				SELECT site FROM ins UNION ALL SELECT site FROM device_sites WHERE device = $1`, device, site).Scan(&have)
		})
		if err != nil {
			return "", fmt.Errorf("pgshard: claim the site of device %s: %w", device, err)
		}
		s.mu.Lock()
		keep(s.devSites, device, have)
		s.mu.Unlock()
	}
	if withRecs && site != have {
		return "", &central.SiteFixedError{Device: device, Site: site, Kept: have}
	}
	return have, nil
}

// deviceSite returns the site of device's rows without claiming one: the
// claimed site, or its enrolment site, or the site of its passages on the
// home cluster from before the routing map; "" when none is known.
func (s *Store) deviceSite(ctx context.Context, device string) (string, error) {
	s.mu.Lock()
	site, ok := s.devSites[device]
	s.mu.Unlock()
	if ok {
		return site, nil
	}
	err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
		err := c.QueryRow(ctx, "SELECT site FROM device_sites WHERE device = $1", device).Scan(&site)
		if err == nil {
			ok = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		err = c.QueryRow(ctx, "SELECT site FROM enrolled_devices WHERE id = $1", device).Scan(&site)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		err = c.QueryRow(ctx, "SELECT site FROM passages WHERE device = $1 LIMIT 1", device).Scan(&site)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the site of device %s: %w", device, err)
	}
	if ok {
		s.mu.Lock()
		keep(s.devSites, device, site)
		s.mu.Unlock()
	}
	return site, nil
}

// claimEpoch makes device the owner of epoch at the home cluster, for
// every cluster, and refuses an epoch another device owns
// (*central.EpochOwnerError). An epoch's owner never changes, so the
// answer is kept.
func (s *Store) claimEpoch(ctx context.Context, device string, epoch central.Epoch) error {
	s.mu.Lock()
	owner, ok := s.owners[epoch]
	s.mu.Unlock()
	if !ok {
		err := s.home.WithConn(ctx, func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `WITH ins AS (INSERT INTO epoch_owners (epoch, device) VALUES ($1, $2)
				ON CONFLICT (epoch) DO NOTHING RETURNING device)
				SELECT device FROM ins UNION ALL SELECT device FROM epoch_owners WHERE epoch = $1`, epoch[:], device).Scan(&owner)
		})
		if err != nil {
			return fmt.Errorf("pgshard: claim epoch %s for %s: %w", epoch, device, err)
		}
		s.mu.Lock()
		keep(s.owners, epoch, owner)
		s.mu.Unlock()
	}
	if owner != device {
		return &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: owner}
	}
	return nil
}

// merge yields the rows of seqs, each in the store's order, in that
// order, once each: while a site is copied to another cluster both hold
// its rows, and equal rows come next to each other. Every sequence is
// started before any row is yielded, so that each cluster's snapshot is
// taken before a move that started after this could empty the source
// (MoveSite waits for the readers of the target that began before its
// copy, and those began after the source's snapshot).
func merge(seqs []iter.Seq2[central.Passage, error], yield func(central.Passage, error) bool) {
	type head struct {
		next func() (central.Passage, error, bool)
		stop func()
		p    central.Passage
	}
	var heads []*head
	defer func() {
		for _, h := range heads {
			h.stop()
		}
	}()
	for _, seq := range seqs {
		next, stop := iter.Pull2(seq)
		h := &head{next: next, stop: stop}
		heads = append(heads, h)
		p, err, ok := next()
		if err != nil {
			yield(central.Passage{}, err)
			return
		}
		if !ok {
			heads = heads[:len(heads)-1]
			stop()
			continue
		}
		h.p = p
	}
	var last *central.Passage
	for len(heads) > 0 {
		min := 0
		for i := 1; i < len(heads); i++ {
			if central.ComparePassages(heads[i].p, heads[min].p) < 0 {
				min = i
			}
		}
		h := heads[min]
		p := h.p
		if last == nil || central.ComparePassages(*last, p) != 0 {
			if !yield(p, nil) {
				return
			}
			last = &p
		}
		np, err, ok := h.next()
		if err != nil {
			yield(central.Passage{}, err)
			return
		}
		if !ok {
			h.stop()
			heads = append(heads[:min], heads[min+1:]...)
			continue
		}
		h.p = np
	}
}

// cacheMax bounds each of the answers a Store keeps: a country's millions
// of terminals and epochs would otherwise hold hundreds of MB in every
// server. A full cache starts again empty; every answer can be read again
// from the home cluster.
const cacheMax = 1 << 18

// keep stores k→v in m, which the caller has locked, emptying m first
// when it is full.
func keep[K comparable, V any](m map[K]V, k K, v V) {
	if len(m) >= cacheMax {
		clear(m)
	}
	m[k] = v
}
