package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/hatest"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// tee ingests every batch that the centre stored into a second store as
// well: a single store given the same passages, to compare answers with.
type tee struct {
	server.Store
	t      *testing.T
	single server.Store
	mu     *sync.Mutex // one batch at a time into single
}

func (s tee) Ingest(ctx context.Context, b *server.Batch) (server.Ingested, error) {
	res, err := s.Store.Ingest(ctx, b)
	if err != nil {
		return res, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.single.Ingest(context.Background(), b); err != nil {
		s.t.Errorf("the single store refused a batch the centre stored: %v", err)
	}
	return res, nil
}

// scaleServer is one central server: a pgshard store on the home cluster,
// the sync handler, its listener.
type scaleServer struct {
	name  string
	store *pgshard.Store
	count counting
	srv   *httptest.Server
}

// kill cuts the server's connections and closes it and its store, as a
// process that dies.
func (s *scaleServer) kill(t *testing.T) {
	s.srv.CloseClientConnections()
	s.srv.Close()
	if err := s.store.Close(); err != nil {
		t.Error(err)
	}
}

// TestScaleOut is issue 15's must-show: passages spread by site over
// three PostgreSQL clusters, the home one a Patroni pair with etcd; two
// central servers on them behind HAProxy; four terminals uploading
// through the fault-injecting proxy in front of HAProxy. During ingest
// the Patroni primary is lost (SIGKILL to its Patroni and postmaster) and
// the replica promoted, one central server is killed, and a site is
// moved to another cluster. At the end every passage is stored exactly
// once, every chain verifies, every fever is a fact once, and export and
// trace across the clusters give the same answers as a single store
// given the same passages.
//
// The central servers are the sync handler over pgshard (servertest's
// header authentication, plain HTTP): mutual TLS through HAProxy with
// the real serve is cmd/sentinel-central's TestServeBehindHAProxy.
func TestScaleOut(t *testing.T) {
	hatest.Need(t, "etcd", "patroni", "haproxy")
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	key := newCentreKey(t)

	// Three clusters: home, a Patroni pair; c1 and c2, plain.
	pat := hatest.StartCluster(t, nil)
	home := pat.ConnString(pat.CreateDatabase(t))
	c1 := pgtest.NewDatabase(t)
	other, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Stop() })
	c2, err := other.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := pgshard.Open(ctx, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]string{"c1": c1, "c2": c2} {
		if err := first.AddCluster(ctx, name, conn); err != nil {
			t.Fatal(err)
		}
	}
	placeSites(t, first)
	first.Close()

	single, err := pgstore.Open(ctx, pgtest.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	placeSites(t, single)
	singleIn := syncstore.New(single, syncstore.Options{CentreKey: key, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true})
	var singleMu sync.Mutex

	// Two central servers on the clusters, behind HAProxy.
	var servers []*scaleServer
	for _, name := range []string{"a", "b"} {
		st, err := pgshard.Open(ctx, home, &pgshard.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s := &scaleServer{name: name, store: st}
		in := syncstore.New(st, syncstore.Options{CentreKey: key, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true})
		s.count.Store = tee{Store: in, t: t, single: singleIn, mu: &singleMu}
		s.srv = httptest.NewServer(newHandler(t, &s.count, 5*time.Second))
		servers = append(servers, s)
	}
	a, b := servers[0], servers[1]
	defer b.kill(t)
	hp := hatest.StartHAProxy(t, &hatest.Frontend{Name: "central", Backends: []hatest.Backend{
		{Name: "a", Addr: a.srv.Listener.Addr().String()}, {Name: "b", Addr: b.srv.Listener.Addr().String()},
	}})
	px, err := newProxy(15)
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	px.setTarget(hp.Addr("central"))

	var terms []*terminal
	for i := range terminals {
		j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{CentreKey: key.PublicKey(), PurgeEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		tr := &terminal{id: fmt.Sprintf("gate-%d", i+1), index: uint32(i) * 100_000, j: j}
		base := http.DefaultTransport.(*http.Transport).Clone() // loopback only, see TestMain
		base.DisableKeepAlives = true                           // one connection, one fault, per upload
		tr.client, err = client.New(j, client.Options{
			URL: "http://" + px.addr(), Device: tr.id,
			HTTP:  &http.Client{Transport: &servertest.Transport{Device: tr.id, Base: base}},
			Batch: 40, Timeout: 5 * time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			Interval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		tr.client.Start(ctx)
		defer tr.client.Stop()
		terms = append(terms, tr)
	}
	total := int64(terminals * rounds * perRound)
	kept := func() int64 { return a.count.kept.Load() + b.count.kept.Load() }
	waitKept := func(n int64, what string) {
		for kept() < n {
			if ctx.Err() != nil {
				t.Fatalf("%d of %d passages stored before %s: %v", kept(), total, what, ctx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	var appending sync.WaitGroup
	for _, tr := range terms {
		appending.Go(func() { appendRounds(t, ctx, tr) })
	}

	// The home cluster's primary is lost during ingest.
	waitKept(total/6, "the failover")
	old := pat.Primary()
	lost := time.Now()
	old.Kill()
	promoted, err := pat.WaitPrimary(60*time.Second, old)
	if err != nil {
		t.Fatal(err)
	}
	atFailover := kept()
	t.Logf("home primary %s lost at %d passages stored (a %d, b %d); %s primary after %.1f s", old.Name, atFailover, a.count.kept.Load(), b.count.kept.Load(), promoted.Name, time.Since(lost).Seconds())

	// One central server dies during ingest.
	waitKept(atFailover+total/6, "killing a server")
	a.kill(t)
	atKill := kept()
	t.Logf("server a killed at %d passages stored (a %d, b %d)", atKill, a.count.kept.Load(), b.count.kept.Load())

	// A site moves to another cluster during ingest.
	waitKept(atKill+total/6, "the move")
	sites, err := b.store.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var site, from string
	for _, s := range sites {
		if s.Site == "site-gate-1" {
			site, from = s.Site, s.Cluster
		}
	}
	to := map[string]string{pgshard.Home: "c1", "c1": "c2", "c2": pgshard.Home}[from]
	if site == "" || to == "" {
		t.Fatalf("site-gate-1 is on no cluster: %+v", sites)
	}
	atMove := kept()
	m, err := b.store.MoveSite(ctx, site, to, nil)
	if err != nil {
		t.Fatalf("move %s from %s to %s: %v", site, from, to, err)
	}
	t.Logf("moved %s from %s to %s at %d passages stored: %+v", site, from, to, atMove, m)
	appending.Wait()
	if kept() >= total {
		t.Errorf("all %d passages were stored before the move: it did not happen during ingest", total)
	}

	for !enoughFaults(px) && ctx.Err() == nil {
		for _, tr := range terms {
			tr.client.Kick()
		}
		time.Sleep(5 * time.Millisecond)
	}
	px.healed.Store(true)
	for ctx.Err() == nil && !drained(t, terms) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, tr := range terms {
		tr.client.Stop()
	}
	if ctx.Err() != nil {
		t.Fatalf("the journals did not drain in time: %v", ctx.Err())
	}
	for f := faultDrop; f < nFaults; f++ {
		t.Logf("%s: %d connections", faultNames[f], px.counts[f].Load())
	}
	for _, s := range servers {
		t.Logf("server %s: %d ingests, %d with records already stored, %d failed in the store, %d passages stored",
			s.name, s.count.calls.Load(), s.count.resent.Load(), s.count.failed.Load(), s.count.kept.Load())
	}
	if a.count.kept.Load() == 0 || b.count.kept.Load() == 0 {
		t.Errorf("a server stored nothing: HAProxy did not spread the uploads")
	}
	if a.count.resent.Load()+b.count.resent.Load() == 0 {
		t.Errorf("got no re-uploads of stored records, want some after lost answers")
	}

	// Every passage once, every chain, every fever; the moved site on its
	// new cluster.
	verify(t, ctx, b.store, terms)
	sites, err = b.store.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if s.Site == site && s.Cluster != to {
			t.Errorf("%s is on %s after the move, want %s", site, s.Cluster, to)
		}
	}
	compareAnswers(t, ctx, b.store, single, terms)
}

// compareAnswers checks that export and trace across the clusters give
// what the single store gives.
func compareAnswers(t *testing.T, ctx context.Context, sharded, single ops.Source, terms []*terminal) {
	t.Helper()
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	for _, f := range []central.Filter{{From: from, To: to}, {From: from, To: to, Site: "site-gate-1"}, {From: from, To: to, Site: "site-gate-3"}} {
		var x, y bytes.Buffer
		nx, err := ops.Export(ctx, sharded, f, ops.CSV, &x)
		if err != nil {
			t.Fatal(err)
		}
		ny, err := ops.Export(ctx, single, f, ops.CSV, &y)
		if err != nil {
			t.Fatal(err)
		}
		if nx == 0 || nx != ny || !bytes.Equal(x.Bytes(), y.Bytes()) {
			t.Errorf("export %+v: %d rows across the clusters, %d in one store; the files differ: %v", f, nx, ny, !bytes.Equal(x.Bytes(), y.Bytes()))
		}
	}
	for _, tr := range terms {
		for _, n := range []uint32{3, 401} {
			q := ops.TraceQuery{Holder: fmt.Sprintf("ZJ:%d", tr.index+n), From: from, To: to, Window: 10 * time.Minute}
			x, err := ops.Trace(ctx, sharded, q)
			if err != nil {
				t.Fatal(err)
			}
			y, err := ops.Trace(ctx, single, q)
			if err != nil {
				t.Fatal(err)
			}
			if x.Rows() == 0 || fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", y) {
				t.Errorf("trace %s: %d rows across the clusters, %d in one store, or they differ", q.Holder, x.Rows(), y.Rows())
			}
		}
	}
}
