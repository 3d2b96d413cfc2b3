package terminal

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/device/scanner"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/demo"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/ptytest"
	"sentinel/internal/sdnotify"
	"sentinel/internal/siteconfig"
	"sentinel/sync/journal"
)

// This file holds issue 11's end-to-end tests of the code engine: real
// terminal daemons (a serial scanner on a pseudo-terminal, a simulated
// MLX90614 on its I²C bus, the gate, the journal, the sync client and
// the downloader) and a real centre (server, bbolt store, ingest opening
// the holders, the engine's event path and scheduled sweep wired as serve
// wires them, sweep.Runner), on loopback, with one clock that moves
// centre and terminals together.

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// aheadClock is a trusted clock ahead of the system clock by ahead.
type aheadClock struct{ ahead *atomic.Int64 }

func (c aheadClock) Now() (time.Time, bool) {
	return time.Now().Add(time.Duration(c.ahead.Load())), true
}

// engineCentre is a centre with the code engine: Hangzhou (ZJ-HZ, in ZJ)
// holds the site gate-1 every terminal is enrolled to; a rule set is
// deployed; the bundles and the status base are published.
type engineCentre struct {
	*centre
	runner *sweep.Runner
	events *sweep.Events
	pub    *statuspub.Publisher
	// ops runs the engine's commands (cases add, status explain) as
	// serve runs them for the CLI and the operator API: each change
	// notifies the event path.
	ops    *enginecmd.Env
	issuer crypto.Signer
	trust  []byte
	config []byte      // the site's: a supermarket with one guard, guardPIN
	policy []byte      // the site's: a supermarket's default policy
	logs   *syncBuffer // the engine's
}

// guardPIN is the PIN of the e2e site's guard, guard-1.
const guardPIN = "246810"

// startEngineCentre starts the centre on a bbolt store with rules (a rule
// set's source) deployed over ZJ.
func startEngineCentre(t *testing.T, ctx context.Context, rules []byte) *engineCentre {
	t.Helper()
	return startEngineCentreOn(t, ctx, nil, rules)
}

// startEngineCentreOn is startEngineCentre on st (bbolt when nil).
func startEngineCentreOn(t *testing.T, ctx context.Context, st centreStore, rules []byte) *engineCentre {
	t.Helper()
	centreKey, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	// The engine on events, as serve wires it: the ingest's hook starts
	// a sweep, published through the centre's publisher.
	e := &engineCentre{logs: &syncBuffer{}}
	e.runner = &sweep.Runner{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	e.events = e.runner.Events()
	e.centre = startCentreOn(t, st, func(cfg *server.Config) {
		cfg.CentreKey = centreKey
		cfg.OnFever = e.events.OnFever
		cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
		// A shared repository (PostgreSQL) is asked at each request, so
		// that what the test publishes is served at once.
		cfg.BundlePoll = time.Nanosecond
	})
	by := central.ChangeBy{Time: e.now(), By: "ops:test"}
	err = e.store.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range []central.Area{{ID: "ZJ", Kind: central.AreaProvince}, {ID: "ZJ-HZ", Kind: central.AreaCity, Parent: "ZJ"}} {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		if err := tx.PutSite(ctx, central.Site{ID: "gate-1", Area: "ZJ-HZ"}, by); err != nil {
			return err
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "test", Source: rules}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The bundles: trust (issuer ZJ, the centre's journal key), config,
	// policy (a supermarket's), and the status base.
	if e.issuer, err = trust.GenerateKey(nil, trust.KeyEd25519); err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(e.issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	e.trust, err = trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}},
		HPKE: &trust.HPKEPublicKey{KEM: 0x20, Public: centreKey.PublicKey().Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	e.site(t, siteconfig.Supermarket)
	e.pub = &statuspub.Publisher{Store: e.store, DataDir: e.data, Root: e.keys.Root.Public(), Now: e.now,
		Signer: statuspub.Signer{Key: e.keys.Signer, Delegation: e.keys.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
	e.publish(t, ctx, "test")
	e.runner.Store, e.runner.Publisher = e.store, e.pub
	e.ops = &enginecmd.Env{Store: e.store, StoreName: "test", Root: e.keys.Root.Public(), Publisher: e.pub, Notify: e.events.Notify, Now: e.now}
	e.events.Start(ctx)
	t.Cleanup(e.events.Stop)
	return e
}

// site sets the site's type, with one guard, and its type's default
// policy with residents (of a compound) for the next publish.
func (e *engineCentre) site(t *testing.T, typ siteconfig.SiteType, residents ...string) {
	t.Helper()
	site := siteconfig.Default(typ)
	hash, err := siteconfig.HashPIN(guardPIN, siteconfig.MinPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	site.Guards = []siteconfig.Guard{{ID: "guard-1", PINHash: hash}}
	if e.config, err = siteconfig.Marshal(site); err != nil {
		t.Fatal(err)
	}
	b, err := policy.DefaultBundle(typ)
	if err != nil {
		t.Fatal(err)
	}
	b.Version, b.Residents = "p1", residents
	if e.policy, err = b.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func (e *engineCentre) now() time.Time { return time.Now().Add(time.Duration(e.ahead.Load())) }

// publish publishes the bundles and a status base, as the centre's
// scheduler does each round.
func (e *engineCentre) publish(t *testing.T, ctx context.Context, why string) {
	t.Helper()
	// The repository is the store's where the store keeps it (PostgreSQL).
	shared, _ := e.store.(bundles.Shared)
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(e.data, server.BundlesDir), Root: e.keys.Root.Public(), Now: e.now, Shared: shared})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		k trust.Kind
		p []byte
	}{{trust.KindTrust, e.trust}, {trust.KindConfig, e.config}, {trust.KindPolicy, e.policy}} {
		if _, err := repo.Publish(b.k, b.p, e.keys.Signer, e.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
			t.Fatalf("publish %s: %v", b.k, err)
		}
	}
	if _, err := e.pub.PublishBase(ctx, why); err != nil {
		t.Fatal(err)
	}
}

// code returns a green code of holder ZJ:index issued at issued.
func (e *engineCentre) code(t *testing.T, index uint32, issued time.Time) []byte {
	t.Helper()
	is, err := healthcode.NewIssuer("ZJ", e.issuer, &healthcode.IssuerOptions{Clock: func() time.Time { return issued }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := is.Issue(healthcode.Claims{Index: index, Colour: credential.ColourGreen, DisplayName: "Li *"})
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// statusOf returns the holder's status at the centre: green when it has
// no entry in force.
func (e *engineCentre) statusOf(t *testing.T, ctx context.Context, holder string) string {
	t.Helper()
	h, err := credential.ParseHolderID(holder)
	if err != nil {
		t.Fatal(err)
	}
	st, ok, err := e.store.StatusOf(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || st.Lapsed(e.now()) {
		return "green"
	}
	return st.Status.String()
}

// explain is `sentinel-central status explain` of q at the centre's
// time: the rules' result and the text (with its notes).
func (e *engineCentre) explain(t *testing.T, ctx context.Context, q enginecmd.ExplainRequest) (engine.Result, string) {
	t.Helper()
	q.Lang, q.Zone = "en", "Asia/Shanghai"
	ans, err := enginecmd.StatusExplain(ctx, e.ops, enginecmd.Caller{Name: "test"}, q)
	if err != nil {
		t.Fatalf("status explain %+v: %v", q, err)
	}
	var res engine.Result
	if err := json.Unmarshal(ans.Result, &res); err != nil {
		t.Fatal(err)
	}
	return res, ans.Text + ans.Note
}

// e2eTerminal is a terminal daemon enrolled at the centre's gate-1 and
// run from a configuration file, as sentineld is. Each lane has a serial
// scanner on a pseudo-terminal, which the test types codes into as the
// scanner sends them, and may have an MLX90614 on a simulated I²C bus,
// where the test presents each person's temperature.
type e2eTerminal struct {
	d        *daemon
	r        *runningDaemon
	logs     *syncBuffer
	scanners map[string]*os.File // by lane: the pseudo-terminal's master, the scanner's side
	buses    map[string]*demo.Bus
	results  chan gate.Result
	device   string
}

// laneSpec is a lane of an e2eTerminal's configuration file.
type laneSpec struct {
	name        string
	direction   string // written as is when not empty
	thermometer bool
}

// startTerminal starts a terminal with one entry lane, in-1, with a
// thermometer.
func (e *engineCentre) startTerminal(t *testing.T, ctx context.Context) *e2eTerminal {
	t.Helper()
	return e.startTerminalLanes(t, ctx, laneSpec{name: "in-1", thermometer: true})
}

// startTerminalLanes enrols a terminal, writes its configuration file with
// lanes, loads it as sentineld does, runs the daemon and waits for its
// first download round and its scanners.
func (e *engineCentre) startTerminalLanes(t *testing.T, ctx context.Context, lanes ...laneSpec) *e2eTerminal {
	t.Helper()
	dir := t.TempDir()
	device := e.enrolTerminalInto(t, dir)
	term := &e2eTerminal{logs: &syncBuffer{}, scanners: map[string]*os.File{}, buses: map[string]*demo.Bus{},
		results: make(chan gate.Result, 16), device: device}
	var file strings.Builder
	fmt.Fprintf(&file, "data_dir = %q\nlog_level = \"debug\"\n\n[terminal]\nid = %q\nsite_id = \"gate-1\"\n\n[central]\nurl = %q\n\n", dir, device, e.url)
	fmt.Fprintf(&file, "[listen]\ndisplay = \"127.0.0.1:%d\"\nmanagement = \"127.0.0.1:%d\"\n", freePort(t), freePort(t))
	for _, l := range lanes {
		master, tty := ptytest.Open(t, "the lane's serial scanner")
		term.scanners[l.name] = master
		fmt.Fprintf(&file, "\n[[lane]]\nname = %q\n", l.name)
		if l.direction != "" {
			fmt.Fprintf(&file, "direction = %q\n", l.direction)
		}
		fmt.Fprintf(&file, "  [[lane.scanner]]\n  type = \"serial\"\n  port = %q\n  framing = \"cr\"\n", tty.Name())
		if l.thermometer {
			term.buses[l.name] = demo.NewBus()
			fmt.Fprintf(&file, "  [lane.thermometer]\n  bus = \"1\"\n  address = 0x5A\n")
		}
	}
	path := filepath.Join(t.TempDir(), "sentineld.toml")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := firmwareconfig.Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, file.String())
	}
	hw := hostHardware()
	hw.thermometer = func(lane string, _ firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
		return term.buses[lane].Open()
	}
	hw.sampler = demo.SamplerConfig
	hw.checkEvery = 0 // the buses hold the people's readings only
	term.d = &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(term.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		hw: hw, notify: sdnotify.New(""), clock: aheadClock{&e.ahead},
		// Each passage kicks an upload; only the downloader's rounds
		// (download) bring the status deltas.
		syncEvery: time.Hour, reloadEvery: time.Hour,
		onPassage: func(r gate.Result) { term.results <- r },
	}
	term.r = runDaemon(t, term.d, term.logs)
	t.Cleanup(func() { term.r.stop(t) })
	term.download(t, ctx)
	for _, l := range lanes {
		waitFor(t, "the scanner of "+l.name+" open", func() (bool, string) {
			st := term.d.devices.scanners[l.name+" scanner 1"].Status()
			return st.State == scanner.StatePresent, fmt.Sprintf("%+v", st)
		})
	}
	return term
}

// download runs one download round, as the downloader does each period.
func (term *e2eTerminal) download(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := term.d.sync.Load().down.Sync(ctx); err != nil {
		t.Fatalf("download round: %v\n%s", err, term.logs.String())
	}
}

// present is a person at the first lane, in-1 (presentAt).
func (term *e2eTerminal) present(t *testing.T, code []byte, celsius float64) gate.Result {
	t.Helper()
	return term.presentAt(t, "in-1", code, celsius)
}

// presentAt is a person at lane: its thermometer will read celsius (0:
// nobody at the thermometer), and its scanner reads code. It returns the
// passage the gate decided, once the thermometer has read exactly that
// person.
func (term *e2eTerminal) presentAt(t *testing.T, lane string, code []byte, celsius float64) gate.Result {
	t.Helper()
	bus := term.buses[lane]
	if celsius != 0 {
		bus.Present(celsius)
	}
	if _, err := term.scanners[lane].Write(append(code, '\r')); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-term.results:
		if r.Err != nil {
			t.Fatalf("passage: %v\n%s", r.Err, term.logs.String())
		}
		if bus != nil && bus.Left() != 0 {
			t.Fatalf("the thermometer left %d reads of the person unread: the gate did not measure them (%s %v)", bus.Left(), r.Passage.Decision, r.Passage.Reasons)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("no passage within 10 s of the scanner's read\n%s", term.logs.String())
	}
	return gate.Result{}
}

// shown is what the guard's display shows at a lane.
type shown struct {
	Outcome  passage.Verdict `json:"outcome"`
	Colour   string          `json:"colour"`
	Temp     string          `json:"temp"`
	TempHigh bool            `json:"temp_high"`
	Message  string          `json:"message"`
	Reasons  []string        `json:"reasons"`
	Ref      string          `json:"ref"`
}

// display returns the verdict the guard's display shows at in-1 now, in
// lang (en or zh; the site's language is zh).
func (term *e2eTerminal) display(t *testing.T, lang string) shown {
	t.Helper()
	return term.displayAt(t, "in-1", lang)
}

// displayAt returns the verdict the guard's display shows at lane now.
func (term *e2eTerminal) displayAt(t *testing.T, lane, lang string) shown {
	t.Helper()
	resp, err := http.Get("http://" + term.d.displayAddr.String() + "/state?lang=" + lang)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Lang  string `json:"lang"`
		Lanes []struct {
			Name    string `json:"name"`
			Verdict *shown `json:"verdict"`
		} `json:"lanes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Lang != lang {
		t.Fatalf("the display speaks %q, want %s", st.Lang, lang)
	}
	for _, l := range st.Lanes {
		if l.Name == lane && l.Verdict != nil {
			return *l.Verdict
		}
	}
	t.Fatalf("display state %+v: no verdict at lane %s", st, lane)
	return shown{}
}

// uploaded waits until the centre holds the terminal's passage of ref.
func (e *engineCentre) uploaded(t *testing.T, ctx context.Context, ref string) central.Passage {
	t.Helper()
	r, err := passage.ParseRef(ref)
	if err != nil {
		t.Fatalf("the display's reference %q: %v", ref, err)
	}
	var found []central.Passage
	waitFor(t, "the passage "+ref+" at the centre", func() (bool, string) {
		found, err = appeal.Find(ctx, e.store, r)
		return err == nil && len(found) == 1, fmt.Sprintf("%d found (%v)", len(found), err)
	})
	return found[0]
}

// TestFeverRefusesGreenCode is issue 11's end-to-end case for a fever. A
// person whose code is green is measured at 38.4 °C by the lane's
// thermometer: the gate refers them for the fever and journals the
// reading; the sync client uploads it, the centre's ingest keeps it as a
// fact and calls the engine's hook; the event sweep turns the holder red
// through the status publisher; the next download round brings the delta,
// and the gate refuses the holder's unexpired green code, the guard
// reading the fever as the cause; status explain, by the reference the
// display showed, gives the same cause. Fifteen days on, with no new
// fact, the red entry has lapsed at both ends, the rules give green and
// the gate admits.
//
// The rules are testdata/fever.rules, the smallest rule set that makes a
// fever red for a period that lapses: neither seed in docs/rules does (see
// the file). TestCaseContactRefusesGreenCode runs the Zhejiang seed
// unchanged. On both central stores.
func TestFeverRefusesGreenCode(t *testing.T) { onStores(t, testFever) }

func testFever(t *testing.T, ctx context.Context, st centreStore) {
	rules, err := os.ReadFile(filepath.Join("testdata", "fever.rules"))
	if err != nil {
		t.Fatal(err)
	}
	c := startEngineCentreOn(t, ctx, st, rules)
	term := c.startTerminal(t, ctx)

	if r := term.present(t, c.code(t, 7, c.now().Add(-12*time.Minute)), 36.6); r.Passage.Decision != passage.Admit {
		t.Fatalf("before the fever: %s %v, want admit\n%s", r.Passage.Decision, r.Passage.Reasons, term.logs.String())
	}
	// The fever: referred at the gate, the reading journalled and shown.
	r := term.present(t, c.code(t, 7, c.now().Add(-11*time.Minute)), 38.4)
	if r.Passage.Decision != passage.Refer || len(r.Passage.Reasons) == 0 || r.Passage.Reasons[0] != "fever" || r.Passage.Temperature.State != passage.TempOK {
		t.Fatalf("the fever at the gate: %s %v (temperature %+v), want refer for the fever", r.Passage.Decision, r.Passage.Reasons, r.Passage.Temperature)
	}
	if v := term.display(t, "en"); !v.TempHigh || !strings.HasPrefix(v.Temp, "38.") {
		t.Errorf("the guard's display shows temperature %q (high %v), want 38.x °C, high", v.Temp, v.TempHigh)
	}
	feverAt := r.Passage.Time

	// The upload, the fact, the event sweep: ZJ:7 is red at the centre.
	waitFor(t, "ZJ:7 red at the centre after the upload", func() (bool, string) {
		s := c.statusOf(t, ctx, "ZJ:7")
		return s == "red", s + "\nengine: " + c.logs.String() + "\nterminal: " + term.logs.String()
	})
	var facts []central.Fact
	if err := c.store.ViewEngine(ctx, func(r central.EngineReader) (err error) { facts, err = r.Facts(ctx, "ZJ:7"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(facts) != 1 || facts[0].Kind != central.FactFever || facts[0].Site != "gate-1" || facts[0].Area != "ZJ-HZ" ||
		facts[0].At.Sub(feverAt).Abs() >= time.Millisecond || facts[0].Celsius() < 38.3 || facts[0].Celsius() > 38.5 {
		t.Fatalf("ZJ:7's facts %+v, want one fever of 38.4 °C at gate-1 in ZJ-HZ at %v", facts, feverAt)
	}

	// The next download round brings the delta: the gate refuses a green
	// code issued before the change, still unexpired, and the guard reads
	// why.
	term.download(t, ctx)
	r = term.present(t, c.code(t, 7, c.now().Add(-10*time.Minute)), 36.6)
	if r.Passage.StatusColour != "red" || r.Passage.Decision != passage.Deny || len(r.Passage.Reasons) == 0 || r.Passage.Reasons[0] != "status-red" {
		t.Fatalf("after the delta: status %q, verdict %s, reasons %v; want red, deny, status-red", r.Passage.StatusColour, r.Passage.Decision, r.Passage.Reasons)
	}
	v := term.display(t, "en")
	if want := "Status changed to red since the code was issued (fever at a clinic or checkpoint)."; v.Outcome != passage.Deny || !strings.HasPrefix(v.Message, want) || v.Ref == "" {
		t.Errorf("the guard's display: %s %q (reference %q), want deny %q… with a reference", v.Outcome, v.Message, v.Ref, want)
	}
	if zh, want := term.display(t, "zh"), "（在诊所或卡口测得发热）"; !strings.Contains(zh.Message, want) || zh.Ref != v.Ref {
		t.Errorf("the guard's display in Chinese: %q (reference %q), want it to say %q with reference %s", zh.Message, zh.Ref, want, v.Ref)
	}

	// status explain, by the reference the holder read off the display,
	// gives the same cause.
	if p := c.uploaded(t, ctx, v.Ref); p.Holder != "ZJ:7" || p.Device != term.device {
		t.Fatalf("passage %s at the centre: %+v, want ZJ:7's at %s", v.Ref, p, term.device)
	}
	res, text := c.explain(t, ctx, enginecmd.ExplainRequest{Passage: v.Ref})
	if res.Holder != "ZJ:7" || res.Status.String() != "red" || res.Reason.String() != "fever" || res.Rule != "fever" || !strings.Contains(text, "fever was measured at a checkpoint") {
		t.Errorf("status explain --passage %s: %s %s (%s) by rule %q:\n%s\nwant ZJ:7 red for the fever", v.Ref, res.Holder, res.Status, res.Reason, res.Rule, text)
	}

	// Fifteen days on, no new fact: the centre has published its bundles
	// and bases meanwhile; the scheduled sweep has nothing to change (the
	// red entry ran to the end of the period), explain gives green, the
	// terminal's entry has lapsed too, and the gate admits.
	c.ahead.Add(int64(15 * 24 * time.Hour))
	c.publish(t, ctx, "the period passed")
	if n, err := c.runner.Scheduled(ctx, c.now()); err != nil || n != 0 {
		t.Fatalf("scheduled sweep after the period: %d changes (%v), want none (the red entry lapsed)", n, err)
	}
	if s := c.statusOf(t, ctx, "ZJ:7"); s != "green" {
		t.Errorf("ZJ:7 at the centre after the period: %s, want green", s)
	}
	if res, text := c.explain(t, ctx, enginecmd.ExplainRequest{Holder: "ZJ:7"}); res.Status.String() != "green" {
		t.Errorf("explain after the period: %s (%s):\n%s\nwant green", res.Status, res.Reason, text)
	}
	term.download(t, ctx)
	if r := term.present(t, c.code(t, 7, c.now().Add(-10*time.Minute)), 36.6); r.Passage.Decision != passage.Admit || r.Passage.StatusColour == "red" {
		t.Errorf("after the period: status %q, verdict %s, reasons %v; want admit\n%s", r.Passage.StatusColour, r.Passage.Decision, r.Passage.Reasons, term.logs.String())
	}
}

// TestRetakeNormalWithdrawsFever: the lane's thermometer reads 38.4 °C and
// the gate refers the person; the fever reaches the centre and the engine
// turns the holder red. The guard re-measures with a clinical
// thermometer, reads normal and overrides with retake-normal: the
// override's upload withdraws the fever (the fact is removed, audited),
// the event sweep turns the holder green again, and after the next
// download round the gate admits their code. Before, the fever stayed a
// fact and the holder stayed red for 14 days. On both central stores.
func TestRetakeNormalWithdrawsFever(t *testing.T) { onStores(t, testRetakeNormal) }

func testRetakeNormal(t *testing.T, ctx context.Context, st centreStore) {
	rules, err := os.ReadFile(filepath.Join("testdata", "fever.rules"))
	if err != nil {
		t.Fatal(err)
	}
	c := startEngineCentreOn(t, ctx, st, rules)
	term := c.startTerminal(t, ctx)
	r := term.present(t, c.code(t, 8, c.now().Add(-12*time.Minute)), 38.4)
	if r.Passage.Decision != passage.Refer || len(r.Passage.Reasons) == 0 || r.Passage.Reasons[0] != "fever" {
		t.Fatalf("the fever at the gate: %s %v, want refer for the fever", r.Passage.Decision, r.Passage.Reasons)
	}
	waitFor(t, "ZJ:8 red at the centre after the upload", func() (bool, string) {
		s := c.statusOf(t, ctx, "ZJ:8")
		return s == "red", s + "\nengine: " + c.logs.String()
	})

	// The guard's override, as the display's override pad sends it.
	o, err := term.d.gate.Override(ctx, "in-1", guardPIN, gate.OverrideRetakeNormal)
	if err != nil || o.Passage.Decision != passage.Admit || o.Passage.Override == nil || o.Passage.Override.Of != journal.Seq(r.Seq) {
		t.Fatalf("override retake-normal: %+v (%v), want the passage admitted as an override of record %d", o.Passage, err, r.Seq)
	}
	if got := <-term.results; got.Passage != o.Passage {
		t.Fatalf("the daemon heard passage %+v after the override, want the override", got.Passage)
	}
	waitFor(t, "ZJ:8 green at the centre after the override's upload", func() (bool, string) {
		s := c.statusOf(t, ctx, "ZJ:8")
		return s == "green", s + "\nengine: " + c.logs.String()
	})
	var facts []central.Fact
	if err := c.store.ViewEngine(ctx, func(r central.EngineReader) (err error) { facts, err = r.Facts(ctx, "ZJ:8"); return err }); err != nil || len(facts) != 0 {
		t.Errorf("ZJ:8's facts after the override: %+v (%v), want none (the fever withdrawn)", facts, err)
	}
	if res, text := c.explain(t, ctx, enginecmd.ExplainRequest{Holder: "ZJ:8"}); res.Status.String() != "green" {
		t.Errorf("explain after the override: %s (%s):\n%s\nwant green", res.Status, res.Reason, text)
	}
	// The holder comes back an hour later (the gate refers a holder
	// admitted moments ago), with a code issued before the override.
	c.ahead.Add(int64(time.Hour))
	term.download(t, ctx)
	if r := term.present(t, c.code(t, 8, c.now().Add(-70*time.Minute)), 36.6); r.Passage.Decision != passage.Admit {
		t.Errorf("after the override: status %q, verdict %s, reasons %v; want admit", r.Passage.StatusColour, r.Passage.Decision, r.Passage.Reasons)
	}
}

// TestCaseContactRefusesGreenCode is issue 11's end-to-end case for a
// close contact, under the Zhejiang seed unchanged. Two terminals at the
// same site: terminal A admits ZJ:1, terminal B admits ZJ:7 moments
// later; both upload. Ops report ZJ:1 as a confirmed case
// (enginecmd.CasesAdd, what `sentinel-central cases add` and the operator
// API run in serve), which derives ZJ:7 as a close contact from the
// passages and notifies the engine's event path, whose sweep turns both
// red. After the next
// download round, terminal B refuses ZJ:7's unexpired green code and the
// guard reads the cause (close contact), terminal A refuses ZJ:1's (a
// confirmed case); status explain by the reference B's display showed
// gives the same cause, without naming the case. Fifteen days on, with no
// new fact, both are green at both ends and admitted. On both central
// stores.
func TestCaseContactRefusesGreenCode(t *testing.T) { onStores(t, testCaseContact) }

// onStores runs test on a centre on each central store: bbolt, and
// PostgreSQL (skipped loudly where it is not installed, failed under
// CI=true).
func onStores(t *testing.T, test func(t *testing.T, ctx context.Context, st centreStore)) {
	for _, kind := range []string{"bbolt", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var st centreStore // bbolt in the centre's data directory
			if kind == "postgres" {
				pst, err := pgstore.Open(ctx, pgtest.NewDatabase(t), nil)
				if err != nil {
					t.Fatal(err)
				}
				st = pst
			}
			test(t, ctx, st)
		})
	}
}

func testCaseContact(t *testing.T, ctx context.Context, st centreStore) {
	rules, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	c := startEngineCentreOn(t, ctx, st, rules)
	a, b := c.startTerminal(t, ctx), c.startTerminal(t, ctx)

	// The case and, moments later, the contact pass at gate-1, each at
	// one of its terminals, and are admitted.
	for _, p := range []struct {
		term   *e2eTerminal
		holder uint32
	}{{a, 1}, {b, 7}} {
		r := p.term.present(t, c.code(t, p.holder, c.now().Add(-12*time.Minute)), 36.6)
		if r.Passage.Decision != passage.Admit {
			t.Fatalf("ZJ:%d at gate-1: %s %v, want admit", p.holder, r.Passage.Decision, r.Passage.Reasons)
		}
	}
	waitFor(t, "both passages at the centre", func() (bool, string) {
		n := 0
		for p, err := range c.store.Passages(ctx, central.Filter{Site: "gate-1"}) {
			if err == nil && (p.Holder == "ZJ:1" || p.Holder == "ZJ:7") {
				n++
			}
		}
		return n == 2, fmt.Sprintf("%d of 2", n)
	})

	// Ops report the case (cases add, as serve runs it); the contact is
	// derived from the passages, and the event path sweeps at once.
	rep, err := enginecmd.CasesAdd(ctx, c.ops, enginecmd.Caller{Name: "test"},
		enginecmd.CasesAddRequest{Cases: []enginecmd.CaseIn{{Holder: "ZJ:1", ConfirmedAt: c.now()}}, Why: "confirmed by the lab"})
	if err != nil || rep.Cases != 1 || rep.Contacts != 1 {
		t.Fatalf("cases add ZJ:1: %+v (%v), want the case and its one close contact recorded", rep, err)
	}
	for _, h := range []string{"ZJ:1", "ZJ:7"} {
		waitFor(t, h+" red at the centre after the case", func() (bool, string) {
			s := c.statusOf(t, ctx, h)
			return s == "red", s + "\nengine: " + c.logs.String()
		})
	}

	// The next download round: each terminal refuses a green code issued
	// before the change, still unexpired, and the guard reads why.
	for _, p := range []struct {
		term      *e2eTerminal
		holder    uint32
		en, zh    string
		wantCause string
	}{
		{b, 7, "Status changed to red since the code was issued (close contact of a confirmed case).", "（确诊病例的密切接触者）", "close-contact"},
		{a, 1, "Status changed to red since the code was issued (confirmed case).", "（确诊病例）", "confirmed"},
	} {
		p.term.download(t, ctx)
		r := p.term.present(t, c.code(t, p.holder, c.now().Add(-10*time.Minute)), 36.6)
		if r.Passage.StatusColour != "red" || r.Passage.Decision != passage.Deny || len(r.Passage.Reasons) == 0 || r.Passage.Reasons[0] != "status-red" {
			t.Fatalf("ZJ:%d after the delta: status %q, verdict %s, reasons %v; want red, deny, status-red", p.holder, r.Passage.StatusColour, r.Passage.Decision, r.Passage.Reasons)
		}
		v := p.term.display(t, "en")
		if v.Outcome != passage.Deny || !strings.HasPrefix(v.Message, p.en) || v.Ref == "" {
			t.Errorf("ZJ:%d on the guard's display: %s %q (reference %q), want deny %q… with a reference", p.holder, v.Outcome, v.Message, v.Ref, p.en)
		}
		if zh := p.term.display(t, "zh"); !strings.Contains(zh.Message, p.zh) {
			t.Errorf("ZJ:%d on the guard's display in Chinese: %q, want it to say %q", p.holder, zh.Message, p.zh)
		}
		// status explain, by the reference on the display.
		c.uploaded(t, ctx, v.Ref)
		res, text := c.explain(t, ctx, enginecmd.ExplainRequest{Passage: v.Ref})
		if res.Holder != fmt.Sprintf("ZJ:%d", p.holder) || res.Status.String() != "red" || res.Reason.String() != p.wantCause || res.Rule != p.wantCause {
			t.Errorf("status explain --passage %s: %s %s (%s) by rule %q:\n%s\nwant ZJ:%d red, %s", v.Ref, res.Holder, res.Status, res.Reason, res.Rule, text, p.holder, p.wantCause)
		}
		if p.holder == 7 && (!strings.Contains(text, "at the same time as a confirmed case") || strings.Contains(text, "ZJ:1")) {
			t.Errorf("status explain of the contact:\n%s\nwant the cause, and never the case's code", text)
		}
	}

	// Fifteen days on, no new fact: green at the centre (the sweep has
	// nothing to change, the entries ran to the end of their period),
	// green by explain, lapsed at the terminals, and admitted.
	c.ahead.Add(int64(15 * 24 * time.Hour))
	c.publish(t, ctx, "the period passed")
	if n, err := c.runner.Scheduled(ctx, c.now()); err != nil || n != 0 {
		t.Fatalf("scheduled sweep after the period: %d changes (%v), want none (the red entries lapsed)", n, err)
	}
	for _, p := range []struct {
		term   *e2eTerminal
		holder uint32
	}{{b, 7}, {a, 1}} {
		h := fmt.Sprintf("ZJ:%d", p.holder)
		if s := c.statusOf(t, ctx, h); s != "green" {
			t.Errorf("%s at the centre after the period: %s, want green", h, s)
		}
		if res, text := c.explain(t, ctx, enginecmd.ExplainRequest{Holder: h}); res.Status.String() != "green" {
			t.Errorf("explain %s after the period: %s (%s):\n%s\nwant green", h, res.Status, res.Reason, text)
		}
		p.term.download(t, ctx)
		if r := p.term.present(t, c.code(t, p.holder, c.now().Add(-10*time.Minute)), 36.6); r.Passage.Decision != passage.Admit {
			t.Errorf("%s after the period: status %q, verdict %s, reasons %v; want admit", h, r.Passage.StatusColour, r.Passage.Decision, r.Passage.Reasons)
		}
	}
}

// TestCompoundExit: a compound's terminal whose configuration file gives
// lane "out" direction = "exit" and lane "in" none (an entry). Ops report
// a resident (ZJ:5) and a visitor (ZJ:9) as confirmed cases; after the
// next download round the resident is kept in at the exit (quarantine,
// until when) and refused at the entry (status red), and the visitor is
// referred to the guard at the exit (visitor-at-exit: not kept in, their
// quarantine is at their own home) and refused at the entry.
func TestCompoundExit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rules, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	c := startEngineCentre(t, ctx, rules)
	c.site(t, siteconfig.Compound, "ZJ:5")
	c.publish(t, ctx, "a compound")
	term := c.startTerminalLanes(t, ctx, laneSpec{name: "in"}, laneSpec{name: "out", direction: "exit"})
	if lanes := term.d.devices.lanes; len(lanes) != 2 || lanes[0].Name != "in" || lanes[0].Exit || lanes[1].Name != "out" || !lanes[1].Exit {
		t.Fatalf("the gate's lanes: %+v, want in (entry) and out (exit)", lanes)
	}
	n := 0 // each code another (the scanner drops a code read again at once)
	pass := func(lane string, holder uint32, want passage.Verdict, reason string) shown {
		t.Helper()
		n++
		r := term.presentAt(t, lane, c.code(t, holder, c.now().Add(-time.Duration(20+n)*time.Minute)), 0)
		if r.Passage.Decision != want || len(r.Passage.Reasons) > 0 && r.Passage.Reasons[0] != reason || len(r.Passage.Reasons) == 0 && reason != "" {
			t.Errorf("ZJ:%d at %s: %s %v, want %s %s", holder, lane, r.Passage.Decision, r.Passage.Reasons, want, reason)
		}
		return term.displayAt(t, lane, "en")
	}
	pass("out", 5, passage.Admit, "")
	pass("in", 9, passage.Refer, "not-resident")

	at := c.now()
	if rep, err := enginecmd.CasesAdd(ctx, c.ops, enginecmd.Caller{Name: "test"}, enginecmd.CasesAddRequest{
		Cases: []enginecmd.CaseIn{{Holder: "ZJ:5", ConfirmedAt: at}, {Holder: "ZJ:9", ConfirmedAt: at}}, NoContacts: true, Why: "confirmed by the lab"}); err != nil || rep.Cases != 2 {
		t.Fatalf("cases add: %+v (%v)", rep, err)
	}
	for _, h := range []string{"ZJ:5", "ZJ:9"} {
		waitFor(t, h+" red at the centre after the case", func() (bool, string) {
			s := c.statusOf(t, ctx, h)
			return s == "red", s + "\nengine: " + c.logs.String()
		})
	}
	term.download(t, ctx)
	if v := pass("out", 5, passage.Deny, gate.ReasonQuarantine); !strings.HasPrefix(v.Message, "Home quarantine (red) until ") || !strings.Contains(v.Message, "may not leave the compound") {
		t.Errorf("the resident at the exit: the guard reads %q, want home quarantine until when", v.Message)
	}
	pass("in", 5, passage.Deny, "status-red")
	if v := pass("out", 9, passage.Refer, gate.ReasonVisitorAtExit); !strings.HasPrefix(v.Message, "Visitor with a red code until ") {
		t.Errorf("the visitor at the exit: the guard reads %q, want the visitor's colour and until when", v.Message)
	}
	pass("in", 9, passage.Deny, "status-red")
}
