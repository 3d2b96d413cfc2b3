package opsapi

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"sentinel/internal/browsertest"
	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/storetest"
)

var update = flag.Bool("update", false, "rewrite testdata/ops-page.png from the browser test")

// TestBrowser drives the ops page in headless Chromium over a memstore:
// the page loads without a token, explains an admin token's 403, shows the
// fleet with an ops token, refuses a trace without a purpose before
// calling, then traces a holder and shows the contact, and exports.
func TestBrowser(t *testing.T) {
	exe := browsertest.Exec(t, "the ops page's browser test")

	now := time.Now().UTC().Truncate(time.Second)
	st := memstore.New(func() time.Time { return now })
	rec := func(seq uint64, ago time.Duration, site, holder, decision string) central.Record {
		return central.Record{Seq: seq, Stored: fmt.Appendf(nil, "rec %d", seq), Time: now.Add(-ago), Site: site, Holder: holder, Decision: decision}
	}
	ctx := t.Context()
	if _, err := storetest.Ingest(ctx, st, "t-gate1", central.Epoch{1}, []central.Record{
		rec(1, 3*time.Hour, "gate-1", "ZJ:1", "pass"),
		rec(2, 3*time.Hour-5*time.Minute, "gate-1", "ZJ:2", "pass"),
		rec(3, 90*time.Minute, "gate-2", "ZJ:3", "refer"),
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h, err := New(Options{Tokens: testTokens(t), Store: st, Audit: st, StoreName: "memory", SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(ts.Close)

	chrome := browsertest.Start(t, exe, 1280, 1000)
	bctx := chrome.Ctx

	step := func(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, timeout)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
		if err != nil {
			t.Fatalf("read #%s: %v", id, err)
		}
		return s
	}
	waitFor := func(what, predicate, show string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 5*time.Second)
		defer scancel()
		if _, err := chromedp.Run(sctx, chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
			t.Fatalf("waiting for %s: %v; #%s shows %q", what, err, show, text(show))
		}
	}
	set := func(id, v string) chromedp.Action[chromedp.Void] {
		if v == "" { // SetValue refuses an empty value
			return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id), chromedp.EvalIgnoreExceptions)
		}
		return chromedp.SetValue(chromedp.CSS("#"+id), v)
	}
	auditEntries := func() []ops.Entry {
		t.Helper()
		es, err := st.Audit(context.Background(), central.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}

	// The page loads without a token and shows no data.
	downloads := t.TempDir()
	step(10*time.Second, chromedp.EmulateViewport(1280, 1000), chromedp.Navigate(ts.URL+"/"))
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	waitFor("the no-token message", `document.getElementById('fleetmsg').textContent.includes('Enter your ops token')`, "fleetmsg")

	// An unknown token: the page says the centre did not accept it.
	step(5*time.Second, set("token", "not-a-token"), chromedp.Click(chromedp.CSS("#usetoken")))
	waitFor("the 401 explanation", `document.getElementById('fleetmsg').textContent.includes('(401)')`, "fleetmsg")
	if got := text("fleetmsg"); !strings.Contains(got, "did not accept this token") {
		t.Errorf("unknown token: got %q, want it to say %q", got, "did not accept this token")
	}

	// An admin token: the page says in words that it is not an ops token.
	step(5*time.Second, set("token", adminToken), chromedp.Click(chromedp.CSS("#usetoken")))
	waitFor("the 403 explanation", `document.getElementById('fleetmsg').classList.contains('error')`, "fleetmsg")
	if got := text("fleetmsg"); !strings.Contains(got, "not an ops token") {
		t.Errorf("admin token: got %q, want it to say %q", got, "not an ops token")
	}

	// The ops token: the fleet row.
	step(5*time.Second, set("token", opsToken), chromedp.Click(chromedp.CSS("#usetoken")))
	waitFor("the fleet row", `!!document.querySelector('#fleettable tr[data-device="t-gate1"]')`, "fleetmsg")
	row, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#fleettable tr[data-device="t-gate1"] td')].map((td) => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	wantSeen := now.Format("2006-01-02 15:04:05")
	if len(row) != 6 || row[0] != "t-gate1" || row[2] != wantSeen || row[3] != "3" || row[4] != "1" || row[5] != "—" {
		t.Errorf("fleet row: got %q, want t-gate1, last seen %s, 3 acknowledged, 1 epoch, no fork", row, wantSeen)
	}

	// The token is in sessionStorage only: not in the URL, not a cookie,
	// not left in the input field.
	where, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[sessionStorage.getItem('sentinel-ops-token') || '', location.href, document.cookie, document.getElementById('token').value, String(localStorage.length)]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{opsToken, ts.URL + "/", "", "", "0"}; fmt.Sprint(where) != fmt.Sprint(want) {
		t.Errorf("token storage: got [session, url, cookie, field, localStorage] %q, want %q", where, want)
	}

	// A trace without a purpose is refused by the page before any call.
	step(5*time.Second, set("trholder", "ZJ:1"), set("trdays", "2"), set("trwindow", "30m"), set("trpurpose", ""), chromedp.Click(chromedp.CSS("#trrun")))
	waitFor("the purpose message", `document.getElementById('tracemsg').textContent.includes('Give the purpose')`, "tracemsg")
	if es := auditEntries(); len(es) != 0 {
		t.Fatalf("after a trace without purpose: got %d audit entries, want 0", len(es))
	}

	// The trace: ZJ:1's visit at gate-1 and ZJ:2 five minutes later.
	step(5*time.Second, set("trpurpose", "outbreak 17"), chromedp.Click(chromedp.CSS("#trrun")))
	waitFor("the contact row", `!!document.querySelector('#tracetable tr.contact')`, "tracemsg")
	contact, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#tracetable tr.contact td')].map((td) => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(contact) != 8 || contact[1] != "gate-1" || contact[4] != "ZJ:2" || contact[7] != "+5m00s" {
		t.Errorf("contact row: got %q, want gate-1, ZJ:2, +5m00s", contact)
	}
	if got := text("tracemsg"); !strings.Contains(got, "1 visit, 1 contact") {
		t.Errorf("trace message: got %q, want 1 visit, 1 contact", got)
	}

	// The export: purpose required by the page too, then the download.
	step(5*time.Second, set("expurpose", ""), chromedp.Click(chromedp.CSS("#exrun")))
	waitFor("the export purpose message", `document.getElementById('exportmsg').textContent.includes('Give the purpose')`, "exportmsg")
	step(5*time.Second, set("exsite", "gate-1"), set("expurpose", "outbreak 17 list"), chromedp.Click(chromedp.CSS("#exrun")))
	waitFor("the export", `document.getElementById('exportmsg').textContent.includes('Exported')`, "exportmsg")
	if got := text("exportmsg"); !strings.Contains(got, "Exported 2 passages") {
		t.Errorf("export message: got %q, want Exported 2 passages", got)
	}

	// The file the browser saved: a header and gate-1's two passages.
	var saved []byte
	for range 250 { // at most 5 s
		if ms, _ := filepath.Glob(filepath.Join(downloads, "sentinel-export-*.csv")); len(ms) == 1 {
			if saved, err = os.ReadFile(ms[0]); err == nil && len(saved) > 0 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(string(saved)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "gate-1") || !strings.Contains(lines[2], "gate-1") {
		t.Errorf("downloaded export: got %q, want a header and 2 rows of gate-1", saved)
	}

	es := auditEntries()
	if len(es) != 2 {
		t.Fatalf("got %d audit entries, want 2 (trace, export)", len(es))
	}
	if e := es[0]; e.Action != ops.ActionTrace || e.Operator != "olga" || e.Purpose != "outbreak 17" || e.Query.Holder != "ZJ:1" || e.Rows != 1 {
		t.Errorf("trace entry: got %+v, want olga's trace of ZJ:1 for outbreak 17, 1 row", e)
	}
	if e := es[1]; e.Action != ops.ActionExport || e.Operator != "olga" || e.Query.Site != "gate-1" || e.Format != "csv" || e.Rows != 2 {
		t.Errorf("export entry: got %+v, want olga's csv export of gate-1, 2 rows", e)
	}

	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}

	// Forget the token: it leaves the tab and the data leaves the page.
	step(5*time.Second, chromedp.Click(chromedp.CSS("#forget")))
	waitFor("the page to forget", `sessionStorage.length === 0 && !document.querySelector('#fleettable tbody tr') && !document.querySelector('#tracetable tbody tr')`, "fleetmsg")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "ops-page.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// No script error and no CSP violation; the refused fetch (403) is
	// logged by the browser's network layer and expected.
	for _, m := range chrome.Console() {
		if m.IsException() || m.Source == "security" || (m.Type == chromedp.ConsoleError && m.Source != "network") {
			t.Errorf("browser console: %s", m)
		}
	}
}
