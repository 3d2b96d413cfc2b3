package terminal

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/gate"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
	"sentinel/sync/client"
)

// holdFixture is a terminal's data directory with a pinned root, a trust
// bundle, site settings, rules and a status base (v1: ZJ:1 red), and the
// holdings read from it, with every read and every load of the status
// chain counted.
type holdFixture struct {
	keys   *bundlestest.Keys
	now    time.Time
	dir    string
	issuer crypto.Signer
	logs   syncBuffer

	h            *holdings
	reads, loads atomic.Int64
	last         atomic.Pointer[loaded] // the state last installed
}

func newHoldFixture(t *testing.T) *holdFixture {
	t.Helper()
	f := &holdFixture{now: time.Now().UTC().Truncate(time.Second), dir: t.TempDir()}
	f.keys = bundlestest.NewKeys(t, f.now)
	var err error
	if f.issuer, err = trust.GenerateKey(nil, trust.KeyEd25519); err != nil {
		t.Fatal(err)
	}
	rootPEM, err := trust.MarshalPublicKey(f.keys.Root.Public())
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, rootFile, rootPEM)
	f.put(t, bundleName(trust.KindTrust), f.trustBundle(t, 1))
	f.put(t, bundleName(trust.KindConfig), f.seal(t, trust.KindConfig, 1, 0, bundlestest.Config(t)))
	f.put(t, bundleName(trust.KindPolicy), f.seal(t, trust.KindPolicy, 1, 0, bundlestest.Policy(t, "p1")))
	f.put(t, bundleName(trust.KindStatusBase), f.seal(t, trust.KindStatusBase, 1, 0, bundlestest.StatusBase(t, f.now.Add(-time.Hour), 1)))

	f.h = newHoldings(f.dir, "S-1", func() (time.Time, bool) { return f.now, true },
		slog.New(slog.NewTextHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	f.h.read = func(name string) ([]byte, error) {
		f.reads.Add(1)
		return os.ReadFile(name)
	}
	f.h.loadStatus = func(dataDir string, root crypto.PublicKey, now time.Time, a client.StatusApplier) (uint64, error) {
		f.loads.Add(1)
		return client.LoadStatus(dataDir, root, now, a)
	}
	ld, err := f.h.load()
	if err != nil {
		t.Fatal(err)
	}
	f.last.Store(ld)
	f.h.setInstall(func(ld *loaded) { f.last.Store(ld) })
	return f
}

func (f *holdFixture) put(t *testing.T, name string, data []byte) {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// seal signs a bundle; a later version is issued later, as at the centre.
func (f *holdFixture) seal(t testing.TB, k trust.Kind, version, base uint64, payload []byte) []byte {
	t.Helper()
	at := f.now.Add(-time.Hour + time.Duration(version)*time.Minute)
	data, err := trust.SealBundle(f.keys.Signer, f.keys.Delegation, trust.Bundle{Kind: k, Version: version, Base: base,
		IssuedAt: at, FreshUntil: at.Add(24 * time.Hour), GraceUntil: at.Add(72 * time.Hour), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (f *holdFixture) trustBundle(t *testing.T, version uint64) []byte {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(f.issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	at := f.now.Add(-time.Minute)
	data, err := trust.BuildTrustBundle(f.keys.Signer, f.keys.Delegation,
		trust.Bundle{Version: version, IssuedAt: at, FreshUntil: at.Add(24 * time.Hour), GraceUntil: at.Add(72 * time.Hour)},
		&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// open opens data as the downloader does before it calls OnBundle.
func (f *holdFixture) open(t *testing.T, data []byte) *trust.Bundle {
	t.Helper()
	b, _, err := trust.OpenBundle(data, f.keys.Root.Public(), f.now, trust.State{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delta seals the status delta version (on version-1) setting ZJ:idx to s.
func (f *holdFixture) delta(t *testing.T, version uint64, idx uint32, s status.Status) []byte {
	t.Helper()
	return f.seal(t, trust.KindStatusDelta, version, version-1, bundlestest.StatusDelta(t, f.now.Add(-30*time.Minute), idx, s))
}

// deliver hands data to the holdings as the downloader does, and, when
// they take it, writes it as the downloader does and says so.
func (f *holdFixture) deliver(t *testing.T, data []byte) error {
	t.Helper()
	b := f.open(t, data)
	if err := f.h.onBundle(b, data); err != nil {
		return err
	}
	if b.Kind == trust.KindStatusDelta {
		f.put(t, filepath.Join(client.ChainDir, fmt.Sprintf("%020d.bundle", b.Version)), data)
	}
	f.put(t, bundleName(b.Kind), data)
	f.h.written(b.Kind, b.Version)
	return nil
}

// status returns what the installed state's status list says of ZJ:idx
// for a code issued two hours ago.
func (f *holdFixture) status(idx uint32) policy.Status {
	c := &credential.Credential{Format: credential.FormatNative, Issuer: "ZJ",
		Holder:   credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: idx},
		IssuedAt: f.now.Add(-2 * time.Hour)}
	st := f.last.Load().state
	if st.Status == nil {
		return policy.Status{}
	}
	return st.Status.Lookup(c, f.now)
}

func (f *holdFixture) statusVersion() uint64 {
	return f.last.Load().state.StatusList().Version
}

// TestDeltaAppliedInMemory: a status delta from the downloader changes
// the installed state's answers at once, with the list's version and
// freshness; the status chain is read from the disk once, at start, and
// not again after deltas; and a poll that finds the files the downloader
// wrote reads nothing.
func TestDeltaAppliedInMemory(t *testing.T) {
	f := newHoldFixture(t)
	if n := f.loads.Load(); n != 1 {
		t.Fatalf("status chain read %d times at start, want 1", n)
	}
	if r := f.status(2); r.Overridden {
		t.Fatalf("ZJ:2 before any delta: got %+v, want not listed", r)
	}
	for _, d := range []struct {
		version uint64
		idx     uint32
	}{{2, 2}, {3, 3}, {4, 4}} {
		if err := f.deliver(t, f.delta(t, d.version, d.idx, status.Red)); err != nil {
			t.Fatalf("delta v%d: %v", d.version, err)
		}
		if r := f.status(d.idx); !r.Overridden || r.Status != "red" {
			t.Errorf("after delta v%d: ZJ:%d got %+v, want red", d.version, d.idx, r)
		}
		if v := f.statusVersion(); v != d.version {
			t.Errorf("after delta v%d: status list v%d in force", d.version, v)
		}
		st := f.last.Load().state
		if b := st.Bundles[trust.KindStatusDelta]; b.Version != d.version || b.Freshness(f.now) != trust.FreshnessFresh {
			t.Errorf("after delta v%d: the display's status update is v%d, %s; want v%d, fresh", d.version, b.Version, b.Freshness(f.now), d.version)
		}
	}
	if r := f.status(1); !r.Overridden || r.Status != "red" {
		t.Errorf("ZJ:1 from the base after three deltas: got %+v, want red", r)
	}
	if n := f.loads.Load(); n != 1 {
		t.Errorf("status chain read %d times after three deltas, want 1 (at start only)", n)
	}
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 0 {
		t.Errorf("a poll after the downloader's writes read %d files, want none", n)
	}
	// The same delta offered again (a write that failed, retried) is
	// taken without change.
	if err := f.deliver(t, f.delta(t, 4, 4, status.Red)); err != nil {
		t.Errorf("the same delta again: %v", err)
	}
	// A restart reads base and chain as they were written.
	g := newHoldings(f.dir, "S-1", f.h.now, slog.New(slog.DiscardHandler))
	ld, err := g.load()
	if err != nil {
		t.Fatal(err)
	}
	if v := ld.state.StatusList().Version; v != 4 {
		t.Errorf("after a restart: status list v%d, want v4", v)
	}
}

// TestBadDeltaRefused: a delta that verifies but cannot be applied is
// refused with its error; the list in force stays, and the log says so
// in words.
func TestBadDeltaRefused(t *testing.T) {
	f := newHoldFixture(t)
	for name, data := range map[string][]byte{
		"garbage payload":   f.seal(t, trust.KindStatusDelta, 2, 1, []byte("not a status delta")),
		"truncated payload": f.seal(t, trust.KindStatusDelta, 2, 1, bundlestest.StatusDelta(t, f.now, 7, status.Red)[:20]),
	} {
		t.Run(name, func(t *testing.T) {
			err := f.deliver(t, data)
			if err == nil {
				t.Fatal("a bad delta was taken")
			}
			if errors.Is(err, client.ErrNeedBase) {
				t.Errorf("a bad delta asked for the base: %v", err)
			}
			if v := f.statusVersion(); v != 1 {
				t.Errorf("status list v%d in force after a bad delta, want v1", v)
			}
			if r := f.status(1); !r.Overridden || r.Status != "red" {
				t.Errorf("ZJ:1 after a bad delta: got %+v, want red (the list kept)", r)
			}
			if r := f.status(7); r.Overridden {
				t.Errorf("ZJ:7 after a bad delta: got %+v, want not listed", r)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(f.dir, bundleName(trust.KindStatusDelta))); err == nil {
		t.Error("a refused delta was written")
	}
	if want := "a status update from the centre was refused: the terminal keeps deciding with the status list it had"; !strings.Contains(f.logs.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, f.logs.String())
	}
	// The next good delta applies.
	if err := f.deliver(t, f.delta(t, 2, 2, status.Yellow)); err != nil {
		t.Fatalf("a good delta after bad ones: %v", err)
	}
	if r := f.status(2); r.Status != "yellow" {
		t.Errorf("ZJ:2 after the good delta: got %+v, want yellow", r)
	}
}

// TestDeltaGap: a delta that does not follow the list held (v3 while the
// list holds v1) makes the holdings read base and chain from the data
// directory once, where the delta in between was written; when the
// directory does not close the gap either, the delta is refused with
// client.ErrNeedBase (the downloader then fetches the base) and the list
// stays.
func TestDeltaGap(t *testing.T) {
	f := newHoldFixture(t)
	// v2 reached the disk but not the daemon (written by another process
	// or before a failure).
	v2 := f.delta(t, 2, 2, status.Red)
	f.put(t, filepath.Join(client.ChainDir, fmt.Sprintf("%020d.bundle", 2)), v2)
	if err := f.deliver(t, f.delta(t, 3, 3, status.Red)); err != nil {
		t.Fatalf("delta v3 on a list at v1 with v2 on disk: %v", err)
	}
	if v := f.statusVersion(); v != 3 {
		t.Errorf("status list v%d after the gap was closed, want v3", v)
	}
	if r := f.status(2); r.Status != "red" {
		t.Errorf("ZJ:2 (delta v2, from the disk): got %+v, want red", r)
	}
	if n := f.loads.Load(); n != 2 {
		t.Errorf("status chain read %d times, want 2 (start and the gap)", n)
	}
	// v5 on v4, which is nowhere.
	err := f.deliver(t, f.delta(t, 5, 5, status.Red))
	if !errors.Is(err, client.ErrNeedBase) {
		t.Fatalf("delta v5 on a list at v3: got %v, want ErrNeedBase", err)
	}
	if v := f.statusVersion(); v != 3 {
		t.Errorf("status list v%d after an unclosable gap, want v3 kept", v)
	}
	if r := f.status(5); r.Overridden {
		t.Errorf("ZJ:5 after the refused delta: got %+v, want not listed", r)
	}
}

// TestPollOtherProcess: files another process writes are found by the
// poll, which rebuilds only their part: new site settings (another site
// type: the rules compile again), a new trust bundle, and a status base
// (the list is read again); a poll that finds nothing new reads nothing.
func TestPollOtherProcess(t *testing.T) {
	f := newHoldFixture(t)
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 0 {
		t.Fatalf("a poll with nothing new read %d files, want none", n)
	}
	pharmacy, err := siteconfig.Marshal(siteconfig.Default(siteconfig.Pharmacy))
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, bundleName(trust.KindConfig), f.seal(t, trust.KindConfig, 2, 0, pharmacy))
	f.put(t, bundleName(trust.KindTrust), f.trustBundle(t, 2))
	f.h.poll()
	st := f.last.Load().state
	if st.Site.Type != gate.Pharmacy || st.Bundles[trust.KindConfig].Version != 2 {
		t.Errorf("after new site settings on disk: site %s v%d, want pharmacy v2", st.Site.Type, st.Bundles[trust.KindConfig].Version)
	}
	if st.Bundles[trust.KindTrust].Version != 2 || !st.Enrolled {
		t.Errorf("after a new trust bundle on disk: trust v%d, enrolled %v; want v2, enrolled", st.Bundles[trust.KindTrust].Version, st.Enrolled)
	}
	// The supermarket's rules do not run at a pharmacy: its default
	// rules do, as at a restart.
	if v := st.Bundles[trust.KindPolicy].Version; v != 0 || !strings.Contains(f.logs.String(), "policy bundle refused: using the site type's default policy") {
		t.Errorf("the rules after the site type changed: v%d, want the pharmacy's default (v0) and the refusal logged", v)
	}
	if n := f.loads.Load(); n != 1 {
		t.Errorf("status chain read %d times after config and trust changed, want 1", n)
	}
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 0 {
		t.Errorf("a second poll read %d files, want none", n)
	}
	f.put(t, bundleName(trust.KindStatusBase), f.seal(t, trust.KindStatusBase, 9, 0, bundlestest.StatusBase(t, f.now.Add(-time.Hour), 8)))
	f.h.poll()
	if v := f.statusVersion(); v != 9 {
		t.Errorf("after a status base on disk: v%d, want v9", v)
	}
	if r := f.status(8); r.Status != "red" {
		t.Errorf("ZJ:8 from the new base: got %+v, want red", r)
	}
	if n := f.loads.Load(); n != 2 {
		t.Errorf("status chain read %d times, want 2 (start, new base)", n)
	}
}

// TestBundlesFromDownloader: trust, site settings and rules from the
// downloader replace their parts; rules that do not compile are refused
// and the rules in force stay.
func TestBundlesFromDownloader(t *testing.T) {
	f := newHoldFixture(t)
	if err := f.deliver(t, f.trustBundle(t, 3)); err != nil {
		t.Fatalf("trust v3: %v", err)
	}
	if err := f.deliver(t, f.seal(t, trust.KindPolicy, 2, 0, bundlestest.Policy(t, "p2"))); err != nil {
		t.Fatalf("policy v2: %v", err)
	}
	if err := f.deliver(t, f.seal(t, trust.KindPolicy, 3, 0, bundlestest.BadPolicy(t))); err == nil {
		t.Error("rules that do not compile were taken")
	}
	st := f.last.Load().state
	if st.Bundles[trust.KindTrust].Version != 3 || st.Bundles[trust.KindPolicy].Version != 2 {
		t.Errorf("trust v%d, policy v%d in force; want v3 and v2", st.Bundles[trust.KindTrust].Version, st.Bundles[trust.KindPolicy].Version)
	}
	if !strings.Contains(f.logs.String(), "rules from the centre were refused: the terminal keeps the rules it had") {
		t.Errorf("the refused rules are not logged in words:\n%s", f.logs.String())
	}
	if n := f.loads.Load(); n != 1 {
		t.Errorf("status chain read %d times, want 1", n)
	}
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 0 {
		t.Errorf("a poll after the downloader's writes read %d files, want none", n)
	}
}

// TestPollBeforeWritten: a poll that runs after the downloader wrote a
// delta but before it said so reads the file once, finds the version held
// and rebuilds nothing; the next poll reads nothing.
func TestPollBeforeWritten(t *testing.T) {
	f := newHoldFixture(t)
	data := f.delta(t, 2, 2, status.Red)
	if err := f.h.onBundle(f.open(t, data), data); err != nil {
		t.Fatal(err)
	}
	f.put(t, filepath.Join(client.ChainDir, fmt.Sprintf("%020d.bundle", 2)), data)
	f.put(t, bundleName(trust.KindStatusDelta), data)
	before := f.last.Load()
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 1 {
		t.Errorf("the poll read %d files, want 1 (the delta, to compare)", n)
	}
	if f.last.Load() != before || f.loads.Load() != 1 {
		t.Errorf("the poll rebuilt the state (status chain read %d times) for a delta already held", f.loads.Load())
	}
	f.reads.Store(0)
	f.h.poll()
	if n := f.reads.Load(); n != 0 {
		t.Errorf("the next poll read %d files, want none", n)
	}
}

// TestClockBecomesTrusted: bundles are refused on a clock that is not
// trusted (a board that booted in 1970); once it is, the next poll reads
// them all.
func TestClockBecomesTrusted(t *testing.T) {
	f := newHoldFixture(t)
	var trusted atomic.Bool
	h := newHoldings(f.dir, "S-1", func() (time.Time, bool) {
		if trusted.Load() {
			return f.now, true
		}
		return time.Unix(0, 0), false
	}, slog.New(slog.DiscardHandler))
	ld, err := h.load()
	if err != nil {
		t.Fatal(err)
	}
	if ld.state.Enrolled || ld.state.Status != nil {
		t.Fatalf("on a clock at 1970: enrolled %v, status list %v; want neither", ld.state.Enrolled, ld.state.Status != nil)
	}
	var last atomic.Pointer[loaded]
	h.setInstall(func(ld *loaded) { last.Store(ld) })
	h.poll()
	if last.Load() != nil {
		t.Fatal("a poll on the same untrusted clock installed a state")
	}
	trusted.Store(true)
	h.poll()
	if ld := last.Load(); ld == nil || !ld.state.Enrolled || ld.state.StatusList().Version != 1 {
		t.Fatal("once the clock is trusted, the poll did not load the trust bundle and the status list")
	}
}

// TestStatusKeepsNoPayload: once applied, a status bundle's payload is not
// kept beside the list (a base's is 24 MB at 7 M entries), whether the
// list was read from the data directory, or the base or a delta came from
// the downloader.
func TestStatusKeepsNoPayload(t *testing.T) {
	f := newHoldFixture(t)
	check := func(when string) {
		t.Helper()
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		sp := f.h.status
		if sp.base == nil || sp.base.Payload != nil || sp.delta != nil && sp.delta.Payload != nil {
			t.Errorf("%s: the status part keeps a payload (base %v)", when, sp.base != nil)
		}
	}
	check("read from the data directory")
	if err := f.deliver(t, f.delta(t, 2, 3, status.Red)); err != nil {
		t.Fatal(err)
	}
	check("after a delta")
	if err := f.deliver(t, f.seal(t, trust.KindStatusBase, 5, 0, bundlestest.StatusBase(t, f.now.Add(-time.Hour), 4))); err != nil {
		t.Fatal(err)
	}
	check("after a base")
	if r := f.status(4); r.Status != "red" {
		t.Errorf("ZJ:4 from the new base: got %+v, want red", r)
	}
	f.h.mu.Lock()
	f.h.loadStatusFiles(f.now)
	f.h.mu.Unlock()
	check("read again")
}
