package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles"
	"sentinel/internal/status"
)

// statusEnv is a centre with an online signer delegated for status bundles.
type statusEnv struct {
	dir, data, rootPub, signer, del string
}

func newStatusEnv(tb testing.TB) statusEnv {
	tb.Helper()
	dir := tb.TempDir()
	e := statusEnv{dir: dir, data: filepath.Join(dir, "central"), rootPub: filepath.Join(dir, "root", "root.pub"),
		signer: filepath.Join(dir, "online", "signer.key"), del: filepath.Join(dir, "online", "signer.delegation")}
	for _, args := range [][]string{
		{"trust", "root-keygen", "--out", filepath.Join(dir, "root")},
		{"trust", "signer-keygen", "--out", filepath.Join(dir, "online")},
		{"trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
			"--kinds", "status-base,status-delta", "--valid", "90d", "--out", e.del},
	} {
		if code, _, errOut := runCLI(args...); code != exitOK {
			tb.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
	}
	return e
}

// status runs `status SUB args... --key --delegation --root-pub --data --json`.
func (e statusEnv) status(sub string, args ...string) (int, statusPublished, string) {
	args = append([]string{"status", sub}, args...)
	args = append(args, "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data, "--json")
	code, out, errOut := runCLI(args...)
	var p statusPublished
	if code == exitOK {
		var raw struct {
			Bundle bundles.Entry `json:"bundle"`
			Why    string        `json:"why"`
			Took   float64       `json:"took_ms"`
		}
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			return exitRefused, p, "bad JSON: " + out
		}
		p.Bundle, p.Why, p.Took = raw.Bundle, raw.Why, statusPublishTime(raw.Took*float64(time.Millisecond))
	}
	return code, p, errOut
}

// terminal is a terminal's status list fed from the centre's repository.
type terminal struct {
	list *status.List
	root any
	// shared is the store that keeps the repository (PostgreSQL); nil
	// reads it from the data directory.
	shared bundles.Shared
}

func (e statusEnv) terminal(t *testing.T) *terminal {
	t.Helper()
	l, err := status.New(status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := readPublicKey(e.rootPub)
	if err != nil {
		t.Fatal(err)
	}
	return &terminal{list: l, root: root}
}

// sync applies what the repository has since the terminal's version and
// returns the kinds applied.
func (tm *terminal) sync(t *testing.T, e statusEnv) []trust.Kind {
	t.Helper()
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(e.data, "bundles"), Shared: tm.shared})
	if err != nil {
		t.Fatal(err)
	}
	have, _ := tm.list.Version()
	pubs, err := repo.StatusSince(have)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []trust.Kind
	for _, p := range pubs {
		v, _ := tm.list.Version()
		b, _, err := trust.OpenBundle(p.Data, tm.root, time.Now(), trust.State{Version: v})
		if err != nil {
			t.Fatalf("open %s %d: %v", p.Kind, p.Version, err)
		}
		if b.Kind == trust.KindStatusBase {
			err = tm.list.ApplyBase(b)
		} else {
			err = tm.list.ApplyDelta(b)
		}
		if err != nil {
			t.Fatalf("apply %s %d: %v", p.Kind, p.Version, err)
		}
		kinds = append(kinds, b.Kind)
	}
	return kinds
}

// store opens the centre's bbolt store, where the statuses are.
func (e statusEnv) store(t *testing.T) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(e.data, "central.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustHolder(t *testing.T, s string) credential.Holder {
	t.Helper()
	h, err := credential.ParseHolder(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestStatusSetAndRevoke(t *testing.T) {
	e := newStatusEnv(t)
	tm := e.terminal(t)
	now := time.Now().UTC().Truncate(time.Second)
	const pseudo = "p:00112233445566778899aabbccddeeff"

	// The first change publishes a base: none exists yet.
	code, p, errOut := e.status("set", "--holder", "ZJ:1", "--status", "yellow", "--reason", "close-contact")
	if code != exitOK || p.Bundle.Kind != trust.KindStatusBase || p.Bundle.Version != 1 || p.Why == "" {
		t.Fatalf("first set: got exit %d %+v %s, want a status-base version 1 with a reason", code, p, errOut)
	}
	if got := tm.sync(t, e); len(got) != 1 || got[0] != trust.KindStatusBase {
		t.Fatalf("terminal: got %v, want one base", got)
	}

	redAt := now.Add(-10 * time.Minute)
	code, p, errOut = e.status("set", "--holder", "ZJ:7", "--status", "red", "--reason", "fever", "--effective", rfc(redAt),
		"--until", rfc(redAt.Add(14*24*time.Hour)), "--note", "close contact")
	if code != exitOK || p.Bundle.Kind != trust.KindStatusDelta || p.Bundle.Base != 1 || p.Bundle.Version != 2 {
		t.Fatalf("set red: got exit %d %+v %s, want a status-delta 1→2", code, p, errOut)
	}
	t.Logf("status delta signed and published in %.2f ms", float64(p.Took)/float64(time.Millisecond))
	if got := tm.sync(t, e); len(got) != 1 || got[0] != trust.KindStatusDelta {
		t.Fatalf("terminal: got %v, want one delta", got)
	}
	zj7 := mustHolder(t, "ZJ:7")
	r := tm.list.Lookup(zj7, redAt.Add(-time.Hour), time.Now())
	if !r.Overridden || r.Status != status.Red || r.Reason != byte(status.ReasonFever) || !r.Effective.Equal(redAt) {
		t.Errorf("code issued before red: got %+v, want overridden red reason 3 at %s", r, redAt)
	}
	if r := tm.list.Lookup(zj7, redAt.Add(time.Second), time.Now()); r.Overridden {
		t.Errorf("code issued after red: got %+v, want not overridden", r)
	}

	// Red then green: the green code issued after the green passes.
	code, p, errOut = e.status("set", "--holder", "ZJ:7", "--status", "green", "--reason", "test-negative")
	if code != exitOK || p.Bundle.Kind != trust.KindStatusDelta || p.Bundle.Version != 3 {
		t.Fatalf("set green: got exit %d %+v %s", code, p, errOut)
	}
	tm.sync(t, e)
	greenAt := p.Bundle.IssuedAt.Truncate(time.Second)
	if r := tm.list.Lookup(zj7, greenAt.Add(2*time.Second), time.Now().Add(3*time.Second)); r.Overridden {
		t.Errorf("fresh green code after red then green: got %+v, want it to pass (not overridden)", r)
	}
	if r := tm.list.Lookup(zj7, redAt.Add(-time.Hour), time.Now()); !r.Overridden || r.Status != status.Green {
		t.Errorf("old code after red then green: got %+v, want overridden green", r)
	}

	// Withheld for a pseudonymous holder.
	if code, p, errOut = e.status("set", "--holder", pseudo, "--status", "withheld", "--reason", "not-registered"); code != exitOK || p.Bundle.Kind != trust.KindStatusDelta {
		t.Fatalf("set withheld: got exit %d %+v %s", code, p, errOut)
	}
	tm.sync(t, e)
	if r := tm.list.Lookup(mustHolder(t, pseudo), now.Add(-time.Hour), time.Now()); !r.Overridden || r.Status != status.Withheld || r.Reason != byte(status.ReasonNotRegistered) {
		t.Errorf("withheld pseudonym: got %+v, want overridden withheld reason 9", r)
	}

	// EU DCC revocation.
	const uci = "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"
	if tm.list.Revoked(uci) {
		t.Fatal("revoked before revoke")
	}
	if code, p, errOut = e.status("revoke", "--dcc", uci); code != exitOK || p.Bundle.Kind != trust.KindStatusDelta || p.Bundle.Version != 5 {
		t.Fatalf("revoke: got exit %d %+v %s", code, p, errOut)
	}
	tm.sync(t, e)
	if !tm.list.Revoked(uci) || tm.list.Revoked(uci+"X") {
		t.Errorf("Revoked: got %v for the UCI and %v for another, want true, false", tm.list.Revoked(uci), tm.list.Revoked(uci+"X"))
	}

	// A terminal that starts now gets the same answers from the chain.
	fresh := e.terminal(t)
	if got := fresh.sync(t, e); len(got) != 5 {
		t.Errorf("fresh terminal: got %v, want the base and four deltas", got)
	}
	if c := fresh.list.Counts(); c.Native != 2 || c.Pseudonyms != 1 || c.Revoked != 1 {
		t.Errorf("fresh terminal counts: got %+v, want 2 native, 1 pseudonym, 1 revoked", c)
	}

	// The store holds the latest entry per holder, so a base can be rebuilt.
	db := e.store(t)
	defer db.Close()
	ctx := context.Background()
	db.ViewStatus(ctx, func(r central.StatusReader) error {
		n, rev, _ := r.Counts(ctx)
		v, _ := r.Version(ctx)
		rec, ok, err := r.Status(ctx, zj7)
		if n != 3 || rev != 1 || v != 5 || !ok || err != nil || rec.Status != status.Green {
			t.Errorf("record: got %d entries, %d revoked, version %d, ZJ:7 %+v; want 3, 1, 5, green", n, rev, v, rec)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(e.data, "status.db")); !os.IsNotExist(err) {
		t.Errorf("status.db: got %v, want none: statuses are in the central store", err)
	}
}

func TestStatusSetRefusesBadInput(t *testing.T) {
	e := newStatusEnv(t)
	if code, _, errOut := e.status("set", "--holder", "ZJ:1", "--status", "red", "--reason", "confirmed"); code != exitOK {
		t.Fatalf("setup: exit %d %s", code, errOut)
	}
	listing := func() string {
		code, out, _ := sentinel(t, "bundles", "list", "--data", e.data, "--json")
		if code != exitOK {
			t.Fatalf("bundles list: exit %d", code)
		}
		return out
	}
	before := listing()
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad holder", []string{"--holder", "ZJ", "--status", "red", "--reason", "confirmed"}, "--holder"},
		{"national id as holder", []string{"--holder", "330102199001011234", "--status", "red", "--reason", "confirmed"}, "--holder"},
		{"bad pseudonym", []string{"--holder", "p:xyz", "--status", "red", "--reason", "confirmed"}, "--holder"},
		{"bad status", []string{"--holder", "ZJ:1", "--status", "purple", "--reason", "confirmed"}, "--status"},
		{"bad reason", []string{"--holder", "ZJ:1", "--status", "red", "--reason", "256"}, "--reason"},
		{"reason as a number", []string{"--holder", "ZJ:1", "--status", "red", "--reason", "1"}, "close-contact"},
		{"a name as holder", []string{"--holder", "Zhang San", "--status", "red", "--reason", "confirmed"}, "ISSUER:INDEX"},
		{"bad time", []string{"--holder", "ZJ:1", "--status", "red", "--reason", "confirmed", "--effective", "yesterday"}, "effective"},
		{"until before effective", []string{"--holder", "ZJ:1", "--status", "red", "--reason", "confirmed", "--effective", rfc(now.Add(-time.Hour)), "--until", rfc(now.Add(-2 * time.Hour))}, "not after"},
		{"effective in the future", []string{"--holder", "ZJ:1", "--status", "red", "--reason", "confirmed", "--effective", rfc(now.Add(24 * time.Hour))}, "future"},
		{"missing status", []string{"--holder", "ZJ:1", "--reason", "confirmed"}, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := e.status("set", tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("got exit %d %q, want exit %d mentioning %q", code, errOut, exitUsage, tc.want)
			}
			if after := listing(); after != before {
				t.Errorf("something was published: got %s, want %s", after, before)
			}
		})
	}
	if code, _, errOut := e.status("revoke"); code != exitUsage {
		t.Errorf("revoke without --dcc: got exit %d %q, want %d", code, errOut, exitUsage)
	}
	// A signer whose delegation does not cover status is refused, nothing recorded.
	other := filepath.Join(e.dir, "policy.delegation")
	mustRun(t, "trust", "delegate", "--root", filepath.Join(e.dir, "root", "root.key"), "--pub", filepath.Join(e.dir, "online", "signer.pub"),
		"--kinds", "policy", "--valid", "90d", "--out", other)
	e2 := e
	e2.del = other
	if code, _, _ := e2.status("set", "--holder", "ZJ:2", "--status", "red", "--reason", "confirmed"); code != exitRefused {
		t.Errorf("set with a policy-only delegation: got exit %d, want %d", code, exitRefused)
	}
	if after := listing(); after != before {
		t.Errorf("refused publication changed the repository: got %s, want %s", after, before)
	}
	db := e.store(t)
	defer db.Close()
	if _, ok, _ := db.StatusOf(context.Background(), mustHolder(t, "ZJ:2")); ok {
		t.Error("refused publication left ZJ:2 in the record")
	}
}

// TestStatusRebuildsBase: when the record and the repository disagree (a
// publication the record missed), the next change publishes a base.
func TestStatusRebuildsBase(t *testing.T) {
	e := newStatusEnv(t)
	for i, h := range []string{"ZJ:1", "ZJ:2"} {
		if code, p, errOut := e.status("set", "--holder", h, "--status", "red", "--reason", "confirmed"); code != exitOK || p.Bundle.Version != uint64(i+1) {
			t.Fatalf("set %s: exit %d %+v %s", h, code, p, errOut)
		}
	}
	db := e.store(t)
	ctx := context.Background()
	if err := db.UpdateStatus(ctx, func(tx central.StatusTx) error { return tx.SetVersion(ctx, 1) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, p, errOut := e.status("set", "--holder", "ZJ:3", "--status", "red", "--reason", "confirmed")
	if code != exitOK || p.Bundle.Kind != trust.KindStatusBase || !strings.Contains(p.Why, "repository is at 2") {
		t.Fatalf("set after a mismatch: got exit %d %+v %s, want a base", code, p, errOut)
	}
	tm := e.terminal(t)
	tm.sync(t, e)
	if c := tm.list.Counts(); c.Native != 3 {
		t.Errorf("rebuilt base: got %d native entries, want 3", c.Native)
	}
}

// BenchmarkStatusSetDelta measures `status set` end to end: keys read,
// record updated, delta signed, checked and written.
func BenchmarkStatusSetDelta(b *testing.B) {
	e := newStatusEnv(b)
	if code, _, errOut := e.status("set", "--holder", "ZJ:0", "--status", "red", "--reason", "confirmed"); code != exitOK {
		b.Fatal(errOut)
	}
	args := []string{"--status", "red", "--reason", "confirmed", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data}
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%900 == 0 {
			b.StopTimer() // stay under the chain bound: start a new repository
			e = newStatusEnv(b)
			e.status("set", "--holder", "ZJ:0", "--status", "red", "--reason", "confirmed")
			args = []string{"--status", "red", "--reason", "confirmed", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data}
			b.StartTimer()
		}
		code, _, errOut := runCLI(append([]string{"status", "set", "--holder", "ZJ:" + strconv.Itoa(i+1)}, args...)...)
		if code != exitOK {
			b.Fatal(errOut)
		}
	}
}

// runCLI runs the command in-process without a *testing.T (benchmarks).
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestStatusPublish republishes the base on demand: before, bundles
// publish refused status-base and nothing else could publish a base over a
// chain, so an old base could only be replaced by luck.
func TestStatusPublish(t *testing.T) {
	e := newStatusEnv(t)
	if code, _, errOut := e.status("publish"); code != exitOK {
		t.Fatalf("publish on an empty record: exit %d: %s", code, errOut)
	}
	if code, p, errOut := e.status("set", "--holder", "ZJ:7", "--status", "red", "--reason", "confirmed"); code != exitOK || p.Bundle.Kind != trust.KindStatusDelta {
		t.Fatalf("set: exit %d %+v: %s", code, p.Bundle, errOut)
	}
	code, p, errOut := e.status("publish")
	if code != exitOK || p.Bundle.Kind != trust.KindStatusBase || p.Bundle.Version != 3 || !strings.Contains(p.Why, "status publish") {
		t.Fatalf("publish: exit %d %+v %q: %s", code, p.Bundle, p.Why, errOut)
	}
	tm := e.terminal(t)
	if kinds := tm.sync(t, e); len(kinds) != 1 || kinds[0] != trust.KindStatusBase {
		t.Errorf("a new terminal got %v, want the base alone", kinds)
	}
	if r := tm.list.Lookup(credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 7}, time.Now().Add(-time.Hour), time.Now()); !r.Overridden || r.Status != status.Red {
		t.Errorf("the terminal's list from the new base: got %+v, want ZJ:7 red", r)
	}
	if code, _, errOut := runCLI("status", "publish", "extra"); code != exitUsage || !strings.Contains(errOut, "no arguments") {
		t.Errorf("publish extra: got exit %d %q, want usage", code, errOut)
	}
}
