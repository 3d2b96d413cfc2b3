package pgshard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// TestClusterDown: a passage cluster that cannot be reached stops the
// uploads of its own sites only. The store opens without it (serve
// restarted during the outage keeps the other sites, enrolment and
// bundles going), the uploads of its sites fail with an error that names
// it, and the other sites' uploads and reads go on.
func TestClusterDown(t *testing.T) {
	ctx := context.Background()
	srv, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Stop()
		}
	})
	home := pgtest.NewDatabase(t)
	c2, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	if err := s.AddCluster(ctx, "c2", c2); err != nil {
		t.Fatal(err)
	}
	f := newFleet(2, 2)
	recs := [][]central.Record{journal(f, 0, 1, 20), journal(f, 1, 1, 20)}
	for d := range 2 {
		if _, err := storetest.Ingest(ctx, s, f.devs[d], epochOf(d, 1), recs[d][:10]); err != nil {
			t.Fatal(err)
		}
	}
	down := -1 // the device whose site went to c2
	for d := range 2 {
		name, err := s.homeRoute(ctx, f.site(d))
		if err != nil {
			t.Fatal(err)
		}
		if name == "c2" {
			down = d
		}
	}
	if down < 0 {
		t.Fatal("no site was placed on c2")
	}
	up := 1 - down

	stopped = true
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, home, nil)
	if err != nil {
		t.Fatalf("open with cluster c2 down: %v; the sites of the other clusters must keep working", err)
	}
	if _, err := storetest.Ingest(ctx, s, f.devs[up], epochOf(up, 1), recs[up][10:]); err != nil {
		t.Fatalf("upload of a site on a cluster that is up, with c2 down: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = storetest.Ingest(tctx, s, f.devs[down], epochOf(down, 1), recs[down][10:])
	if !errors.Is(err, ErrClusterDown) || !strings.Contains(err.Error(), `"c2"`) {
		t.Fatalf("upload of a site on cluster c2, which is down: got %v, want ErrClusterDown naming c2", err)
	}
	// A new site goes to a cluster that is up (c2 would be next by its
	// count of sites and its name).
	if _, err := storetest.Ingest(ctx, s, "t-new", central.Epoch{0x77, 1}, newSiteRecs("site-new", 5)); err != nil {
		t.Fatalf("first upload of a new site with c2 down: %v", err)
	}
	if name, err := s.homeRoute(ctx, "site-new"); err != nil || name != Home {
		t.Fatalf("new site placed on %q (%v), want %q: c2 is down", name, err, Home)
	}
	if _, err := s.MoveSite(ctx, f.site(up), "c2", nil); !errors.Is(err, ErrClusterDown) {
		t.Fatalf("move to cluster c2, which is down: got %v, want ErrClusterDown", err)
	}
	if n := len(storetest.All(t, s, central.Filter{Site: f.site(up)})); n != 20 {
		t.Fatalf("passages of the site after a move refused: got %d, want 20", n)
	}
	if n := len(storetest.All(t, s, central.Filter{Site: f.site(up)})); n != 20 {
		t.Fatalf("passages of the site that is up: got %d, want 20", n)
	}
	for _, err := range s.Passages(ctx, central.Filter{}) {
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), `"c2"`) {
			t.Fatalf("reading every cluster with c2 down: %v; want an error that names c2", err)
		}
		break
	}
}

// newSiteRecs returns the records 1..n of a terminal at site.
func newSiteRecs(site string, n int) []central.Record {
	f := fleet{sites: []string{site}, devs: []string{"t-new"}}
	return journal(f, 0, 0x77, n)
}
