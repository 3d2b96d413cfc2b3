package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
	"sentinel/internal/passage"
)

// passageData is a centre whose store holds 120 passages of terminal
// T-7 (one every 20 seconds, three to a minute), and the time of each.
func passageData(t *testing.T) (data string, epoch central.Epoch, at func(seq uint64) time.Time) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "central")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	at = func(seq uint64) time.Time { return t0.Add(time.Duration(seq) * 20 * time.Second) }
	var recs []central.Record
	for s := uint64(1); s <= 120; s++ {
		r := central.Record{Seq: s, Stored: fmt.Appendf(nil, "rec %d", s), Time: at(s), Site: "SM-0042",
			Holder: fmt.Sprintf("ZJ:%d", 1000+s), Decision: "admit", Reasons: []string{"ok"}}
		if s == 47 {
			r.Decision, r.Reasons = "deny", []string{"status-red"}
		}
		recs = append(recs, r)
	}
	epoch = central.Epoch{0xe, 0x9}
	if _, err := storetest.Ingest(context.Background(), st, "T-7", epoch, storetest.Journal(recs)); err != nil {
		t.Fatal(err)
	}
	return data, epoch, at
}

func TestPassageShow(t *testing.T) {
	data, epoch, at := passageData(t)
	ref := passage.NewRef("T-7", epoch, 47, at(47)).String()
	// As read out over the phone: lower case, no hyphens.
	code, out, errOut := runCLI("passage", "show", "--data", data, "--zone", "Asia/Shanghai", strings.ToLower(strings.ReplaceAll(ref, "-", "")))
	if code != exitOK {
		t.Fatalf("passage show %s: exit %d: %s", ref, code, errOut)
	}
	for _, want := range []string{
		"passage  " + ref, "2026-12-07 21:15:40 CST (2026-12-07T13:15:40Z)", "site     SM-0042",
		"device   T-7 (journal 0e09" + strings.Repeat("0", 28) + ", record 47)", "verdict  deny", "status-red: ",
		"holder   ZJ:1047", "sentinel-central status explain --holder ZJ:1047",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("passage show prints\n%s\nwithout %q", out, want)
		}
	}
	code, out, errOut = runCLI("passage", "show", "--data", data, "--json", "--lang", "zh", ref)
	var got []enginecmd.ShownPassage
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 {
		t.Fatalf("--json: exit %d, %q, %s", code, out, errOut)
	}
	if p := got[0]; p.Seq != 47 || p.Holder != "ZJ:1047" || p.Decision != "deny" || p.Explain != "sentinel-central status explain --holder ZJ:1047 --lang zh" || !strings.ContainsRune(p.Messages[0], '码') {
		t.Errorf("--json gives %+v", p)
	}
	// Each look-up is recorded with who and why.
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := st.Audit(context.Background(), central.AuditFilter{Action: central.AuditPassage})
	st.Close()
	if err != nil || len(audit) != 2 || audit[0].Purpose != "appeal" || audit[0].Query.Holder != "ZJ:1047" || audit[0].Rows != 1 {
		t.Fatalf("audit %+v (%v), want two look-ups of ZJ:1047 for an appeal", audit, err)
	}
}

func TestPassageShowNotFound(t *testing.T) {
	data, epoch, at := passageData(t)
	for _, ref := range []passage.Ref{
		passage.NewRef("T-8", epoch, 47, at(47)),                  // another terminal
		passage.NewRef("T-7", epoch, 47, at(47).AddDate(0, 0, 1)), // not synced yet
	} {
		code, out, errOut := runCLI("passage", "show", "--data", data, ref.String())
		if code != exitRefused || out != "" || !strings.Contains(errOut, "no passage at the centre has reference "+ref.String()) ||
			!strings.Contains(errOut, "check that the terminal has synced") {
			t.Errorf("%s: exit %d, %q, %q; want 1 and a sentence saying what to check", ref, code, out, errOut)
		}
	}
}

func TestPassageShowUsage(t *testing.T) {
	data, _, _ := passageData(t)
	if code, _, errOut := runCLI("passage", "show", "-h"); code != exitOK || !strings.HasPrefix(errOut, "usage: sentinel-central passage show REF") {
		t.Errorf("-h: exit %d, %q; want 0 and usage:", code, errOut)
	}
	for _, args := range [][]string{
		{"passage", "show", "--data", data},
		{"passage", "show", "--data", data, "K7M2-Q9XR-4HTB-2"},
		{"passage", "show", "--data", data, "0000-0000-0000"},
		{"passage", "show", "--data", data, "--lang", "fr", passage.NewRef("T-7", central.Epoch{}, 1, time.Now()).String()},
	} {
		if code, _, errOut := runCLI(args...); code != exitUsage || errOut == "" {
			t.Errorf("%s: exit %d (%q), want 2 with a message", strings.Join(args, " "), code, errOut)
		}
	}
}

// status explain takes the passage reference in place of the holder.
func TestStatusExplainPassage(t *testing.T) {
	data, epoch, at := passageData(t)
	ref := passage.NewRef("T-7", epoch, 47, at(47)).String()
	// The store has no rule sets: both say so of the same holder.
	hCode, hOut, hErr := runCLI("status", "explain", "--data", data, "--holder", "ZJ:1047", "--at", "2026-12-07T14:00:00Z")
	code, out, errOut := runCLI("status", "explain", "--data", data, "--passage", ref, "--at", "2026-12-07T14:00:00Z")
	if code != hCode || out != hOut || errOut != hErr || !strings.Contains(out+errOut, "ZJ:1047") {
		t.Fatalf("status explain --passage %s: exit %d, %q %q; want what --holder ZJ:1047 gives: %d %q %q", ref, code, out, errOut, hCode, hOut, hErr)
	}
	other := passage.NewRef("T-7", epoch, 47, at(47).Add(time.Hour)).String()
	if code, _, errOut := runCLI("status", "explain", "--data", data, "--passage", other); code != exitRefused || !strings.Contains(errOut, "no passage at the centre has reference") {
		t.Errorf("an unknown reference: exit %d, %q; want 1 and what to check", code, errOut)
	}
	for _, args := range [][]string{
		{"status", "explain", "--data", data},
		{"status", "explain", "--data", data, "--holder", "ZJ:1047", "--passage", ref},
		{"status", "explain", "--data", data, "--passage", "IIII-2222-2222"},
	} {
		if code, _, errOut := runCLI(args...); code != exitUsage {
			t.Errorf("%s: exit %d (%q), want 2", strings.Join(args, " "), code, errOut)
		}
	}
}

// passage show and status explain answer an appeal while serve runs on
// the bbolt store, through its control socket, as they do with serve
// stopped; each look-up is still in the audit log.
func TestAppealWhileServeRuns(t *testing.T) {
	e := newRulesEnv(t)
	if code, _, errOut := e.deploy(seedRules("zhejiang.rules"), e.del, "--why", "rules"); code != exitOK {
		t.Fatalf("deploy: %s", errOut)
	}
	// ZJ:3, yellow by hand, refused at T-7 after the rules came.
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Recent, so that serve's retention keeps it.
	epoch, when := central.Epoch{0xa}, time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	_, err = storetest.Ingest(context.Background(), st, "T-7", epoch, storetest.Journal([]central.Record{
		{Seq: 1, Stored: []byte("rec"), Time: when, Site: "SM-HZ-1", Holder: "ZJ:3", Decision: "deny", Reasons: []string{"status-yellow"}}}))
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, ref, at := e.data, passage.NewRef("T-7", epoch, 1, when).String(), when.Add(time.Minute).Format(time.RFC3339)
	lookUps := [][]string{
		{"passage", "show", "--data", data, "--zone", "Asia/Shanghai", ref},
		{"passage", "show", "--data", data, "--json", "--lang", "zh", ref},
		{"status", "explain", "--data", data, "--passage", ref, "--at", at},
		{"status", "explain", "--data", data, "--passage", ref, "--at", at, "--json", "--lang", "zh"},
		{"status", "explain", "--data", data, "--holder", "ZJ:1", "--at", rulesT0.Format(time.RFC3339), "--zone", "Asia/Shanghai"},
		{"status", "explain", "--data", data, "--passage", passage.NewRef("T-7", epoch, 1, when.Add(time.Hour)).String()},
	}
	type answer struct {
		code        int
		out, errOut string
	}
	stopped := make([]answer, len(lookUps))
	for i, args := range lookUps {
		a := &stopped[i]
		a.code, a.out, a.errOut = runCLI(args...)
		if i < 5 && a.code != exitOK {
			t.Fatalf("%s, serve stopped: exit %d: %s", strings.Join(args, " "), a.code, a.errOut)
		}
	}
	if !strings.Contains(stopped[2].out, "Note: the centre's record says yellow") {
		t.Fatalf("explain prints %q, want the note on the centre's record", stopped[2].out)
	}
	if stopped[5].code != exitRefused || !strings.Contains(stopped[5].errOut, "no passage at the centre has reference") {
		t.Fatalf("an unknown reference: exit %d %q", stopped[5].code, stopped[5].errOut)
	}
	// The engine's facts are of 2020 (rulesT0): serve's retention would
	// remove them as ended long ago, and this test asks about that time.
	s := startServe(t, "--data", data, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del, "--no-time", "--retention", "0")
	defer s.stop(t)
	for i, args := range lookUps {
		var a answer
		a.code, a.out, a.errOut = runCLI(args...)
		if a != stopped[i] {
			t.Errorf("%s with serve running: exit %d %q %q; want what it gives with serve stopped: %d %q %q",
				strings.Join(args, " "), a.code, a.out, a.errOut, stopped[i].code, stopped[i].out, stopped[i].errOut)
		}
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	}
	st, err = boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := st.Audit(context.Background(), central.AuditFilter{Action: central.AuditPassage})
	st.Close()
	if err != nil || len(audit) != 4 || audit[3].Query.Holder != "ZJ:3" || audit[3].Purpose != "appeal" {
		t.Fatalf("audit %+v (%v), want the four passage look-ups, two of them through serve", audit, err)
	}
}
