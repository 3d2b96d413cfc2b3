package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central"
)

// RunRegistry runs the conformance cases of the device registry, the
// audit log and the operator tokens (central.Registry, central.AuditLog,
// central.OpsTokens) against the stores that h opens. share, when not nil,
// opens a second handle on the same data as s, as a second server process
// on one database does; the suite then spends one token from both at once.
func RunRegistry(t *testing.T, h Harness, share func(t *testing.T, s central.Store) central.Store) {
	open := func(t *testing.T) central.Store {
		t.Helper()
		s := h.New(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("EnrolTokens", func(t *testing.T) { testEnrolTokens(t, open(t)) })
	t.Run("RedeemOnce", func(t *testing.T) { testRedeemOnce(t, open(t), nil) })
	t.Run("RedeemOnceShared", func(t *testing.T) {
		if share == nil {
			t.Skip("the store has one handle per process")
		}
		s := open(t)
		other := share(t, s)
		t.Cleanup(func() { other.Close() })
		testRedeemOnce(t, s, other)
	})
	t.Run("EnrolAtomic", func(t *testing.T) { testEnrolAtomic(t, open(t)) })
	t.Run("Enrolled", func(t *testing.T) { testEnrolled(t, open(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("OpsTokens", func(t *testing.T) { testOpsTokens(t, open(t)) })
	t.Run("RegistryRestart", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("store keeps nothing across a restart")
		}
		testRegistryRestart(t, h)
	})
}

// regBase is the registry cases' time: UTC, whole microseconds, so that
// every store keeps it exactly.
var regBase = time.Date(2026, 12, 1, 9, 30, 0, 250000000, time.UTC)

// EnrolToken returns a token for site made at regBase+i minutes, valid for
// a day, with a hash derived from name.
func EnrolToken(name, site string, i int) central.EnrolToken {
	made := regBase.Add(time.Duration(i) * time.Minute)
	return central.EnrolToken{Hash: sha256.Sum256([]byte(name)), Site: site, Created: made, Expires: made.Add(24 * time.Hour)}
}

// device returns a device id enrolling at at, as the enrolment handler
// gives it to EnrolDevice: no site (the token's is taken).
func device(id string, at time.Time) central.EnrolledDevice {
	return central.EnrolledDevice{ID: id, Enrolled: at, Serial: "0a" + id[2:], NotAfter: at.Add(90 * 24 * time.Hour)}
}

func testEnrolTokens(t *testing.T, s central.Store) {
	ctx := context.Background()
	a, b, c := EnrolToken("a", "SM-1", 2), EnrolToken("b", "SM-2", 1), EnrolToken("c", "SM-3", 3)
	for _, tok := range []central.EnrolToken{a, b, c} {
		if err := s.AddEnrolToken(ctx, tok); err != nil {
			t.Fatalf("AddEnrolToken %s: %v", tok.Site, err)
		}
	}
	if err := s.AddEnrolToken(ctx, a); !errors.Is(err, central.ErrRegistry) {
		t.Errorf("AddEnrolToken of a stored hash: got %v, want ErrRegistry", err)
	}
	for _, bad := range []central.EnrolToken{{Site: "x", Expires: regBase}, {Hash: a.Hash, Expires: regBase}, {Hash: sha256.Sum256([]byte("n")), Site: "x"}} {
		if err := s.AddEnrolToken(ctx, bad); !errors.Is(err, central.ErrRegistry) {
			t.Errorf("AddEnrolToken %+v: got %v, want ErrRegistry", bad, err)
		}
	}
	at := a.Created.Add(time.Hour)
	got, err := s.EnrolDevice(ctx, a.Hash, device("t-1", at), at)
	if err != nil {
		t.Fatalf("EnrolDevice: %v", err)
	}
	want := a
	want.Used, want.UsedAt, want.Device = true, at, "t-1"
	wantDev := device("t-1", at)
	wantDev.Site = a.Site // the token's
	if got != wantDev {
		t.Errorf("EnrolDevice: got %+v, want %+v", got, wantDev)
	}
	if _, err := s.EnrolDevice(ctx, a.Hash, device("t-2", at), at.Add(time.Second)); !errors.Is(err, central.ErrTokenUsed) {
		t.Errorf("second EnrolDevice: got %v, want ErrTokenUsed", err)
	}
	// The retry of the request that spent it (a lost answer) is refused
	// the same way: the token is spent, whoever asks.
	if _, err := s.EnrolDevice(ctx, a.Hash, device("t-1", at), at.Add(time.Second)); !errors.Is(err, central.ErrTokenUsed) {
		t.Errorf("EnrolDevice retried by its device: got %v, want ErrTokenUsed", err)
	}
	if _, err := s.EnrolDevice(ctx, sha256.Sum256([]byte("never")), device("t-2", at), at); !errors.Is(err, central.ErrTokenUnknown) {
		t.Errorf("EnrolDevice of an unknown token: got %v, want ErrTokenUnknown", err)
	}
	if _, err := s.EnrolDevice(ctx, b.Hash, device("t-3", at), b.Expires); !errors.Is(err, central.ErrTokenExpired) {
		t.Errorf("EnrolDevice at expiry: got %v, want ErrTokenExpired", err)
	}
	if ds, err := s.Enrolled(ctx); err != nil || !slices.Equal(ds, []central.EnrolledDevice{wantDev}) {
		t.Errorf("Enrolled: got %+v, %v; want only %+v", ds, err, wantDev)
	}
	// An expired token stays unspent.
	ts, err := s.EnrolTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAll := []central.EnrolToken{b, want, c} // by creation time
	if !slices.Equal(ts, wantAll) {
		t.Errorf("EnrolTokens:\n got %+v\nwant %+v", ts, wantAll)
	}
}

// testRedeemOnce enrols many devices with one token from many goroutines,
// half of them on other (when not nil): exactly one succeeds and exactly
// one device is stored.
func testRedeemOnce(t *testing.T, s, other central.Store) {
	ctx := context.Background()
	tok := EnrolToken("race", "SM-1", 0)
	if err := s.AddEnrolToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	at := regBase.Add(time.Minute)
	for i := range n {
		st := s
		if other != nil && i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			dev := fmt.Sprintf("t-%d", i)
			_, err := st.EnrolDevice(ctx, tok.Hash, device(dev, at), at)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, dev)
			case !errors.Is(err, central.ErrTokenUsed):
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || len(errs) != 0 {
		t.Fatalf("%d enrolments at once: %d succeeded (%v), other errors %v; want exactly 1 and the rest ErrTokenUsed", n, len(won), won, errs)
	}
	ts, err := s.EnrolTokens(ctx)
	if err != nil || len(ts) != 1 || !ts[0].Used || ts[0].Device != won[0] {
		t.Errorf("after the race: got %+v, %v; want the token spent by %s", ts, err, won[0])
	}
	for _, st := range []central.Store{s, other} {
		if st == nil {
			continue
		}
		ds, err := st.Enrolled(ctx)
		if err != nil || len(ds) != 1 || ds[0].ID != won[0] || ds[0].Site != tok.Site {
			t.Errorf("devices after the race: got %+v, %v; want only %s of %s", ds, err, won[0], tok.Site)
		}
	}
}

// testEnrolAtomic: a device the store refuses after the token's check
// (malformed, or an id enrolled already, refused after the token's write)
// leaves the token unspent and no new device, and the token then enrols.
func testEnrolAtomic(t *testing.T, s central.Store) {
	ctx := context.Background()
	first, tok := EnrolToken("first", "SM-1", 0), EnrolToken("second", "SM-2", 1)
	for _, x := range []central.EnrolToken{first, tok} {
		if err := s.AddEnrolToken(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	at := regBase.Add(time.Hour)
	taken, err := s.EnrolDevice(ctx, first.Hash, device("t-1", at), at)
	if err != nil {
		t.Fatal(err)
	}
	noID := device("t-2", at)
	noID.ID = ""
	noTime := device("t-2", at)
	noTime.Enrolled = time.Time{}
	for name, d := range map[string]central.EnrolledDevice{"an id enrolled already": device("t-1", at), "no id": noID, "no enrolment time": noTime} {
		if _, err := s.EnrolDevice(ctx, tok.Hash, d, at); !errors.Is(err, central.ErrRegistry) {
			t.Errorf("EnrolDevice of a device with %s: got %v, want ErrRegistry", name, err)
		}
		ts, err := s.EnrolTokens(ctx)
		if err != nil || len(ts) != 2 || ts[1] != tok {
			t.Errorf("tokens after the refused device with %s: got %+v, %v; want %+v unspent", name, ts, err, tok)
		}
		if ds, err := s.Enrolled(ctx); err != nil || !slices.Equal(ds, []central.EnrolledDevice{taken}) {
			t.Errorf("devices after the refused device with %s: got %+v, %v; want only %+v", name, ds, err, taken)
		}
	}
	// The retry with a sound device enrols.
	got, err := s.EnrolDevice(ctx, tok.Hash, device("t-2", at), at)
	if err != nil || got.ID != "t-2" || got.Site != tok.Site {
		t.Fatalf("EnrolDevice after the refusals: got %+v, %v; want t-2 of %s", got, err, tok.Site)
	}
	if ds, err := s.Enrolled(ctx); err != nil || len(ds) != 2 {
		t.Errorf("devices after the retry: got %+v, %v; want t-1 and t-2", ds, err)
	}
}

func testEnrolled(t *testing.T, s central.Store) {
	ctx := context.Background()
	dev := func(id string, i int) central.EnrolledDevice {
		at := regBase.Add(time.Duration(i) * time.Hour)
		return central.EnrolledDevice{ID: id, Site: "SM-" + id, Enrolled: at, Serial: "0a" + id, NotAfter: at.Add(90 * 24 * time.Hour)}
	}
	if ds, err := s.Enrolled(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("Enrolled of an empty store: got %v, %v", ds, err)
	}
	a, b, c := dev("t-b", 1), dev("t-a", 2), dev("t-c", 1)
	for _, d := range []central.EnrolledDevice{a, b, c} {
		if err := s.AddEnrolled(ctx, d); err != nil {
			t.Fatalf("AddEnrolled %s: %v", d.ID, err)
		}
	}
	if err := s.AddEnrolled(ctx, a); !errors.Is(err, central.ErrRegistry) {
		t.Errorf("AddEnrolled of an enrolled id: got %v, want ErrRegistry", err)
	}
	if err := s.AddEnrolled(ctx, central.EnrolledDevice{Site: "x", Enrolled: regBase}); !errors.Is(err, central.ErrRegistry) {
		t.Errorf("AddEnrolled without id: got %v, want ErrRegistry", err)
	}
	renewed := regBase.Add(200 * 24 * time.Hour)
	if err := s.Renewed(ctx, "t-a", "ff01", renewed); err != nil {
		t.Fatalf("Renewed: %v", err)
	}
	b.Serial, b.NotAfter = "ff01", renewed
	revoked := regBase.Add(5 * time.Hour)
	if err := s.RevokeDevice(ctx, "t-c", revoked); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	if err := s.RevokeDevice(ctx, "t-c", revoked.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeDevice again: %v", err)
	}
	c.Revoked = revoked // the first revocation's time
	for _, err := range []error{s.Renewed(ctx, "t-x", "01", renewed), s.RevokeDevice(ctx, "t-x", revoked)} {
		if !errors.Is(err, central.ErrUnknownDevice) {
			t.Errorf("change of an unknown device: got %v, want ErrUnknownDevice", err)
		}
	}
	ds, err := s.Enrolled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []central.EnrolledDevice{a, c, b} // by enrolment time, then id
	if !slices.Equal(ds, want) {
		t.Errorf("Enrolled:\n got %+v\nwant %+v", ds, want)
	}
	for _, w := range want {
		d, ok, err := s.EnrolledDevice(ctx, w.ID)
		if err != nil || !ok || d != w {
			t.Errorf("EnrolledDevice %s: got %+v, %v, %v; want %+v", w.ID, d, ok, err, w)
		}
	}
	if d, ok, err := s.EnrolledDevice(ctx, "t-x"); ok || err != nil {
		t.Errorf("EnrolledDevice of an unknown id: got %+v, %v, %v; want none", d, ok, err)
	}
}

// AuditEntries returns n audit entries: exports and traces by two
// operators, one a minute from regBase, the last ones at one instant.
func AuditEntries(n int) []central.AuditEntry {
	var out []central.AuditEntry
	for i := range n {
		e := central.AuditEntry{
			Time: regBase.Add(time.Duration(min(i, n-3)) * time.Minute), Operator: []string{"olga", "ivan"}[i%2],
			Action: central.AuditExport, Purpose: fmt.Sprintf("case %d", i), Store: "store",
			Query: central.AuditQuery{From: regBase.Add(-24 * time.Hour), To: regBase, Site: "SM-1"}, Format: "csv", Rows: i,
		}
		if i%3 == 2 {
			e.Action, e.Format = central.AuditTrace, ""
			e.Query = central.AuditQuery{From: regBase.Add(-24 * time.Hour), To: regBase, Holder: "ZJ:42", Window: 30 * time.Minute}
		}
		out = append(out, e)
	}
	return out
}

func testAudit(t *testing.T, s central.Store) {
	ctx := context.Background()
	es := AuditEntries(30)
	for _, e := range es {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit %s: %v", e.Purpose, err)
		}
	}
	bad := es[0]
	bad.Purpose = ""
	if err := s.AppendAudit(ctx, bad); !errors.Is(err, central.ErrNoPurpose) {
		t.Errorf("AppendAudit without purpose: got %v, want ErrNoPurpose", err)
	}
	bad = es[0]
	bad.Operator = ""
	if err := s.AppendAudit(ctx, bad); !errors.Is(err, central.ErrNoOperator) {
		t.Errorf("AppendAudit without operator: got %v, want ErrNoOperator", err)
	}
	bad = es[2]
	bad.Query.Holder = "Zhang San"
	if err := s.AppendAudit(ctx, bad); err == nil {
		t.Error("AppendAudit with a name for a holder: got no error")
	}
	tests := []struct {
		name string
		f    central.AuditFilter
		keep func(i int) bool
	}{
		{"all", central.AuditFilter{}, func(int) bool { return true }},
		{"operator", central.AuditFilter{Operator: "ivan"}, func(i int) bool { return i%2 == 1 }},
		{"action", central.AuditFilter{Action: central.AuditTrace}, func(i int) bool { return i%3 == 2 }},
		{"from-to", central.AuditFilter{From: regBase.Add(5 * time.Minute), To: regBase.Add(10 * time.Minute)}, func(i int) bool { return i >= 5 && i < 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Audit(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var want []central.AuditEntry
			for i, e := range es {
				if tt.keep(i) {
					want = append(want, e)
				}
			}
			if !slices.EqualFunc(got, want, sameAudit) {
				t.Errorf("got %d entries, want %d in append order:\n got %+v\nwant %+v", len(got), len(want), got, want)
			}
		})
	}
}

func sameAudit(a, b central.AuditEntry) bool {
	return a.Time.Equal(b.Time) && a.Query.From.Equal(b.Query.From) && a.Query.To.Equal(b.Query.To) &&
		a.Operator == b.Operator && a.Action == b.Action && a.Purpose == b.Purpose && a.Store == b.Store &&
		a.Format == b.Format && a.Rows == b.Rows && a.Query.Site == b.Query.Site && a.Query.Device == b.Query.Device &&
		a.Query.Holder == b.Query.Holder && a.Query.Window == b.Query.Window
}

// OpsToken returns an operator token named name with role, its hash that
// of "secret-"+name.
func OpsToken(name string, role central.OpsRole) central.OpsToken {
	return central.OpsToken{Name: name, Role: role, SHA256: sha256.Sum256([]byte("secret-" + name))}
}

func testOpsTokens(t *testing.T, s central.Store) {
	ctx := context.Background()
	if ts, err := s.ListOpsTokens(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("ListOpsTokens of an empty store: got %v, %v", ts, err)
	}
	olga, backup, iss := OpsToken("olga", central.RoleOps), OpsToken("backup", central.RoleAdmin), OpsToken("issuer-zj", central.RoleIssuer)
	for _, tok := range []central.OpsToken{olga, backup, iss} {
		if err := s.PutOpsToken(ctx, tok); err != nil {
			t.Fatalf("PutOpsToken %s: %v", tok.Name, err)
		}
	}
	// A new secret and role for olga replaces hers.
	olga2 := OpsToken("olga", central.RoleAdmin)
	olga2.SHA256 = sha256.Sum256([]byte("olga's new secret"))
	if err := s.PutOpsToken(ctx, olga2); err != nil {
		t.Fatalf("PutOpsToken replacing: %v", err)
	}
	dup := OpsToken("mallory", central.RoleOps)
	dup.SHA256 = backup.SHA256
	for _, bad := range []central.OpsToken{dup, {Name: "x", Role: "root", SHA256: dup.SHA256}, {Role: central.RoleOps, SHA256: dup.SHA256}, {Name: "y", Role: central.RoleOps}} {
		if err := s.PutOpsToken(ctx, bad); !errors.Is(err, central.ErrOpsToken) {
			t.Errorf("PutOpsToken %+v: got %v, want ErrOpsToken", bad, err)
		}
	}
	if err := s.RemoveOpsToken(ctx, "issuer-zj"); err != nil {
		t.Fatalf("RemoveOpsToken: %v", err)
	}
	if err := s.RemoveOpsToken(ctx, "issuer-zj"); !errors.Is(err, central.ErrUnknownOpsToken) {
		t.Errorf("RemoveOpsToken of a removed token: got %v, want ErrUnknownOpsToken", err)
	}
	got, err := s.ListOpsTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []central.OpsToken{backup, olga2}; !slices.Equal(got, want) {
		t.Errorf("ListOpsTokens:\n got %+v\nwant %+v", got, want)
	}
}

// testRegistryRestart: what the registry, the audit log and the operator
// tokens hold survives a restart.
func testRegistryRestart(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	tok := EnrolToken("r", "SM-1", 0)
	dev := central.EnrolledDevice{ID: "t-1", Site: "SM-1", Enrolled: regBase, Serial: "01", NotAfter: regBase.Add(time.Hour)}
	es := AuditEntries(3)
	op := OpsToken("olga", central.RoleOps)
	steps := []error{s.AddEnrolToken(ctx, tok), s.AddEnrolled(ctx, dev), s.RevokeDevice(ctx, "t-1", regBase.Add(time.Minute)), s.PutOpsToken(ctx, op)}
	for _, e := range es {
		steps = append(steps, s.AppendAudit(ctx, e))
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	s = h.Reopen(t, s)
	defer s.Close()
	dev.Revoked = regBase.Add(time.Minute)
	if ts, err := s.EnrolTokens(ctx); err != nil || !slices.Equal(ts, []central.EnrolToken{tok}) {
		t.Errorf("EnrolTokens after a restart: got %+v, %v", ts, err)
	}
	if ds, err := s.Enrolled(ctx); err != nil || !slices.Equal(ds, []central.EnrolledDevice{dev}) {
		t.Errorf("Enrolled after a restart: got %+v, %v", ds, err)
	}
	if got, err := s.Audit(ctx, central.AuditFilter{}); err != nil || !slices.EqualFunc(got, es, sameAudit) {
		t.Errorf("Audit after a restart: got %+v, %v", got, err)
	}
	if got, err := s.ListOpsTokens(ctx); err != nil || !slices.Equal(got, []central.OpsToken{op}) {
		t.Errorf("ListOpsTokens after a restart: got %+v, %v", got, err)
	}
	// Appending goes on after the entries kept.
	more := AuditEntries(4)[3]
	if err := s.AppendAudit(ctx, more); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Audit(ctx, central.AuditFilter{}); err != nil || len(got) != 4 || !sameAudit(got[3], more) {
		t.Errorf("Audit after appending past a restart: got %+v, %v", got, err)
	}
}
