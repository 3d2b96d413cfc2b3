package schedule_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/storetest"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	syncserver "sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The scenario's status data.
const (
	uciLapses = "URN:UVCI:01:AT:LAPSES-DAY-4"
	uciStays  = "URN:UVCI:01:AT:STAYS"
	retention = 7 * 24 * time.Hour
	days      = 10
)

var pseudonymRed = credential.Holder{Kind: credential.HolderPseudonym, Pseudonym: [credential.PseudonymSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}

// TestTenDays runs a centre (bundle repository, status record, scheduler,
// the sync download handler, a passage store) and a terminal (the sync
// downloader, the installed bundles, the status list, the gate with the
// supermarket policy) hour by hour through ten simulated days on an
// injected clock, with no operator action after the first hour. Every
// hour: the scheduler runs, the terminal syncs, and a green code issued a
// minute ago must be admitted with every bundle fresh. The EU DCC
// revocation and the status entry that end on days 4 and 3 lapse at the
// terminal within an hour; the passages past the retention horizon are
// gone from the store.
func TestTenDays(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), &boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		runTenDays(t, st, schedule.Store{Name: "bbolt", Purge: st.PurgeBefore}, time.Duration(0))
	})
	t.Run("postgres", func(t *testing.T) {
		conn := pgtest.NewDatabase(t)
		st, err := pgstore.Open(context.Background(), conn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		purge := func(ctx context.Context, h time.Time) (int, error) {
			dropped, err := st.DropBefore(ctx, h)
			return len(dropped), err
		}
		// PostgreSQL drops whole day partitions: a passage may outlive
		// the horizon by up to a day.
		runTenDays(t, st, schedule.Store{Name: "postgres", Purge: purge}, 24*time.Hour)
	})
}

// liveRepo serves the repository as it is now, as serve does: on disk,
// or in the store when the store keeps it (PostgreSQL).
type liveRepo struct {
	dir    string
	shared bundles.Shared
}

func (l liveRepo) open() (*bundles.Repo, error) {
	return bundles.Open(bundles.Options{Dir: l.dir, Shared: l.shared})
}

func (l liveRepo) Latest(k trust.Kind) (*syncserver.Published, error) {
	r, err := l.open()
	if err != nil {
		return nil, err
	}
	return r.Latest(k)
}

func (l liveRepo) StatusSince(v uint64) ([]*syncserver.Published, error) {
	r, err := l.open()
	if err != nil {
		return nil, err
	}
	return r.StatusSince(v)
}

// memJournal is the terminal's journal: the test counts verdicts.
type memJournal struct{ n journal.Seq }

func (j *memJournal) Append(ctx context.Context, p *journal.Passage) (journal.Seq, error) {
	j.n++
	return j.n, nil
}

// simClock is the terminal's clock: the simulation's, trusted.
type simClock struct{ c *clock }

func (s simClock) Now() (time.Time, bool) { return s.c.Now(), true }

// statusRecorder remembers the base and the last delta applied.
type statusRecorder struct {
	*status.List
	base, delta *trust.Bundle
}

func (r *statusRecorder) ApplyBase(b *trust.Bundle) error {
	if err := r.List.ApplyBase(b); err != nil {
		return err
	}
	r.base, r.delta = b, nil
	return nil
}

func (r *statusRecorder) ApplyDelta(b *trust.Bundle) error {
	if err := r.List.ApplyDelta(b); err != nil {
		return err
	}
	r.delta = b
	return nil
}

func stateOf(b *trust.Bundle) gate.BundleState {
	return gate.BundleState{Version: b.Version, IssuedAt: b.IssuedAt, FreshUntil: b.FreshUntil, GraceUntil: b.GraceUntil}
}

// terminalState builds the gate's state from the terminal's installed
// bundles, as sentineld does at every reload.
func terminalState(t *testing.T, dir string, root any, now time.Time, engines map[string]*policy.Engine) (*gate.State, *status.List) {
	t.Helper()
	rootKey := root.(ed25519.PublicKey)
	read := func(k trust.Kind) []byte {
		b, err := os.ReadFile(filepath.Join(dir, client.BundleDir, string(k)+".bundle"))
		if err != nil {
			t.Fatalf("installed %s: %v", k, err)
		}
		return b
	}
	st := &gate.State{Enrolled: true, Bundles: map[trust.Kind]gate.BundleState{}}
	store, info, err := trust.LoadTrustBundle(read(trust.KindTrust), rootKey, now, trust.State{})
	if err != nil {
		t.Fatalf("trust bundle: %v", err)
	}
	st.Verifier = verify.New(store)
	st.Bundles[trust.KindTrust] = gate.BundleStateOf(info)
	pb, _, err := trust.OpenBundle(read(trust.KindPolicy), rootKey, now, trust.State{})
	if err != nil {
		t.Fatalf("policy bundle: %v", err)
	}
	eng := engines[string(pb.Payload)]
	if eng == nil {
		// Compiled once per payload, as sentineld compiles a policy once
		// per bundle: a re-signed policy has the same payload.
		pol, err := policy.ParseBundle(pb.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if eng, err = policy.New(pol, siteconfig.Supermarket); err != nil {
			t.Fatal(err)
		}
		engines[string(pb.Payload)] = eng
	}
	st.Policy = gate.PolicyEngine(eng, pb.Version, "S1")
	st.Bundles[trust.KindPolicy] = stateOf(pb)
	cb, _, err := trust.OpenBundle(read(trust.KindConfig), rootKey, now, trust.State{})
	if err != nil {
		t.Fatalf("config bundle: %v", err)
	}
	site, err := gate.ParseSiteSettings(cb.Payload)
	if err != nil {
		t.Fatal(err)
	}
	st.Site = site
	st.Bundles[trust.KindConfig] = stateOf(cb)
	list, err := status.New(status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusRecorder{List: list}
	if _, err := client.LoadStatus(dir, rootKey, now, rec); err != nil || rec.base == nil {
		t.Fatalf("status: %v (base %v)", err, rec.base != nil)
	}
	st.Bundles[trust.KindStatusBase] = stateOf(rec.base)
	if rec.delta != nil {
		st.Bundles[trust.KindStatusDelta] = stateOf(rec.delta)
	}
	st.Status = gate.StatusList(list)
	return st, list
}

func runTenDays(t *testing.T, store central.Store, purge schedule.Store, slack time.Duration) {
	ctx := context.Background()
	keys := bundlestest.NewKeys(t, t0)
	clk := &clock{t: t0}
	data := t.TempDir()
	pub := &statuspub.Publisher{Store: store, DataDir: data, Root: keys.Root.Public(), Now: clk.Now,
		Signer: statuspub.Signer{Key: keys.Signer, Delegation: keys.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}

	// The operator's only actions, in the first hour: trust, policy and
	// config bundles, a status entry and two EU DCC revocations.
	issuerPub, issuerKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(issuerPub)
	if err != nil {
		t.Fatal(err)
	}
	trustPayload, err := trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}})
	if err != nil {
		t.Fatal(err)
	}
	err = pub.Locked(func(repo *bundles.Repo) error {
		for _, p := range []struct {
			kind    trust.Kind
			payload []byte
		}{{trust.KindTrust, trustPayload}, {trust.KindPolicy, bundlestest.Policy(t, "p1")}, {trust.KindConfig, bundlestest.Config(t)}} {
			if _, err := repo.Publish(p.kind, p.payload, keys.Signer, keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	redUntil, lapseAt := t0.Add(3*24*time.Hour), t0.Add(4*24*time.Hour)
	if _, err := pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, d *status.Builder) error {
		r := central.StatusEntry{Holder: pseudonymRed, Status: status.Red, Effective: t0, Until: redUntil, Reason: 1, SetAt: t0}
		if _, _, err := tx.SetStatus(ctx, r); err != nil {
			return err
		}
		if err := central.AddStatus(d, r); err != nil {
			return err
		}
		for _, rv := range []struct {
			uci   string
			until time.Time
		}{{uciLapses, lapseAt}, {uciStays, t0.Add(60 * 24 * time.Hour)}} {
			if _, err := tx.Revoke(ctx, rv.uci, t0, rv.until); err != nil {
				return err
			}
			d.Revoke(rv.uci)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The centre's passages: one an hour for the 20 days before, then one
	// an hour as the days go by.
	seq := uint64(0)
	ingest := func(at ...time.Time) {
		t.Helper()
		var recs []central.Record
		for _, a := range at {
			seq++
			recs = append(recs, central.Record{Seq: seq, Stored: fmt.Appendf(nil, "rec %d", seq), Time: a, Site: "gate-1", Holder: "ZJ:7", Decision: "pass"})
		}
		if _, err := storetest.Ingest(ctx, store, "t-1", central.Epoch{1}, recs); err != nil {
			t.Fatalf("ingest up to %d: %v", seq, err)
		}
	}
	var past []time.Time
	for at := t0.Add(-20 * 24 * time.Hour); at.Before(t0); at = at.Add(time.Hour) {
		past = append(past, at)
	}
	ingest(past...)

	shared, _ := store.(bundles.Shared)
	sched, err := schedule.New(schedule.Options{Publisher: pub, Retention: retention, Stores: []schedule.Store{purge},
		Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := syncserver.NewDownload(syncserver.DownloadOptions{Bundles: liveRepo{dir: filepath.Join(data, statuspub.BundlesDir), shared: shared},
		Auth: servertest.HeaderAuth{}, TimeKey: keys.Signer, TimeDelegation: keys.Delegation, Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(servertest.DeviceHeader, "t-1")
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	term := t.TempDir()
	down, err := client.NewDownloader(client.DownloadOptions{URL: srv.URL, DataDir: term, Root: keys.Root.Public(),
		Now: simClock{clk}.Now, Kinds: []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	journal := &memJournal{}
	g, err := gate.New(gate.Options{Lanes: []gate.LaneConfig{{Name: "in-1"}}, Journal: journal, Clock: simClock{clk},
		State: &gate.State{Policy: gate.PolicyEngine(mustEngine(t), 0, "S1")}})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := healthcode.NewIssuer("ZJ", issuerKey, &healthcode.IssuerOptions{Clock: func() time.Time { return clk.Now().Add(-time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}

	engines := map[string]*policy.Engine{}
	var revocationGone, entryGone time.Time
	purged := 0
	for hour := 0; hour < days*24; hour++ {
		if hour > 0 {
			clk.Add(time.Hour)
			ingest(clk.Now().Add(-time.Minute))
		}
		now := clk.Now()
		rep, err := sched.Tick(ctx)
		if err != nil {
			t.Fatalf("hour %d: scheduler: %v", hour, err)
		}
		for _, n := range rep.Purged {
			purged += n
		}
		if err := down.Sync(ctx); err != nil {
			t.Fatalf("hour %d: sync: %v", hour, err)
		}
		st, list := terminalState(t, term, keys.Root.Public(), now, engines)
		for _, k := range []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig} {
			if f := st.Bundles[k].Freshness(now); f != trust.FreshnessFresh {
				t.Fatalf("hour %d: %s bundle %v is %s, want fresh", hour, k, st.Bundles[k], f)
			}
		}
		if f := st.StatusList().Freshness(now); f != trust.FreshnessFresh {
			t.Fatalf("hour %d: the status list %+v is %s, want fresh", hour, st.StatusList(), f)
		}
		g.SetState(st)
		code, err := issuer.Issue(healthcode.Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "Zhang *"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Process(ctx, "in-1", []byte(code))
		if err != nil {
			t.Fatal(err)
		}
		if res.Passage.Decision != passage.Admit {
			t.Fatalf("hour %d (%s): a valid green code got %s %v, want admit", hour, now.Format(time.RFC3339), res.Passage.Decision, res.Passage.Reasons)
		}

		if !list.Revoked(uciStays) {
			t.Fatalf("hour %d: %s is no longer revoked, want revoked until day 60", hour, uciStays)
		}
		revoked := list.Revoked(uciLapses)
		switch {
		case now.Before(lapseAt) && !revoked:
			t.Fatalf("hour %d: %s not revoked before its end %s", hour, uciLapses, lapseAt)
		case !now.Before(lapseAt) && !revoked && revocationGone.IsZero():
			revocationGone = now
		}
		listed := list.Counts().Pseudonyms > 0
		switch {
		case now.Before(redUntil) && !listed:
			t.Fatalf("hour %d: the red entry is gone before its until %s", hour, redUntil)
		case now.Before(redUntil):
			if r := list.Lookup(pseudonymRed, t0.Add(-30*24*time.Hour), now); !r.Overridden || r.Status != status.Red {
				t.Fatalf("hour %d: the red entry does not override: %+v", hour, r)
			}
		case !listed && entryGone.IsZero():
			entryGone = now
		}
	}
	if revocationGone.IsZero() || revocationGone.Sub(lapseAt) > time.Hour {
		t.Errorf("the revocation ending %s left the terminal's list at %v, want within the hour", lapseAt, revocationGone)
	}
	if entryGone.IsZero() || entryGone.Sub(redUntil) > time.Hour {
		t.Errorf("the status entry ending %s left the terminal's list at %v, want within the hour", redUntil, entryGone)
	}
	if journal.n != days*24 {
		t.Errorf("the gate journalled %d passages, want %d", journal.n, days*24)
	}

	// Retention: nothing older than the horizon (PostgreSQL: than its
	// day), everything since kept.
	horizon := clk.Now().Add(-retention)
	all := storetest.All(t, store, central.Filter{})
	kept := 0
	for _, p := range all {
		if p.Time.Before(horizon.Add(-slack)) {
			t.Errorf("passage %d at %s is past the retention horizon %s", p.Seq, p.Time.Format(time.RFC3339), horizon.Format(time.RFC3339))
		}
		if !p.Time.Before(horizon) {
			kept++
		}
	}
	want := 0
	for at := t0.Add(-20 * 24 * time.Hour); at.Before(t0); at = at.Add(time.Hour) {
		if !at.Before(horizon) {
			want++
		}
	}
	for hour := 1; hour < days*24; hour++ {
		if !t0.Add(time.Duration(hour)*time.Hour - time.Minute).Before(horizon) {
			want++
		}
	}
	if kept != want || purged == 0 {
		t.Errorf("kept %d passages since the horizon, want %d; purged %d", kept, want, purged)
	}
	t.Logf("%s: %d passages left of %d, %d purged (records or partitions)", purge.Name, len(all), seq, purged)
}

func mustEngine(t *testing.T) *policy.Engine {
	t.Helper()
	e, err := policy.New(nil, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
