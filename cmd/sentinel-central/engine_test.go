package main

import (
	"context"
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

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/server"
)

// TestEngineCommandsWhileServeRuns: the engine's feeding commands used to
// refuse on the bbolt store while serve held it. Now each one reaches the
// running serve through its control socket and works unchanged: its words
// are those of the command with serve stopped, its changes are in the
// store with who and why, and a change starts a sweep at once (the case
// added here is red before serve's next 10-minute round).
func TestEngineCommandsWhileServeRuns(t *testing.T) {
	e := newRulesEnv(t)
	s := startServe(t, "--data", e.data, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del, "--no-time")
	defer s.stop(t)
	now := time.Now().UTC().Truncate(time.Second)
	csv := filepath.Join(e.dir, "cases.csv")
	if err := os.WriteFile(csv, []byte("holder,confirmed_at,home\nZJ:6,"+now.Add(-2*time.Hour).Format(time.RFC3339)+",ZJ-NB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"areas", "set", "ZJ-HZ-GS", "--kind", "district", "--parent", "ZJ-HZ", "--name", "Gongshu", "--why", "new district"}, "area ZJ-HZ-GS is a district in ZJ-HZ\n"},
		{[]string{"areas", "risk", "ZJ-HZ-GS", "--level", "high", "--effective", "2020-02-04T00:00:00Z", "--why", "cluster"}, "area ZJ-HZ-GS is high risk from 2020-02-04T00:00:00Z\n"},
		{[]string{"sites", "set", "SM-GS-1", "--area", "ZJ-HZ-GS", "--name", "Gongshu market", "--why", "new terminal"}, "site SM-GS-1 lies in ZJ-HZ-GS\n"},
		{[]string{"areas", "list", "--at", "2020-02-06T00:00:00Z"}, "ZJ-HZ-GS"},
		{[]string{"sites", "list"}, "SM-GS-1"},
		{[]string{"whitelist", "add", "--holder", "ZJ:2", "--area", "ZJ-HZ", "--why", "nurse"}, "whitelist entry 7: ZJ:2 on essential for ZJ-HZ\n"},
		{[]string{"whitelist", "list"}, "ZJ:2"},
		{[]string{"whitelist", "remove", "--fact", "7", "--why", "left the hospital"}, "whitelist entry 7 removed: ZJ:2 is no longer on essential for ZJ-HZ\n"},
		{[]string{"rules", "deploy", seedRules("zhejiang.rules"), "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--why", "province rules"}, "deployed ZJ #1"},
		{[]string{"rules", "list"}, "in force"},
		{[]string{"rules", "test", "--rules", seedRules("hangzhou-compound-all.rules"), "--at", rulesT0.Format(time.RFC3339)}, "dry run at 2020-02-05T12:00:00Z; nothing was changed"},
		{[]string{"cases", "add", "--holder", "ZJ:5", "--at", now.Add(-time.Hour).Format(time.RFC3339), "--home", "ZJ-NB", "--why", "case 5"}, "recorded 1 confirmed cases and 0 close contacts from the passages\n"},
		{[]string{"cases", "import", csv, "--why", "cases of today"}, "recorded 1 confirmed cases and 0 close contacts from the passages\n"},
	}
	for _, st := range steps {
		code, out, errOut := e.run(append(st.args, "--operator", "alice")...)
		if code != exitOK || !strings.Contains(out, st.want) {
			t.Fatalf("%s with serve running: exit %d %q %q, want %q", strings.Join(st.args, " "), code, out, errOut, st.want)
		}
	}
	// The refusals say what they said with serve stopped.
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"sites", "set", "SM-X", "--area", "NOWHERE", "--why", "x"}, `site SM-X lies in "NOWHERE", which is not an area: add it with areas set`},
		{[]string{"whitelist", "remove", "--fact", "999", "--why", "x"}, "no whitelist entry 999: see whitelist list"},
		{[]string{"passage", "show", "8YLT-3B84-P54Q"}, "no passage at the centre has reference 8YLT-3B84-P54Q"},
	} {
		code, out, errOut := e.run(append(bad.args, "--operator", "alice")...)
		if code != exitRefused || !strings.Contains(errOut, bad.want) || out != "" {
			t.Errorf("%s with serve running: exit %d %q %q, want exit 1 and %q", strings.Join(bad.args, " "), code, out, errOut, bad.want)
		}
	}
	// The cases reached the rules at once: ZJ:5 and ZJ:6 are red through
	// the event path, long before the next round.
	deadline := time.Now().Add(time.Minute)
	for _, h := range []string{"ZJ:5", "ZJ:6"} {
		for {
			code, out, errOut := e.run("status", "explain", "--holder", h, "--json", "--operator", "alice")
			var ans enginecmd.Explained
			if code != exitOK || json.Unmarshal([]byte(out), &ans) != nil {
				t.Fatalf("explain %s: exit %d %s", h, code, errOut)
			}
			if ans.Recorded != nil && ans.Recorded.Status.String() == "red" && ans.Recorded.Source == "engine" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is not red by the engine a minute after its case was added: %+v\nserve: %s", h, ans.Recorded, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// rules apply sweeps in serve, with serve's key.
	code, out, errOut := e.run("rules", "apply", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--operator", "alice")
	if code != exitOK || !strings.Contains(errOut, "the running serve holds the store: it sweeps") || !strings.Contains(out, " at ") {
		t.Errorf("rules apply with serve running: exit %d %q %q", code, out, errOut)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	}
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var changes []central.EngineChange
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { changes, err = r.Changes(ctx, 1, 0); return err }); err != nil {
		t.Fatal(err)
	}
	var byAlice []string
	for _, c := range changes {
		if c.By == "ops:alice" {
			byAlice = append(byAlice, c.Action+" "+c.Subject)
		}
	}
	for _, w := range []string{"area-set ZJ-HZ-GS", "grade-add ZJ-HZ-GS", "site-set SM-GS-1", "fact-add ZJ:2", "fact-remove ZJ:2", "rules-deploy ZJ", "fact-add ZJ:5", "fact-add ZJ:6"} {
		if !slices.Contains(byAlice, w) {
			t.Errorf("the engine's audit lacks %q by ops:alice: %q", w, byAlice)
		}
	}
	audit, err := st.Audit(ctx, central.AuditFilter{Operator: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	for _, w := range []string{central.AuditWhitelist, central.AuditRulesTest, central.AuditPassage, central.AuditExplain} {
		if !slices.Contains(actions, w) {
			t.Errorf("the audit log lacks a %s look-up by alice: %q", w, actions)
		}
	}
}

// TestControlSocketNotifiesEngineChanges: each change of the engine's
// data through the control socket tells the event path (Env.Notify); a
// look-up and a refused change do not.
func TestControlSocketNotifiesEngineChanges(t *testing.T) {
	e := newRulesEnv(t)
	st, err := boltstore.Open(filepath.Join(e.data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var told atomic.Int32
	big := filepath.Join(e.dir, "big.csv")
	rows := []string{"holder,confirmed_at,home"}
	for i := range 20000 {
		rows = append(rows, fmt.Sprintf("ZJ:%d,2020-02-05T08:00:00Z,ZJ-NB", 100000+i))
	}
	if err := os.WriteFile(big, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(big); fi.Size() <= 64<<10 {
		t.Fatalf("the big import has %d bytes, want more than 64 KiB", fi.Size())
	}
	stop, err := serveControl(e.data, st, nil, enginecmd.Env{StoreName: "test", Notify: func() { told.Add(1) }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, step := range []struct {
		args []string
		code int
		told int32
	}{
		{[]string{"areas", "list"}, exitOK, 0},
		{[]string{"cases", "add", "--holder", "ZJ:5", "--at", "2020-02-05T00:00:00Z", "--why", "case"}, exitOK, 1},
		{[]string{"areas", "risk", "ZJ-NB", "--level", "high", "--why", "cluster"}, exitOK, 2},
		{[]string{"areas", "risk", "NOWHERE", "--level", "high", "--why", "typo"}, exitRefused, 2},
		{[]string{"whitelist", "add", "--holder", "ZJ:2", "--site", "SM-HZ-1", "--why", "guard"}, exitOK, 3},
		{[]string{"whitelist", "list"}, exitOK, 3},
		{[]string{"sites", "set", "SM-NB-1", "--area", "ZJ-NB", "--why", "new"}, exitOK, 4},
		{[]string{"areas", "set", "ZJ-NB-HS", "--kind", "district", "--parent", "ZJ-NB", "--why", "new"}, exitOK, 5},
		// An import far larger than a request of the other commands goes
		// through the socket whole.
		{[]string{"cases", "import", big, "--no-contacts", "--why", "a big day"}, exitOK, 6},
	} {
		code, _, errOut := e.run(append(step.args, "--operator", "alice")...)
		if code != step.code || told.Load() != step.told {
			t.Errorf("%s: exit %d (%s), told %d times; want exit %d, told %d times", strings.Join(step.args, " "), code, errOut, told.Load(), step.code, step.told)
		}
	}
}

// TestEngineEventsOnPostgres: on PostgreSQL the engine's commands run in
// their own process, not in serve; a case they add, a risk level they
// set, reach serve through LISTEN/NOTIFY and start its sweep at once, so
// the holders are red long before serve's next 10-minute round.
func TestEngineEventsOnPostgres(t *testing.T) {
	e := newRulesEnv(t)
	cs := pgtest.NewDatabase(t)
	pg := func(args ...string) string {
		t.Helper()
		code, out, errOut := e.run(append(args, "--postgres", cs, "--operator", "alice")...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	pg("areas", "set", "ZJ", "--kind", "province", "--why", "setup")
	pg("areas", "set", "ZJ-NB", "--kind", "city", "--parent", "ZJ", "--why", "setup")
	pg("rules", "deploy", seedRules("zhejiang.rules"), "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--why", "province rules")
	data := filepath.Join(e.dir, "pgdata")
	s := startServe(t, "--data", data, "--postgres", cs, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del, "--no-time")
	defer s.stop(t)
	now := time.Now().UTC().Truncate(time.Second)
	pg("cases", "add", "--holder", "ZJ:5", "--at", now.Add(-time.Hour).Format(time.RFC3339), "--home", "ZJ-NB", "--why", "case 5")
	deadline := time.Now().Add(time.Minute)
	for {
		var ans enginecmd.Explained
		if err := json.Unmarshal([]byte(pg("status", "explain", "--holder", "ZJ:5", "--json")), &ans); err != nil {
			t.Fatal(err)
		}
		if ans.Recorded != nil && ans.Recorded.Status.String() == "red" && ans.Recorded.Source == "engine" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ZJ:5 is not red by the engine a minute after its case was added in another process: %+v\nserve: %s", ans.Recorded, s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStatusSetInTheEngineAudit: a status set by hand, with serve stopped
// and through a running serve, is in the engine's audit with who, when,
// why and the change; audit --engine prints it, and its read is itself in
// the audit log.
func TestStatusSetInTheEngineAudit(t *testing.T) {
	e := newRulesEnv(t)
	set := func(holder, st, note string) {
		t.Helper()
		code, _, errOut := e.run("status", "set", "--holder", holder, "--status", st, "--reason", "confirmed", "--note", note,
			"--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--operator", "olga")
		if code != exitOK {
			t.Fatalf("status set %s: exit %d: %s", holder, code, errOut)
		}
	}
	set("ZJ:9", "red", "case 9")
	s := startServe(t, "--data", e.data, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del, "--no-time", "--no-schedule")
	set("ZJ:9", "green", "negative test")
	var changes []central.EngineChange
	code, out, errOut := e.run("audit", "--engine", "--subject", "ZJ:9", "--json")
	if code != exitOK || json.Unmarshal([]byte(out), &changes) != nil {
		t.Fatalf("audit --engine: exit %d %s %s", code, out, errOut)
	}
	if code, out, _ := e.run("audit", "--engine", "--action", central.ChangeStatus); code != exitOK || !strings.Contains(out, "negative test") {
		t.Errorf("audit --engine as a table: exit %d\n%s", code, out)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	}
	who := "ops:olga"
	if len(changes) != 2 {
		t.Fatalf("got %d changes of ZJ:9, want the two status sets: %+v", len(changes), changes)
	}
	for i, w := range []struct{ why, from, to string }{{"case 9", "", "red"}, {"negative test", "red", "green"}} {
		c := changes[i]
		var d struct{ From, To string }
		json.Unmarshal(c.Detail, &d)
		if c.Action != central.ChangeStatus || c.By != who || c.Why != w.why || d.From != w.from || d.To != w.to || time.Since(c.Time) > time.Hour {
			t.Errorf("change %d: got %+v %s, want %s to %s by %s with %q", i, c, c.Detail, w.from, w.to, who, w.why)
		}
	}
	code, out, _ = e.run("audit", "--action", central.AuditEngineChanges)
	if code != exitOK || strings.Count(out, central.AuditEngineChanges) != 2 {
		t.Errorf("the reads of the engine's audit are not in the audit log: exit %d\n%s", code, out)
	}
}

// TestEngineChangesMakeTheStore follows docs/central.md's colour rules on
// a new centre: the first areas set, before serve or devices add ever ran,
// makes the store (it refused with "no central store" before), and a
// command that only reads still refuses a store that is not there.
func TestEngineChangesMakeTheStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "central")
	code, _, errOut := sentinel(t, "areas", "list", "--data", data)
	if code != exitRefused || !strings.Contains(errOut, "no centre data directory") {
		t.Errorf("areas list of no directory: exit %d, %q", code, errOut)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = sentinel(t, "areas", "list", "--data", data)
	if code != exitRefused || !strings.Contains(errOut, "nothing to read yet") || !strings.Contains(errOut, "areas set") {
		t.Errorf("areas list of no store: exit %d, %q", code, errOut)
	}
	fresh := filepath.Join(t.TempDir(), "new")
	mustRun(t, "areas", "set", "ZJ", "--kind", "province", "--name", "Zhejiang", "--why", "the province", "--data", fresh)
	mustRun(t, "sites", "set", "SM-0042", "--area", "ZJ", "--why", "new terminal", "--data", fresh)
	if out := mustRun(t, "sites", "list", "--data", fresh); !strings.Contains(out, "SM-0042") {
		t.Errorf("sites list after the first change: %q", out)
	}
}
