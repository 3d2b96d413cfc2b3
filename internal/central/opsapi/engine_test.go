package opsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/statuspub"
)

type engineFixture struct {
	srv  *httptest.Server
	st   *memstore.Store
	keys *bundlestest.Keys
	told *atomic.Int32
}

// newEngineFixture serves a Handler whose engine calls run on a memstore
// with a real root, publisher and event counter.
func newEngineFixture(t *testing.T, withEngine bool) engineFixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	st := memstore.New(nil)
	k := bundlestest.NewKeys(t, now.Add(-time.Hour))
	d, err := trust.Delegate(k.Root, k.Signer.Public(), append(trust.Kinds(), trust.KindColourRules), now.Add(-24*time.Hour), now.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	k.Delegation = d
	f := engineFixture{st: st, keys: k, told: &atomic.Int32{}}
	opts := Options{Tokens: testTokens(t), Store: st, Audit: st, StoreName: "memory"}
	if withEngine {
		pub := &statuspub.Publisher{Store: st, DataDir: t.TempDir(), Root: k.Root.Public(),
			Signer: statuspub.Signer{Key: k.Signer, Delegation: k.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
		opts.Engine = &enginecmd.Env{Store: st, StoreName: "memory", Root: k.Root.Public(), Publisher: pub, Notify: func() { f.told.Add(1) }}
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// call posts body to the engine call name with token and returns the
// status and the answer's body.
func (f engineFixture) call(t *testing.T, token, name string, body any) (int, string) {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+EnginePrefix+name, strings.NewReader(raw))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func (f engineFixture) changes(t *testing.T) []central.EngineChange {
	t.Helper()
	ctx := context.Background()
	var cs []central.EngineChange
	if err := f.st.ViewEngine(ctx, func(r central.EngineReader) (err error) { cs, err = r.Changes(ctx, 1, 0); return err }); err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestEngineCallsRefuseOtherRoles: every engine call needs an ops token;
// without one (401) or with another role's (403) nothing is read, changed
// or audited.
func TestEngineCallsRefuseOtherRoles(t *testing.T) {
	f := newEngineFixture(t, true)
	body := map[string]any{"id": "ZJ", "kind": "province", "why": "x"}
	for _, cm := range enginecmd.Commands() {
		for _, c := range []struct {
			token string
			want  int
		}{{"", http.StatusUnauthorized}, {"not-a-token", http.StatusUnauthorized}, {adminToken, http.StatusForbidden}, {issuerToken, http.StatusForbidden}} {
			if code, out := f.call(t, c.token, cm.Name, body); code != c.want {
				t.Errorf("%s with token %q: got %d %s, want %d", cm.Name, c.token, code, out, c.want)
			}
		}
	}
	audit, _ := f.st.Audit(context.Background(), central.AuditFilter{})
	if cs := f.changes(t); len(cs) != 0 || len(audit) != 0 || f.told.Load() != 0 {
		t.Errorf("refused calls left %d changes, %d audit entries, %d events", len(cs), len(audit), f.told.Load())
	}
}

// TestEngineCalls runs the engine's commands through the operator API as
// an ops token: each change is in the engine's audit as the token's name
// and starts the event path, each look-up of holders is in the audit log
// first, and each refusal has the CLI's words and a status that says what
// kind of refusal it is.
func TestEngineCalls(t *testing.T) {
	f := newEngineFixture(t, true)
	now := time.Now().UTC().Truncate(time.Second)
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(version uint64, payload []byte) []byte {
		b, err := trust.SealBundle(f.keys.Signer, f.keys.Delegation, trust.Bundle{Kind: trust.KindColourRules, Version: version, IssuedAt: now,
			FreshUntil: now.AddDate(1, 0, 0), GraceUntil: now.AddDate(1, 0, 0), Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	steps := []struct {
		name string
		body any
		code int
		want string // in the answer
		told int32  // events so far
	}{
		{"areas/set", enginecmd.AreaSetRequest{ID: "ZJ", Kind: "province", Name: "Zhejiang", Why: "setup"}, 200, `"id":"ZJ"`, 1},
		{"areas/set", enginecmd.AreaSetRequest{ID: "ZJ-NB", Kind: "city", Parent: "ZJ", Why: "setup"}, 200, `"parent":"ZJ"`, 2},
		{"areas/set", enginecmd.AreaSetRequest{ID: "ZJ-X", Kind: "planet", Why: "setup"}, 400, "kind: area kind \\\"planet\\\": want province, city, district or compound", 2},
		{"areas/set", enginecmd.AreaSetRequest{ID: "ZJ-Y", Kind: "city", Parent: "ZJ"}, 400, "why is required", 2},
		{"areas/risk", enginecmd.AreaRiskRequest{ID: "ZJ-NB", Level: "high", Why: "cluster"}, 200, `"level":"high"`, 3},
		{"areas/list", enginecmd.AreasListRequest{}, 200, `"level":"high"`, 3},
		{"sites/set", enginecmd.SiteSetRequest{ID: "SM-1", Area: "ZJ-NB", Why: "new terminal"}, 200, `"area":"ZJ-NB"`, 4},
		{"sites/set", enginecmd.SiteSetRequest{ID: "SM-2", Area: "NOWHERE", Why: "new terminal"}, 400, `site SM-2 lies in \"NOWHERE\", which is not an area: add it with areas set`, 4},
		{"sites/list", enginecmd.SitesListRequest{}, 200, `"id":"SM-1"`, 4},
		{"whitelist/add", enginecmd.WhitelistAddRequest{Holder: "ZJ:2", Site: "SM-1", Why: "guard"}, 200, `"kind":"whitelist"`, 5},
		{"whitelist/list", enginecmd.WhitelistListRequest{Purpose: "review"}, 200, `"holder":"ZJ:2"`, 5},
		{"whitelist/remove", enginecmd.WhitelistRemoveRequest{Fact: 99, Why: "typo"}, 404, "no whitelist entry 99: see whitelist list", 5},
		{"whitelist/remove", enginecmd.WhitelistRemoveRequest{Fact: 1, Why: "left"}, 200, `"seq":1`, 6},
		{"cases/add", enginecmd.CasesAddRequest{Cases: []enginecmd.CaseIn{{Holder: "ZJ:5", ConfirmedAt: now.Add(-time.Hour), Home: "ZJ-NB"}}, Why: "case 5"}, 200, `"cases":1`, 7},
		{"cases/add", enginecmd.CasesAddRequest{Cases: []enginecmd.CaseIn{{Holder: "Alice Li", ConfirmedAt: now}}, Why: "case"}, 400, "case 1: holder", 7},
		{"cases/import", enginecmd.CasesImportRequest{File: "today.csv", CSV: "holder,confirmed_at,home\nZJ:6," + now.Format(time.RFC3339) + ",ZJ-NB\n", Why: "import"}, 200, `"cases":1`, 8},
		{"cases/import", enginecmd.CasesImportRequest{File: "bad.csv", CSV: "holder,confirmed_at\nZJ:7,yesterday\n", Why: "import"}, 400, "bad.csv:2", 8},
		{"rules/deploy", enginecmd.RulesDeployRequest{File: "broken.rules", Source: "region ZJ\nversion 1\nrule a red when f.kidn == 1\n", Signed: sign(1, nil), Why: "x"}, 400, "broken.rules does not compile; nothing was changed", 8},
		{"rules/deploy", enginecmd.RulesDeployRequest{File: "zj.rules", Source: string(src), Why: "x"}, 400, "a rule set is deployed signed", 8},
		{"rules/deploy", enginecmd.RulesDeployRequest{File: "zj.rules", Source: string(src), Signed: sign(1, []byte("other")), Why: "x"}, 400, "other bytes than the rule set given", 8},
		{"rules/deploy", enginecmd.RulesDeployRequest{File: "zj.rules", Source: string(src), Signed: sign(2, src), Why: "x"}, 409, "signed as ZJ #2, but the region's next number is 1", 8},
		{"rules/deploy", enginecmd.RulesDeployRequest{File: "zj.rules", Source: string(src), Signed: sign(1, src), Why: "province rules"}, 200, `"number":1`, 9},
		{"rules/list", enginecmd.RulesListRequest{}, 200, `"signer":"key `, 9},
		{"rules/test", enginecmd.RulesTestRequest{Rules: []enginecmd.RulesFile{{File: "zj.rules", Source: string(src)}}}, 200, `"judged":2`, 9},
		{"rules/apply", enginecmd.RulesApplyRequest{}, 200, `"to":"red"`, 9},
		{"status/explain", enginecmd.ExplainRequest{Holder: "ZJ:5", Lang: "zh"}, 200, `"holder":"ZJ:5"`, 9},
		{"status/explain", enginecmd.ExplainRequest{Holder: "ZJ:5", Lang: "fr"}, 400, `lang: language \"fr\": want en or zh`, 9},
		{"passage/show", enginecmd.PassageRequest{Ref: "8YLT-3B84-P54Q"}, 404, "no passage at the centre has reference 8YLT-3B84-P54Q", 9},
		{"passage/show", enginecmd.PassageRequest{Ref: "8YLT-3B84-P54X"}, 400, "", 9},
		{"areas/list", `{"at":"2020-01-01T00:00:00Z","extra":1}`, 400, `unknown field \"extra\"`, 9},
	}
	for i, s := range steps {
		code, out := f.call(t, opsToken, s.name, s.body)
		if code != s.code || !strings.Contains(out, s.want) || f.told.Load() != s.told {
			t.Errorf("step %d %s: got %d %s (%d events), want %d with %q (%d events)", i, s.name, code, out, f.told.Load(), s.code, s.want, s.told)
		}
	}
	var changes []string
	for _, c := range f.changes(t) {
		if c.By == "ops:olga" {
			changes = append(changes, c.Action+" "+c.Subject)
		}
	}
	for _, w := range []string{"area-set ZJ", "grade-add ZJ-NB", "site-set SM-1", "fact-add ZJ:2", "fact-remove ZJ:2", "fact-add ZJ:5", "fact-add ZJ:6", "rules-deploy ZJ"} {
		if !slices.Contains(changes, w) {
			t.Errorf("the engine's audit lacks %q by ops:olga: %q", w, changes)
		}
	}
	audit, err := f.st.Audit(context.Background(), central.AuditFilter{Operator: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	var looked []string
	for _, a := range audit {
		looked = append(looked, a.Action+" "+a.Purpose)
	}
	if want := []string{"whitelist review", "rules-test dry run of rule sets", "explain appeal", "passage appeal"}; !slices.Equal(looked, want) {
		t.Errorf("audit log: got %q, want %q", looked, want)
	}
}

// TestEngineCallsWithoutEngine: a handler built without the engine
// answers 501 and says so.
func TestEngineCallsWithoutEngine(t *testing.T) {
	f := newEngineFixture(t, false)
	if code, out := f.call(t, opsToken, "areas/list", enginecmd.AreasListRequest{}); code != http.StatusNotImplemented || !strings.Contains(out, NoEngineMessage) {
		t.Errorf("got %d %s, want 501", code, out)
	}
}

// TestEngineCallBodyLimit: a cases import may be larger than other
// calls, up to its own limit, and is refused with 413 beyond it.
func TestEngineCallBodyLimit(t *testing.T) {
	f := newEngineFixture(t, true)
	big := enginecmd.CasesImportRequest{File: "big.csv", CSV: "holder,confirmed_at\n" + strings.Repeat("ZJ:1,2020-02-05T00:00:00Z\n", 200<<10/26), Why: "x"}
	if code, out := f.call(t, opsToken, "cases/import", big); code == http.StatusRequestEntityTooLarge {
		t.Errorf("a 200 KiB import: got %d %s, want it read", code, out)
	}
	big.CSV = strings.Repeat("x", enginecmd.MaxImport+1)
	if code, out := f.call(t, opsToken, "cases/import", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("an import over the limit: got %d %s, want 413", code, out)
	}
	if code, out := f.call(t, opsToken, "areas/set", enginecmd.AreaSetRequest{ID: "ZJ", Kind: "province", Why: strings.Repeat("x", MaxBody)}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("an area over the limit: got %d %s, want 413", code, out)
	}
}
