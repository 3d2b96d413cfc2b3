package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sentinel/crypto/trust"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// rulesEnv is a centre with engine data in its bbolt store, a signer
// delegated for colour rules and one delegated for status bundles only.
type rulesEnv struct {
	dir, data, rootPub, signer, del, otherDel string
}

// rulesT0 is the tests' time: five days after the case in compound C01.
var rulesT0 = time.Date(2020, 2, 5, 12, 0, 0, 0, time.UTC)

func newRulesEnv(t *testing.T) rulesEnv {
	t.Helper()
	dir := t.TempDir()
	e := rulesEnv{dir: dir, data: filepath.Join(dir, "central"), rootPub: filepath.Join(dir, "root", "root.pub"),
		signer: filepath.Join(dir, "online", "signer.key"), del: filepath.Join(dir, "online", "rules.delegation"),
		otherDel: filepath.Join(dir, "online", "status.delegation")}
	for _, args := range [][]string{
		{"trust", "root-keygen", "--out", filepath.Join(dir, "root")},
		{"trust", "signer-keygen", "--out", filepath.Join(dir, "online")},
		{"trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
			"--kinds", "status-base,status-delta,colour-rules", "--valid", "90d", "--out", e.del},
		{"trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
			"--kinds", "status-base,status-delta", "--valid", "90d", "--out", e.otherDel},
	} {
		if code, _, errOut := runCLI(args...); code != exitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
	}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	by := central.ChangeBy{Time: rulesT0.AddDate(0, 0, -10), By: "ops:test", Why: "setup"}
	day := func(n int) time.Time { return time.Date(2020, 2, n, 0, 0, 0, 0, time.UTC) }
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range []central.Area{
			{ID: "ZJ", Kind: central.AreaProvince, Name: "Zhejiang"},
			{ID: "ZJ-HZ", Kind: central.AreaCity, Parent: "ZJ", Name: "Hangzhou"},
			{ID: "ZJ-HZ-XH", Kind: central.AreaDistrict, Parent: "ZJ-HZ", Name: "Xihu"},
			{ID: "ZJ-HZ-XH-C01", Kind: central.AreaCompound, Parent: "ZJ-HZ-XH", Name: "Lakeside Gardens"},
			{ID: "ZJ-HZ-XH-C02", Kind: central.AreaCompound, Parent: "ZJ-HZ-XH", Name: "Plum Court"},
			{ID: "ZJ-NB", Kind: central.AreaCity, Parent: "ZJ", Name: "Ningbo"},
		} {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		if err := tx.PutSite(ctx, central.Site{ID: "SM-HZ-1", Area: "ZJ-HZ-XH", Name: "Xihu supermarket"}, by); err != nil {
			return err
		}
		for _, f := range []central.Fact{
			{Holder: "ZJ:1", Kind: central.FactHome, At: day(1), Area: "ZJ-HZ-XH-C01", Source: "ops:test"},
			{Holder: "ZJ:1", Kind: central.FactConfirmed, At: day(3), Source: "ops:test"},
			{Holder: "ZJ:2", Kind: central.FactHome, At: day(1), Area: "ZJ-HZ-XH-C01", Source: "ops:test"},
			{Holder: "ZJ:3", Kind: central.FactHome, At: day(1), Area: "ZJ-HZ-XH-C02", Source: "ops:test"},
			{Holder: "ZJ:4", Kind: central.FactHome, At: day(1), Area: "ZJ-NB", Source: "ops:test"},
			{Holder: "ZJ:4", Kind: central.FactContact, At: day(2).Add(9*time.Hour + 30*time.Minute), Site: "SM-HZ-1", Value: "ZJ:1", Source: "derived:contact:T1/00/5"},
		} {
			if _, err := tx.AddFact(ctx, f, by); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// ZJ:1 is red already; ZJ:3 was made yellow by hand.
	err = st.UpdateStatus(ctx, func(tx central.StatusTx) error {
		for h, s := range map[string]status.Status{"ZJ:1": status.Red, "ZJ:3": status.Yellow} {
			e := central.StatusEntry{Holder: mustHolder(t, h), Status: s, Effective: day(3), Reason: byte(status.ReasonManual), Source: "ops:test", SetAt: day(3)}
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func seedRules(name string) string { return filepath.Join("..", "..", "docs", "rules", name) }

func (e rulesEnv) run(args ...string) (int, string, string) {
	return runCLI(append(args, "--data", e.data)...)
}

func (e rulesEnv) deploy(file, del string, extra ...string) (int, string, string) {
	return e.run(append([]string{"rules", "deploy", file, "--key", e.signer, "--delegation", del, "--root-pub", e.rootPub, "--operator", "alice"}, extra...)...)
}

func TestRulesTestShowsTheCompoundQuestionInNumbers(t *testing.T) {
	e := newRulesEnv(t)
	at := rulesT0.Format(time.RFC3339)
	reports := map[string]rulesTestReport{}
	for _, f := range []string{"hangzhou-compound-all.rules", "hangzhou-compound-contacts.rules"} {
		code, out, errOut := e.run("rules", "test", "--rules", seedRules(f), "--at", at, "--json")
		if code != exitOK {
			t.Fatalf("rules test %s: exit %d: %s", f, code, errOut)
		}
		var rep rulesTestReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		reports[f] = rep
	}
	all, con := reports["hangzhou-compound-all.rules"], reports["hangzhou-compound-contacts.rules"]
	// Only ZJ-HZ has a rule set: the Ningbo holder is not judged.
	if all.Judged != 3 || all.Unjudged != 1 {
		t.Errorf("judged %d, not %d; want 3, 1", all.Judged, all.Unjudged)
	}
	if got := all.Counts["ZJ-HZ"]; got["red"] != 2 || got["green"] != 1 {
		t.Errorf("everyone red: counts %v, want red 2, green 1", got)
	}
	if got := con.Counts["ZJ-HZ"]; got["red"] != 1 || got["green"] != 2 {
		t.Errorf("contacts only: counts %v, want red 1, green 2", got)
	}
	// ZJ:1 is red already; ZJ:3's yellow by hand would end; the neighbour
	// ZJ:2 turns red only when everyone is red.
	wantAll := map[string]string{"ZJ:2": "green>red compound-case risk-area-home", "ZJ:3": "yellow>green  unspecified"}
	wantCon := map[string]string{"ZJ:3": "yellow>green  unspecified"}
	for name, tc := range map[string]struct {
		rep  rulesTestReport
		want map[string]string
	}{"all": {all, wantAll}, "contacts": {con, wantCon}} {
		got := map[string]string{}
		for _, c := range tc.rep.Changes {
			got[c.Holder] = c.From + ">" + c.To + " " + c.Rule + " " + c.Reason
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: changes %v, want %v", name, got, tc.want)
		}
		for h, w := range tc.want {
			if got[h] != w {
				t.Errorf("%s: %s %q, want %q", name, h, got[h], w)
			}
		}
	}
	if all.Moves["green>red"] != 1 || con.Moves["green>red"] != 0 {
		t.Errorf("moves %v and %v", all.Moves, con.Moves)
	}
	// The text says the same and that nothing changed.
	code, out, errOut := e.run("rules", "test", "--rules", seedRules("hangzhou-compound-all.rules"), "--at", at)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"dry run at 2020-02-05T12:00:00Z; nothing was changed", "ZJ-HZ 2020-02-14.1-all (from", "not deployed",
		"3 holders judged, 1 not", "2 would change colour", "green to red: 1", "ZJ:2", "compound-case", "2020-02-17T00:00:00Z"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	code, out, _ = e.run("rules", "list", "--json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("after a dry run, rules list: exit %d, %s; want nothing deployed", code, out)
	}
}

func TestRulesDeployListExplain(t *testing.T) {
	e := newRulesEnv(t)
	zj := seedRules("zhejiang.rules")
	// A delegation without colour-rules is refused and deploys nothing.
	code, _, errOut := e.deploy(zj, e.otherDel, "--why", "first rules")
	if code != exitRefused || !strings.Contains(errOut, "colour-rules") {
		t.Errorf("deploy with a status-only delegation: exit %d, %s; want 1 naming colour-rules", code, errOut)
	}
	// A rule set that does not compile is refused with its position.
	bad := filepath.Join(e.dir, "bad.rules")
	if err := os.WriteFile(bad, []byte("region ZJ\nversion x\nrule a\n  match f.kidn == \"confirmed\"\n  red confirmed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = e.deploy(bad, e.del, "--why", "typo")
	if code != exitRefused || !strings.Contains(errOut, "bad.rules:4:10: rule a (match): undefined field 'kidn'") || !strings.Contains(errOut, "nothing was changed") {
		t.Errorf("deploy of a broken rule set: exit %d, %s", code, errOut)
	}
	if code, _, errOut = e.deploy(zj, e.del); code != exitUsage || !strings.Contains(errOut, "--why") {
		t.Errorf("deploy without --why: exit %d, %s; want 2", code, errOut)
	}
	code, out, _ := e.run("rules", "list", "--json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("after refusals: exit %d, %s; want nothing deployed", code, out)
	}
	if code, out, errOut := e.deploy(zj, e.del, "--why", "first rules"); code != exitOK || !strings.Contains(out, "deployed ZJ #1 (2020-02-11.1), signed by key") {
		t.Fatalf("first deploy: exit %d, %s %s", code, out, errOut)
	}
	// The same source again deploys nothing: it says the rule set is in
	// force already, and how to deploy it again.
	code, out, errOut = e.deploy(zj, e.del, "--why", "again")
	if code != exitOK || !strings.Contains(out, "ZJ #1 (2020-02-11.1) is deployed already with the same source") || !strings.Contains(out, "--force") ||
		strings.Contains(out, "deployed ZJ #2") {
		t.Fatalf("deploy of the same source: exit %d, %s %s; want 0 saying ZJ #1 is deployed already", code, out, errOut)
	}
	code, out, _ = e.run("rules", "list", "--json")
	if code != exitOK || strings.Count(out, `"number"`) != 1 {
		t.Fatalf("after deploying the same source: exit %d, %s; want ZJ #1 alone", code, out)
	}
	code, out, errOut = e.deploy(zj, e.del, "--why", "again", "--force")
	if code != exitOK || !strings.Contains(out, "deployed ZJ #2 (2020-02-11.1), signed by key") || !strings.Contains(out, "it replaces ZJ #1 (2020-02-11.1)") {
		t.Fatalf("deploy --force of the same source: exit %d, %s %s; want ZJ #2 replacing #1", code, out, errOut)
	}
	code, out, errOut = e.run("rules", "list", "--root-pub", e.rootPub)
	if code != exitOK {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "ZJ      2") || !strings.Contains(lines[1], "in force") || !strings.Contains(lines[2], "replaced") ||
		!strings.Contains(lines[1], "ops:alice") || !strings.Contains(lines[1], "key ") {
		t.Errorf("list:\n%s", out)
	}
	// The audit names who deployed what and why.
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	var changes []central.EngineChange
	_ = st.ViewEngine(context.Background(), func(r central.EngineReader) error {
		changes, err = r.Changes(context.Background(), 1, 0)
		return err
	})
	st.Close()
	last := changes[len(changes)-1]
	if last.Action != central.ChangeRuleSet || last.Subject != "ZJ" || last.By != "ops:alice" || last.Why != "again" {
		t.Errorf("last audit record %+v", last)
	}

	at := rulesT0.Format(time.RFC3339)
	code, out, errOut = e.run("status", "explain", "--holder", "ZJ:4", "--at", at)
	if code != exitOK {
		t.Fatalf("explain: exit %d: %s", code, errOut)
	}
	for _, w := range []string{"RED", "since 2020-02-02 09:30 UTC", `rule "close-contact" of the ZJ rules, version 2020-02-11.1`,
		"Until: 2020-02-16 09:30 UTC", "Xihu supermarket (SM-HZ-1)"} {
		if !strings.Contains(out, w) {
			t.Errorf("explain lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "ZJ:1") {
		t.Errorf("explain names the case:\n%s", out)
	}
	code, out, _ = e.run("status", "explain", "--holder", "ZJ:4", "--at", at, "--lang", "zh", "--zone", "Asia/Shanghai")
	if code != exitOK || !strings.Contains(out, "红码") || !strings.Contains(out, "至2020-02-16 17:30") {
		t.Errorf("explain in Chinese: exit %d:\n%s", code, out)
	}
	// A holder whose recorded status differs from the rules is told so.
	code, out, _ = e.run("status", "explain", "--holder", "ZJ:3", "--at", at)
	if code != exitOK || !strings.Contains(out, "GREEN") || !strings.Contains(out, "the centre's record says yellow (manual, by ops:test)") {
		t.Errorf("explain of a status set by hand: exit %d:\n%s", code, out)
	}
	code, out, _ = e.run("status", "explain", "--holder", "ZJ:4", "--at", at, "--json")
	var ex struct {
		Result struct {
			Status, Rule, Version string
		}
		Text string
	}
	if code != exitOK || json.Unmarshal([]byte(out), &ex) != nil || ex.Result.Status != "red" || ex.Result.Rule != "close-contact" || ex.Text == "" {
		t.Errorf("explain --json: exit %d: %s", code, out)
	}
}

func TestRulesUsage(t *testing.T) {
	e := newRulesEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "test"}, "--rules FILE is required"},
		{[]string{"rules", "test", "--rules", seedRules("zhejiang.rules"), "--rules", seedRules("zhejiang.rules")}, "two rule sets given for region ZJ"},
		{[]string{"rules", "test", "--rules", seedRules("zhejiang.rules"), "--show", "-1"}, "--show -1"},
		{[]string{"rules", "deploy"}, "deploy takes one rule set FILE"},
		{[]string{"status", "explain"}, "--holder is required"},
		{[]string{"status", "explain", "--holder", "Zhang San"}, "never a name"},
		{[]string{"status", "explain", "--holder", "ZJ:1", "--lang", "fr"}, "want en or zh"},
		{[]string{"status", "explain", "--holder", "ZJ:1", "--zone", "Mars/Olympus"}, "not a time zone"},
	} {
		code, _, errOut := e.run(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %s; want 2 and %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
	// A missing data directory is an error naming it, not a new store.
	code, _, errOut := runCLI("rules", "list", "--data", filepath.Join(e.dir, "nowhere"))
	if code != exitRefused || !strings.Contains(errOut, "nowhere") {
		t.Errorf("rules list on a missing --data: exit %d, %s", code, errOut)
	}
}

// TestRulesApply sweeps: the rules in force give two holders red; the
// changes are published in the status bundle through the path of status
// set, a terminal then refuses a green code issued before the sweep, the
// engine's audit names the rule set and the facts, entries set by hand
// stand, and a second sweep publishes nothing.
func TestRulesApply(t *testing.T) {
	type rulesApplied = sweep.Report
	e := newRulesEnv(t)
	now := time.Now().UTC()
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	by := central.ChangeBy{Time: now, By: "ops:test", Why: "today's cases"}
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, f := range []central.Fact{
			{Holder: "ZJ:20", Kind: central.FactHome, At: now.AddDate(0, -1, 0), Area: "ZJ-NB", Source: "ops:test"},
			{Holder: "ZJ:20", Kind: central.FactConfirmed, At: now.Add(-2 * time.Hour), Source: "ops:test"},
			{Holder: "ZJ:21", Kind: central.FactContact, At: now.Add(-3 * time.Hour), Site: "SM-HZ-1", Value: "ZJ:20", Source: "derived:contact:T/0/1"},
		} {
			if _, err := tx.AddFact(ctx, f, by); err != nil {
				return err
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := e.deploy(seedRules("zhejiang.rules"), e.del, "--why", "province rules"); code != exitOK {
		t.Fatalf("deploy: %d %s %s", code, out, errOut)
	}
	apply := func() rulesApplied {
		t.Helper()
		code, out, errOut := e.run("rules", "apply", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--operator", "alice", "--json")
		if code != exitOK {
			t.Fatalf("rules apply: exit %d: %s", code, errOut)
		}
		var a rulesApplied
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return a
	}
	a := apply()
	if a.Published == nil || a.Published.Kind != trust.KindStatusBase || len(a.Changes) != 2 || a.ByHand != 2 {
		t.Fatalf("first sweep: %+v", a)
	}
	got := map[string]string{}
	for _, c := range a.Changes {
		got[c.Holder] = c.From + ">" + c.To + " " + c.Rule
	}
	if got["ZJ:20"] != "green>red confirmed" || got["ZJ:21"] != "green>red close-contact" {
		t.Errorf("changes %v", got)
	}
	// A terminal that syncs refuses ZJ:20's green code issued an hour ago,
	// after the confirmation but before the sweep.
	se := statusEnv{data: e.data, rootPub: e.rootPub}
	tm := se.terminal(t)
	tm.sync(t, se)
	r := tm.list.Lookup(mustHolder(t, "ZJ:20"), now.Add(-time.Hour), time.Now())
	if !r.Overridden || r.Status != status.Red || r.Reason != byte(status.ReasonConfirmed) {
		t.Errorf("the terminal's lookup of ZJ:20: %+v, want overridden red (confirmed)", r)
	}
	if r := tm.list.Lookup(mustHolder(t, "ZJ:3"), now.Add(-time.Hour), time.Now()); r.Overridden {
		t.Errorf("ZJ:3 (set by hand before, untouched) overrides a code issued since: %+v", r)
	}
	// The entry and the engine's audit name the rule set and the facts.
	st, err = boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	entry, ok, err := st.StatusOf(ctx, mustHolder(t, "ZJ:20"))
	if err != nil || !ok || entry.Source != "engine" || entry.RuleSet != "ZJ #1 (2020-02-11.1)" || !strings.HasPrefix(entry.Note, "rule confirmed; facts ") {
		t.Errorf("ZJ:20's entry %+v (%v)", entry, err)
	}
	_ = st.ViewEngine(ctx, func(r central.EngineReader) error {
		cs, _ := r.Changes(ctx, 1, 0)
		var n int
		for _, c := range cs {
			if c.Action == central.ChangeStatus {
				n++
				if c.By != "engine" || c.Why != "rules apply by ops:alice" || !strings.Contains(string(c.Detail), `"rule_set":"ZJ #1 (2020-02-11.1)"`) {
					t.Errorf("audit %+v %s", c, c.Detail)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d status audit records, want 2", n)
		}
		return nil
	})
	st.Close()
	if a := apply(); a.Published != nil || len(a.Changes) != 0 {
		t.Errorf("a second sweep published %+v", a)
	}
	code, out, _ := e.run("status", "explain", "--holder", "ZJ:20")
	if code != exitOK || !strings.Contains(out, "RED") || strings.Contains(out, "differs") {
		t.Errorf("explain after the sweep: exit %d:\n%s", code, out)
	}
}

// A fever kept at a site ops have not placed: status explain says so
// until ops add the site with sites set.
func TestStatusExplainFeverAtUnplacedSite(t *testing.T) {
	e := newRulesEnv(t)
	if code, _, errOut := e.deploy(seedRules("zhejiang.rules"), e.del, "--why", "rules"); code != exitOK {
		t.Fatalf("deploy: %s", errOut)
	}
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	fever := central.Fact{Holder: "ZJ:4", Kind: central.FactFever, At: rulesT0.Add(-time.Hour), Site: "CP-NEW",
		Temperature: physic.ZeroCelsius + 38600*physic.MilliKelvin, Source: central.FeverSource("T-9", central.Epoch{9}, 1)}
	added, unplaced, _, err := central.KeepFevers(context.Background(), st, []central.Fact{fever}, central.ChangeBy{Time: rulesT0, By: "ingest:T-9"})
	st.Close()
	if err != nil || len(added) != 1 || len(unplaced) != 1 {
		t.Fatalf("kept %+v, unplaced %+v (%v), want the fever kept and unplaced", added, unplaced, err)
	}
	explain := func(lang string) string {
		t.Helper()
		code, out, errOut := e.run("status", "explain", "--holder", "ZJ:4", "--at", rulesT0.Format(time.RFC3339), "--lang", lang)
		if code != exitOK {
			t.Fatalf("explain: exit %d: %s", code, errOut)
		}
		return out
	}
	if out := explain("en"); !strings.Contains(out, "the fever measured at site CP-NEW on 2020-02-05 11:00 is kept, but the centre has no area for that site yet") {
		t.Errorf("explain before sites set:\n%s\nwant it to say the site has no area yet", out)
	}
	if out := explain("zh"); !strings.Contains(out, "卡口CP-NEW测得的发热已记录") {
		t.Errorf("explain --lang zh before sites set:\n%s", out)
	}
	if code, _, errOut := e.run("sites", "set", "CP-NEW", "--area", "ZJ-NB", "--why", "new checkpoint", "--operator", "alice"); code != exitOK {
		t.Fatalf("sites set: %s", errOut)
	}
	if out := explain("en"); strings.Contains(out, "CP-NEW") {
		t.Errorf("explain after sites set still names the site as unplaced:\n%s", out)
	}
}
