package terminal

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/status"
	"sentinel/sync/journal"
)

// aheadClock is a trusted clock ahead of the system clock by ahead.
type aheadClock struct{ ahead *atomic.Int64 }

func (c aheadClock) Now() (time.Time, bool) {
	return time.Now().Add(time.Duration(c.ahead.Load())), true
}

// TestFeverRefusesGreenCode is issue 11's end-to-end case: a fever at a
// Hangzhou checkpoint, journalled at the terminal, is uploaded by its sync
// client; the centre's ingest keeps it as a fact and calls OnFever; the
// engine (Zhejiang's seed with a fever rule) sweeps the holder red through statuspub; the
// next download round brings the delta to the gate, which refuses the
// holder's unexpired green code for the fever, the reason the engine's
// explanation gives too. Fifteen days on (the centre's, the engine's and
// the terminal's clocks moved together), with no new fact, the red entry
// has lapsed at both ends, the rules give green, and the gate admits.
func TestFeverRefusesGreenCode(t *testing.T) {
	centreKey, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	// The centre's engine on events, wired as serve wires it: the hook
	// of the ingest starts a sweep, published through pub.
	var engineLogs syncBuffer
	runner := &sweep.Runner{Logger: slog.New(slog.NewTextHandler(&engineLogs, nil))}
	ev := runner.Events()
	c := startCentreWith(t, func(cfg *server.Config) {
		cfg.CentreKey = centreKey
		cfg.OnFever = ev.OnFever
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := func() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

	// Zhejiang's seed rules with a fever rule added (red for the period:
	// Hubei's seed keeps a fever withheld after it until a negative
	// test), over Hangzhou, where the terminal's site (the token's
	// "gate-1") lies.
	seed, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	src := append(seed, []byte(feverRule)...)
	by := central.ChangeBy{Time: now(), By: "ops:test"}
	err = c.store.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range []central.Area{{ID: "ZJ", Kind: central.AreaProvince}, {ID: "ZJ-HZ", Kind: central.AreaCity, Parent: "ZJ"}} {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		if err := tx.PutSite(ctx, central.Site{ID: "gate-1", Area: "ZJ-HZ"}, by); err != nil {
			return err
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "2020-02-11.1+fever", Source: src}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The bundles: trust (issuer ZJ, the centre's journal key), config,
	// policy, and the status base from the centre's publisher.
	issuer, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	trustPayload, err := trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}},
		HPKE: &trust.HPKEPublicKey{KEM: 0x20, Public: centreKey.PublicKey().Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	publishAll := func() {
		t.Helper()
		repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(c.data, server.BundlesDir), Root: c.keys.Root.Public(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []struct {
			k trust.Kind
			p []byte
		}{{trust.KindTrust, trustPayload}, {trust.KindConfig, bundlestest.Config(t)}, {trust.KindPolicy, bundlestest.Policy(t, "p1")}} {
			if _, err := repo.Publish(b.k, b.p, c.keys.Signer, c.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
				t.Fatalf("publish %s: %v", b.k, err)
			}
		}
	}
	publishAll()
	pub := &statuspub.Publisher{Store: c.store, DataDir: c.data, Root: c.keys.Root.Public(), Now: now,
		Signer: statuspub.Signer{Key: c.keys.Signer, Delegation: c.keys.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
	if _, err := pub.PublishBase(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	runner.Store, runner.Publisher = c.store, pub
	ev.Start(ctx)
	defer ev.Stop()
	dir, _ := c.enrolTerminal(t)

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	d.clock = aheadClock{&c.ahead}
	d.reloadEvery = time.Hour // only the downloader brings the deltas
	r := runDaemon(t, d, &logs)
	defer r.stop(t)
	down := d.sync.Load().down
	if err := down.Sync(ctx); err != nil {
		t.Fatalf("first download round: %v\n%s", err, logs.String())
	}

	code := func(issued time.Time) []byte {
		t.Helper()
		is, err := healthcode.NewIssuer("ZJ", issuer, &healthcode.IssuerOptions{Clock: func() time.Time { return issued }})
		if err != nil {
			t.Fatal(err)
		}
		s, err := is.Issue(healthcode.Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "Li *"})
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
	// Two green codes of ZJ:7, issued before the fever and unexpired
	// throughout (the gate refuses a code shown twice in a row).
	issued2 := now().Add(-11 * time.Minute).Truncate(time.Second)
	green, green2 := code(now().Add(-10*time.Minute)), code(issued2)
	pass := func(what string, payload []byte) *journal.Passage {
		t.Helper()
		res, err := d.gate.Process(ctx, "in-1", payload)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res.Passage
	}
	if p := pass("before the fever", green); p.Decision != passage.Admit {
		t.Fatalf("before the fever: verdict %s (reasons %v, status %q), want admit\n%s", p.Decision, p.Reasons, p.StatusColour, logs.String())
	}

	// A fever of ZJ:7 at the checkpoint, journalled as the gate's
	// thermometer would, reaches the centre with the next upload.
	feverAt := now().Add(-time.Minute).Truncate(time.Second)
	fp := &journal.Passage{Time: feverAt, ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "ZJ",
		Holder: credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: 7}, CodeColour: credential.ColourGreen,
		Decision: passage.Refer, Reasons: []string{"fever"}, PolicyVersion: 1,
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 38400*physic.MilliKelvin, Confidence: 0.9}}
	if _, err := d.journal.Append(ctx, fp); err != nil {
		t.Fatal(err)
	}
	d.sync.Load().up.Kick()
	// The ingest keeps the fever and calls the hook; the engine's event
	// sweep publishes ZJ:7 red.
	holder, _ := credential.ParseHolderID("ZJ:7")
	waitFor(t, "ZJ:7 red at the centre after the upload", func() (bool, string) {
		e, ok, err := c.store.StatusOf(ctx, holder)
		return err == nil && ok && e.Status == status.Red, fmt.Sprintf("%+v, %v, %v\nengine: %s", e, ok, err, engineLogs.String())
	})
	var facts []central.Fact
	if err := c.store.ViewEngine(ctx, func(r central.EngineReader) (err error) { facts, err = r.Facts(ctx, "ZJ:7"); return err }); err != nil {
		t.Fatal(err)
	}
	if len(facts) != 1 || facts[0].Kind != central.FactFever || facts[0].Site != "gate-1" || facts[0].Area != "ZJ-HZ" || !facts[0].At.Equal(feverAt) {
		t.Fatalf("ZJ:7's facts %+v, want one fever at gate-1 in ZJ-HZ at %v", facts, feverAt)
	}
	if e, ok, err := c.store.StatusOf(ctx, holder); err != nil || !ok || e.Status != status.Red || e.Reason != byte(status.ReasonFever) {
		t.Fatalf("ZJ:7 at the centre: %+v (%v, %v), want red for the fever", e, ok, err)
	}

	// The next download round brings the delta: the gate refuses the
	// same, still unexpired, green code.
	if err := down.Sync(ctx); err != nil {
		t.Fatalf("download round: %v\n%s", err, logs.String())
	}
	p := pass("after the delta", green2)
	if p.StatusColour != "red" || p.Decision != passage.Deny || !slices.Contains(p.Reasons, policy.ReasonStatusRed) {
		t.Errorf("after the delta: status %q, verdict %s, reasons %v; want red, deny, %s", p.StatusColour, p.Decision, p.Reasons, policy.ReasonStatusRed)
	}
	// The cause the terminal holds for the refusal is the fever: the
	// status entry's reason, which the policy gets as status.reason.
	cred := &credential.Credential{Format: credential.FormatNative, Issuer: "ZJ", Holder: fp.Holder, IssuedAt: issued2}
	if s := d.gate.State().Status.Lookup(cred, now()); !s.Overridden || s.Status != "red" || status.Reason(s.Reason) != status.ReasonFever {
		t.Errorf("the terminal's status of ZJ:7: %+v, want red for the fever", s)
	}

	// status explain gives the same cause.
	explain := func() (engine.Result, string) {
		t.Helper()
		ans, err := appeal.Explain(ctx, c.store, appeal.ExplainRequest{Holder: "ZJ:7", Lang: "en", Zone: "Asia/Shanghai", At: now()})
		if err != nil {
			t.Fatal(err)
		}
		var res engine.Result
		if err := json.Unmarshal(ans.Result, &res); err != nil {
			t.Fatal(err)
		}
		return res, ans.Text + ans.Note
	}
	res, text := explain()
	if res.Status != status.Red || res.Reason != status.ReasonFever || res.Rule != "fever" || !strings.Contains(text, "fever") {
		t.Errorf("explain: %s (%s) by rule %q: %q; want red for the fever by the fever rule", res.Status, res.Reason, res.Rule, text)
	}

	// Fifteen days on, no new fact: the bundles are published again as
	// the centre would have meanwhile, ZJ:7 is green (its red entry
	// lapsed) at the centre and at the terminal, and the gate admits.
	c.ahead.Add(int64(15 * 24 * time.Hour))
	publishAll()
	if _, err := pub.PublishBase(ctx, "test: the period passed"); err != nil {
		t.Fatal(err)
	}
	// The red entry ran until the end of the period and has lapsed: the
	// sweep has nothing to change.
	if n, err := runner.Scheduled(ctx, now()); err != nil || n != 0 {
		t.Fatalf("scheduled sweep after the period: %d changes (%v), want none (the red entry lapsed)", n, err)
	}
	if e, ok, err := c.store.StatusOf(ctx, holder); err != nil || ok && e.Status != status.Green && !e.Lapsed(now()) {
		t.Fatalf("ZJ:7 after the period: %+v (%v, %v); want green or lapsed", e, ok, err)
	}
	if res, _ := explain(); res.Status != status.Green {
		t.Errorf("explain after the period: %s (%s), want green", res.Status, res.Reason)
	}
	if err := down.Sync(ctx); err != nil {
		t.Fatalf("download round after the period: %v\n%s", err, logs.String())
	}
	if s := d.gate.State().Status.Lookup(cred, now()); s.Overridden && s.Status != "green" {
		t.Errorf("the terminal's status of ZJ:7 after the period: %+v, want green", s)
	}
	if p := pass("after the period", code(now().Add(-10*time.Minute))); p.Decision != passage.Admit || p.StatusColour == "red" {
		t.Errorf("after the period: status %q, verdict %s, reasons %v; want admit\n%s", p.StatusColour, p.Decision, p.Reasons, logs.String())
	}
}

// feverRule is added to Zhejiang's seed for TestFeverRefusesGreenCode.
const feverRule = `
rule fever
  match f.kind == "fever"
  red fever
  say en A fever was measured at a checkpoint: stay at home for 14 days.
  say zh 您在卡口测得发热：请居家隔离14天。
`
