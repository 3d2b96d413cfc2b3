package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
)

// TestFeedTheEngine runs the commands that feed the engine, as ops would:
// areas, a risk level, a site, passages that reach the centre, a rule set,
// a case import that derives a close contact, a whitelist; then explains.
func TestFeedTheEngine(t *testing.T) {
	e := newRulesEnv(t)
	ops := func(args ...string) string {
		t.Helper()
		if slices.Contains(args, "--why") {
			args = append(args, "--operator", "alice")
		}
		code, out, errOut := e.run(args...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	ops("areas", "set", "ZJ-HZ-GS", "--kind", "district", "--parent", "ZJ-HZ", "--name", "Gongshu", "--why", "new district")
	ops("areas", "risk", "ZJ-HZ-GS", "--level", "high", "--effective", "2020-02-04T00:00:00Z", "--why", "cluster")
	ops("sites", "set", "SM-GS-1", "--area", "ZJ-HZ-GS", "--name", "Gongshu market", "--why", "new terminal")
	out := ops("areas", "list", "--at", "2020-02-06T00:00:00Z")
	for _, w := range []string{"ZJ-HZ-GS", "Gongshu", "high", "ZJ-HZ-XH-C01", "low"} {
		if !strings.Contains(out, w) {
			t.Errorf("areas list lacks %q:\n%s", w, out)
		}
	}
	if out := ops("sites", "list"); !strings.Contains(out, "SM-GS-1") || !strings.Contains(out, "SM-HZ-1") {
		t.Errorf("sites list:\n%s", out)
	}
	// Passages reach the centre: ZJ:7 and ZJ:8 at the Gongshu market five
	// minutes apart, ZJ:9 two hours later.
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []central.Record
	for i, p := range []struct {
		holder string
		at     time.Time
	}{{"ZJ:7", time.Date(2020, 2, 4, 10, 0, 0, 0, time.UTC)}, {"ZJ:8", time.Date(2020, 2, 4, 10, 5, 0, 0, time.UTC)}, {"ZJ:9", time.Date(2020, 2, 4, 12, 5, 0, 0, time.UTC)}} {
		recs = append(recs, central.Record{Seq: uint64(i + 1), Stored: fmt.Appendf(nil, "rec %d", i), Time: p.at, Site: "SM-GS-1", Holder: p.holder, Decision: "admit"})
	}
	if _, err := storetest.Ingest(context.Background(), st, "T-GS-1", central.Epoch{7}, storetest.Journal(recs)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, out, errOut := e.deploy(seedRules("zhejiang.rules"), e.del, "--why", "province rules"); code != exitOK {
		t.Fatalf("deploy: %d %s %s", code, out, errOut)
	}
	csv := filepath.Join(e.dir, "cases.csv")
	if err := os.WriteFile(csv, []byte("holder,confirmed_at,home\nZJ:7,2020-02-05T08:00:00Z,ZJ-HZ-GS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = ops("cases", "import", csv, "--why", "cases of 5 Feb")
	if !strings.Contains(out, "recorded 1 confirmed cases and 1 close contacts from the passages") {
		t.Errorf("cases import: %s", out)
	}
	if out = ops("cases", "import", csv, "--why", "again"); !strings.Contains(out, "recorded 0 confirmed cases (1 were recorded already) and 0 close contacts") {
		t.Errorf("cases import again: %s", out)
	}
	at := "2020-02-06T00:00:00Z"
	if out := ops("status", "explain", "--holder", "ZJ:8", "--at", at); !strings.Contains(out, `rule "close-contact"`) || !strings.Contains(out, "Gongshu market (SM-GS-1)") {
		t.Errorf("explain ZJ:8:\n%s", out)
	}
	// ZJ:9 came two hours later: not a contact, but the market lies in a
	// district graded high since 4 February, so the passage is a visit.
	if out := ops("status", "explain", "--holder", "ZJ:9", "--at", at); !strings.Contains(out, "YELLOW") || !strings.Contains(out, `rule "high-risk-visit"`) ||
		!strings.Contains(out, "passed Gongshu market (SM-GS-1) in Gongshu (ZJ-HZ-GS), then a high risk area") {
		t.Errorf("explain ZJ:9 (two hours later, not a contact, a visit to a high-risk district):\n%s", out)
	}
	// A case added by hand, with no contacts derived.
	if out := ops("cases", "add", "--holder", "ZJ:9", "--at", "2020-02-05T09:00:00Z", "--no-contacts", "--why", "clinic"); !strings.Contains(out, "recorded 1 confirmed cases\n") {
		t.Errorf("cases add: %q", out)
	}
	// A whitelist entry, listed and removed.
	out = ops("whitelist", "add", "--holder", "ZJ:8", "--area", "ZJ-HZ", "--why", "hospital cleaner")
	if !strings.Contains(out, "ZJ:8 on essential for ZJ-HZ") {
		t.Errorf("whitelist add: %s", out)
	}
	num := strings.TrimSuffix(strings.Fields(out)[2], ":")
	if out := ops("whitelist", "list"); !strings.Contains(out, num) || !strings.Contains(out, "ZJ:8") {
		t.Errorf("whitelist list:\n%s", out)
	}
	if code, _, errOut := e.run("whitelist", "remove", "--fact", "1", "--why", "x", "--operator", "alice"); code != exitRefused || !strings.Contains(errOut, "no whitelist entry 1") {
		t.Errorf("removing a fact that is not a whitelist entry: %d %s", code, errOut)
	}
	ops("whitelist", "remove", "--fact", num, "--why", "left the job")
	if out := ops("whitelist", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("whitelist after removal: %s", out)
	}
	// Every change is in the engine's audit, by alice, with why.
	st, err = boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.ViewEngine(context.Background(), func(r central.EngineReader) error {
		changes, _ := r.Changes(context.Background(), 1, 0)
		var mine []string
		for _, c := range changes {
			if c.By == "ops:alice" {
				mine = append(mine, c.Action+" "+c.Subject+" ("+c.Why+")")
			}
		}
		want := []string{"area-set ZJ-HZ-GS (new district)", "grade-add ZJ-HZ-GS (cluster)", "site-set SM-GS-1 (new terminal)",
			"rules-deploy ZJ (province rules)", "fact-add ZJ:7 (cases of 5 Feb)", "fact-add ZJ:7 (cases of 5 Feb)", "fact-add ZJ:8 (cases of 5 Feb)",
			"fact-add ZJ:9 (clinic)", "fact-add ZJ:8 (hospital cleaner)", "fact-remove ZJ:8 (left the job)"}
		if strings.Join(mine, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant\n%s", strings.Join(mine, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
}

func TestFeedRefusals(t *testing.T) {
	e := newRulesEnv(t)
	bad := filepath.Join(e.dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("holder,confirmed_at\nZJ:1,2020-02-05T08:00:00Z\nZhang San,2020-02-05T08:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"areas", "set", "ZJ-X", "--kind", "city", "--parent", "ZJ"}, exitUsage, "--why is required"},
		{[]string{"areas", "set", "ZJ-X", "--kind", "town", "--why", "w"}, exitUsage, `area kind "town"`},
		{[]string{"areas", "set", "ZJ-X", "--kind", "city", "--parent", "NOPE", "--why", "w"}, exitRefused, "lies in NOPE, which is not an area"},
		{[]string{"areas", "risk", "ZJ-HZ", "--level", "severe", "--why", "w"}, exitUsage, `risk level "severe"`},
		{[]string{"areas", "risk", "NOPE", "--level", "high", "--why", "w"}, exitRefused, `risk level for "NOPE", which is not an area`},
		{[]string{"sites", "set", "S1", "--why", "w"}, exitUsage, "--area is required"},
		{[]string{"sites", "set", "S1", "--area", "NOPE", "--why", "w"}, exitRefused, "not an area"},
		{[]string{"whitelist", "add", "--holder", "ZJ:1", "--why", "w"}, exitUsage, "give --area or --site"},
		{[]string{"whitelist", "add", "--holder", "Zhang San", "--area", "ZJ", "--why", "w"}, exitUsage, "never a name"},
		{[]string{"cases", "add", "--holder", "ZJ:1", "--why", "w"}, exitUsage, "--at TIME is required"},
		{[]string{"cases", "import", bad, "--why", "w"}, exitRefused, "bad.csv:3: holder:"},
	} {
		code, _, errOut := e.run(append(tc.args, "--operator", "alice")...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %s; want %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
		if strings.Contains(errOut, "Zhang") {
			t.Errorf("%s: the error repeats a name: %s", strings.Join(tc.args, " "), errOut)
		}
	}
	// Nothing of the refused import was recorded.
	code, out, _ := e.run("status", "explain", "--holder", "ZJ:1", "--at", "2020-02-06T00:00:00Z")
	if code == exitOK && strings.Contains(out, "confirmed") {
		t.Errorf("a refused import recorded ZJ:1's case:\n%s", out)
	}
}
