package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// TestClustersProcedure follows docs/scaling.md's procedure: add a
// cluster, see where the sites are, move one, and export from every
// cluster; and the refusals an operator can run into.
func TestClustersProcedure(t *testing.T) {
	ctx := context.Background()
	home, c2 := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	st, err := pgshard.Open(ctx, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := storetest.Recs(1, 20, "x")
	for i := range recs {
		recs[i].Site = "SM-1"
	}
	if _, err := storetest.Ingest(ctx, st, "dev-1", central.Epoch{1}, storetest.Journal(recs)); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "clusters", "add", "c2", c2, "--postgres", home)
	if !strings.Contains(out, "cluster c2 added") || !strings.Contains(out, "clusters move SITE --to c2") {
		t.Errorf("add says %q", out)
	}
	out = mustRun(t, "clusters", "list", "--postgres", home)
	if !strings.Contains(out, "home ") || !strings.Contains(out, "c2 ") {
		t.Errorf("list: %q", out)
	}
	out = mustRun(t, "clusters", "sites", "--postgres", home)
	if !strings.Contains(out, "SM-1") || !strings.Contains(out, "home") {
		t.Errorf("sites before the move: %q", out)
	}
	out = mustRun(t, "clusters", "move", "SM-1", "--to", "c2", "--postgres", home)
	if !strings.Contains(out, "site SM-1 moved from home to c2: 20 passages, 1 marks") {
		t.Errorf("move says %q", out)
	}
	out = mustRun(t, "clusters", "sites", "--postgres", home, "--json")
	if !strings.Contains(out, `"site":"SM-1","cluster":"c2"`) {
		t.Errorf("sites after the move: %q", out)
	}
	out = mustRun(t, "clusters", "move", "SM-1", "--to", "c2", "--postgres", home)
	if !strings.Contains(out, "on cluster c2 already") {
		t.Errorf("move again says %q", out)
	}
	// The store a new serve opens finds the site on c2.
	again, err := pgshard.Open(ctx, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := len(storetest.All(t, again, central.Filter{Site: "SM-1"})); got != 20 {
		t.Fatalf("passages of SM-1 after the move: %d, want 20", got)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clusters", "add", "c3", c2, "--postgres", home}, exitRefused, `added already, as cluster "c2"`},
		{[]string{"clusters", "add", "c3", home, "--postgres", home}, exitRefused, "home database"},
		{[]string{"clusters", "add", "Home", c2, "--postgres", home}, exitRefused, "lower-case"},
		{[]string{"clusters", "add", "c3", otherDatabase(t, c2, "sentinel_not_created"), "--postgres", home}, exitRefused, "create it first (createdb)"},
		{[]string{"clusters", "move", "SM-1", "--to", "c9", "--postgres", home}, exitRefused, `no cluster "c9"`},
		{[]string{"clusters", "move", "SM-1", "--postgres", home}, exitUsage, "--to is required"},
		{[]string{"clusters", "list"}, exitUsage, "--postgres is required"},
		{[]string{"clusters", "list", "--postgres", c2}, exitRefused, `added as passage cluster "c2"`},
	} {
		code, _, errOut := sentinel(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d saying %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}
}

// otherDatabase is the URL conn with the database name db.
func otherDatabase(t *testing.T, conn, db string) string {
	t.Helper()
	u, err := url.Parse(conn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// TestEngineReadsEveryCluster: the engine's commands with --postgres read
// the passages of every cluster, as serve does. They opened the home
// database alone: after a site moved to another cluster, a case there
// found none of its close contacts (and the sweep of rules apply, its
// visits).
func TestEngineReadsEveryCluster(t *testing.T) {
	ctx := context.Background()
	home, c2 := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	st, err := pgshard.Open(ctx, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := storetest.Recs(1, 40, "x")
	for i := range recs {
		recs[i].Site, recs[i].Decision = "SM-1", "admit"
	}
	if _, err := storetest.Ingest(ctx, st, "dev-1", central.Epoch{1}, storetest.Journal(recs)); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "clusters", "add", "c2", c2, "--postgres", home)
	mustRun(t, "clusters", "move", "SM-1", "--to", "c2", "--postgres", home)
	// ZJ:1 passed SM-1 at minutes 1, 8, 15, ... after the records' base
	// time; the others passed there in between.
	at := recs[0].Time.Add(20 * time.Minute).Format(time.RFC3339)
	out := mustRun(t, "cases", "add", "--holder", "ZJ:1", "--at", at, "--why", "case 1", "--postgres", home)
	if strings.Contains(out, " and 0 close contacts") || !strings.Contains(out, "close contacts from the passages") {
		t.Errorf("cases add of a holder whose passages are on cluster c2: %q, want their close contacts", out)
	}
}
