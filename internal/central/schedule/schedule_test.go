package schedule_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

var t0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// clock is the injected clock of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is a centre's data directory with a publisher on an injected clock.
type rig struct {
	keys *bundlestest.Keys
	clk  *clock
	pub  *statuspub.Publisher
	logs *bytes.Buffer
}

func newRig(t *testing.T, kinds []trust.Kind) *rig {
	t.Helper()
	r := &rig{keys: bundlestest.NewKeys(t, t0), clk: &clock{t: t0}, logs: &bytes.Buffer{}}
	d := r.keys.Delegation
	if kinds != nil {
		var err error
		if d, err = trust.Delegate(r.keys.Root, r.keys.Signer.Public(), kinds, t0.Add(-time.Hour), t0.Add(90*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	r.pub = &statuspub.Publisher{Store: memstore.New(nil), DataDir: t.TempDir(), Root: r.keys.Root.Public(), Now: r.clk.Now,
		Signer: statuspub.Signer{Key: r.keys.Signer, Delegation: d, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
	return r
}

func (r *rig) scheduler(t *testing.T, opts schedule.Options) *schedule.Scheduler {
	t.Helper()
	opts.Publisher, opts.Now = r.pub, r.clk.Now
	opts.Logger = slog.New(slog.NewTextHandler(r.logs, nil))
	s, err := schedule.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publish publishes payload of kind with the root (any signer the
// terminals accept), fresh for fresh and in grace three times as long.
func (r *rig) publish(t *testing.T, kind trust.Kind, payload []byte, fresh time.Duration) bundles.Entry {
	t.Helper()
	var e bundles.Entry
	err := r.pub.Locked(func(repo *bundles.Repo) error {
		var err error
		e, err = repo.Publish(kind, payload, r.keys.Root, nil, fresh, 3*fresh)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) list(t *testing.T) []bundles.Entry {
	t.Helper()
	var out []bundles.Entry
	err := r.pub.Locked(func(repo *bundles.Repo) error {
		out = repo.List()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entry(es []bundles.Entry, k trust.Kind) bundles.Entry {
	for _, e := range es {
		if e.Kind == k {
			return e
		}
	}
	return bundles.Entry{}
}

func tick(t *testing.T, s *schedule.Scheduler) schedule.Report {
	t.Helper()
	rep, err := s.Tick(context.Background())
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	return rep
}

// TestStatusBaseWhenDue: the first round publishes a base; then a base
// comes when the newest status bundle is half-way through fresh, and not
// before; status set's deltas do not delay it past the day.
func TestStatusBaseWhenDue(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	s := r.scheduler(t, schedule.Options{})
	rep := tick(t, s)
	if rep.Status == nil || !strings.Contains(rep.Why, "no status base") {
		t.Fatalf("first round: got %+v, want a base because none is published", rep)
	}
	r.clk.Add(11 * time.Hour)
	if rep := tick(t, s); rep.Status != nil {
		t.Errorf("11 hours later: published %+v (%s), want nothing", rep.Status, rep.Why)
	}
	r.clk.Add(time.Hour)
	rep = tick(t, s)
	if rep.Status == nil || !strings.Contains(rep.Why, "half") && !strings.Contains(rep.Why, "leaves fresh") {
		t.Fatalf("12 hours later: got %+v, want a base because the newest leaves fresh in 12 hours", rep)
	}
	// A delta every 6 hours keeps the newest statement fresh, but the base
	// is still republished once a day.
	base := rep.Status.IssuedAt
	for i := range 4 {
		r.clk.Add(6 * time.Hour)
		h := credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: uint32(i + 1)}
		if _, err := r.pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, d *status.Builder) error {
			rec := central.StatusEntry{Holder: h, Status: status.Red, Effective: r.clk.Now(), SetAt: r.clk.Now()}
			if _, _, err := tx.SetStatus(ctx, rec); err != nil {
				return err
			}
			return central.AddStatus(d, rec)
		}); err != nil {
			t.Fatal(err)
		}
		rep = tick(t, s)
		if i < 3 && rep.Status != nil {
			t.Errorf("after delta %d: base %s, want none", i, rep.Why)
		}
	}
	if rep.Status == nil || !strings.Contains(rep.Why, "republished every 24h") || !rep.Status.IssuedAt.Equal(base.Add(24*time.Hour)) {
		t.Errorf("a day after the base: got %+v %q, want the daily base", rep.Status, rep.Why)
	}
}

// TestStatusBaseOnLongChain republishes when the chain is long.
func TestStatusBaseOnLongChain(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	s := r.scheduler(t, schedule.Options{LongChain: 3})
	tick(t, s)
	for i := range 3 {
		if _, err := r.pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, d *status.Builder) error {
			d.Revoke("URN:UVCI:01:AT:" + string(rune('A'+i)))
			_, err := tx.Revoke(ctx, "URN:UVCI:01:AT:"+string(rune('A'+i)), r.clk.Now(), time.Time{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if rep := tick(t, s); rep.Status == nil || !strings.Contains(rep.Why, "3 deltas") {
		t.Errorf("got %+v %q, want a base for the long chain", rep.Status, rep.Why)
	}
}

// TestLapseRepublishes: an EU DCC revocation's end and a status entry's
// until each bring a base that leaves them out.
func TestLapseRepublishes(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	s := r.scheduler(t, schedule.Options{})
	end := t0.Add(3 * time.Hour)
	if _, err := r.pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, d *status.Builder) error {
		d.Revoke("URN:UVCI:01:AT:X")
		_, err := tx.Revoke(ctx, "URN:UVCI:01:AT:X", t0, end)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(time.Minute)
	tick(t, s) // nothing due: the base is fresh
	r.clk.Add(3 * time.Hour)
	rep := tick(t, s)
	if rep.Status == nil || !strings.Contains(rep.Why, "1 EU DCC revocations lapsed") {
		t.Fatalf("after the end: got %+v %q, want a base for the lapse", rep.Status, rep.Why)
	}
	if rep := tick(t, s); rep.Status != nil {
		t.Errorf("the round after: base again (%s), want none", rep.Why)
	}
}

// TestResign re-signs trust, policy and config half-way through fresh,
// with the same payload and windows; a kind the delegation does not allow
// is logged once and left alone.
func TestResign(t *testing.T) {
	r := newRig(t, []trust.Kind{trust.KindStatusBase, trust.KindStatusDelta, trust.KindPolicy, trust.KindConfig})
	pol := r.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"), 24*time.Hour)
	cfg := r.publish(t, trust.KindConfig, bundlestest.Config(t), 48*time.Hour)
	tr := r.publish(t, trust.KindTrust, bundlestest.Trust(t), 24*time.Hour)
	s := r.scheduler(t, schedule.Options{})
	if rep := tick(t, s); len(rep.Resigned) != 0 {
		t.Errorf("fresh bundles re-signed: %+v", rep.Resigned)
	}
	r.clk.Add(12 * time.Hour)
	rep := tick(t, s)
	if len(rep.Resigned) != 1 || rep.Resigned[0].Kind != trust.KindPolicy {
		t.Fatalf("12 hours in: re-signed %+v, want the policy alone", rep.Resigned)
	}
	np := rep.Resigned[0]
	if np.Version != pol.Version+1 || np.FreshUntil.Sub(np.IssuedAt) != 24*time.Hour || np.GraceUntil.Sub(np.IssuedAt) != 72*time.Hour || !np.IssuedAt.Equal(r.clk.Now()) {
		t.Errorf("re-signed policy %+v, want version %d issued now with the same windows", np, pol.Version+1)
	}
	tick(t, s) // the trust bundle again: warned once
	r.clk.Add(12 * time.Hour)
	rep = tick(t, s)
	if len(rep.Resigned) != 2 {
		t.Errorf("24 hours in: re-signed %+v, want policy and config", rep.Resigned)
	}
	es := r.list(t)
	if e := entry(es, trust.KindConfig); e.Version != cfg.Version+1 {
		t.Errorf("config version %d, want %d", e.Version, cfg.Version+1)
	}
	if e := entry(es, trust.KindTrust); e.Version != tr.Version {
		t.Errorf("trust re-signed to %d by a key not delegated for it", e.Version)
	}
	if n := strings.Count(r.logs.String(), "cannot re-sign a bundle"); n != 1 {
		t.Errorf("warned %d times about the trust bundle, want once\n%s", n, r.logs)
	}
	if !strings.Contains(r.logs.String(), "kind=trust") {
		t.Errorf("the warning does not name the kind\n%s", r.logs)
	}
}

// TestRetention purges past the horizon, at most once per RetentionEvery.
func TestRetention(t *testing.T) {
	r := newRig(t, nil)
	var horizons []time.Time
	st := schedule.Store{Name: "fake", Purge: func(ctx context.Context, h time.Time) (int, error) {
		horizons = append(horizons, h)
		return 3, nil
	}}
	s := r.scheduler(t, schedule.Options{Retention: 7 * 24 * time.Hour, Stores: []schedule.Store{st}})
	rep := tick(t, s)
	if rep.Purged["fake"] != 3 {
		t.Errorf("purged %v, want fake: 3", rep.Purged)
	}
	r.clk.Add(30 * time.Minute)
	tick(t, s)
	r.clk.Add(30 * time.Minute)
	tick(t, s)
	want := []time.Time{t0.Add(-7 * 24 * time.Hour), t0.Add(time.Hour - 7*24*time.Hour)}
	if len(horizons) != 2 || !horizons[0].Equal(want[0]) || !horizons[1].Equal(want[1]) {
		t.Errorf("purged before %v, want %v", horizons, want)
	}
}

// TestStartStop runs rounds on the timer until Stop.
func TestStartStop(t *testing.T) {
	r := newRig(t, nil)
	s := r.scheduler(t, schedule.Options{Interval: time.Millisecond})
	s.Start(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for entry(r.list(t), trust.KindStatusBase).Version == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no round ran")
		}
		time.Sleep(time.Millisecond)
	}
	s.Stop()
}
