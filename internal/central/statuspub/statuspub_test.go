package statuspub_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

var t0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

func publisher(t *testing.T) *statuspub.Publisher {
	t.Helper()
	k := bundlestest.NewKeys(t, t0)
	return &statuspub.Publisher{Store: memstore.New(nil), DataDir: t.TempDir(), Root: k.Root.Public(), Now: func() time.Time { return t0 },
		Signer: statuspub.Signer{Key: k.Signer, Delegation: k.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
}

func native(index uint32) credential.Holder {
	return credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: index}
}

func set(index uint32) statuspub.Change {
	return func(ctx context.Context, tx central.StatusTx, d *status.Builder) error {
		r := central.StatusEntry{Holder: native(index), Status: status.Red, Effective: t0, SetAt: t0}
		if _, _, err := tx.SetStatus(ctx, r); err != nil {
			return err
		}
		return central.AddStatus(d, r)
	}
}

// TestPublish: the first change publishes a base, the next ones deltas on
// it; a chain at its bound, a store out of step with the repository and
// PublishBase each give a base, saying why.
func TestPublish(t *testing.T) {
	ctx := context.Background()
	p := publisher(t)
	p.MaxChain = 2
	steps := []struct {
		do   func() (statuspub.Result, error)
		kind trust.Kind
		why  string
	}{
		{func() (statuspub.Result, error) { return p.Publish(ctx, set(1)) }, trust.KindStatusBase, "no status base"},
		{func() (statuspub.Result, error) { return p.Publish(ctx, set(2)) }, trust.KindStatusDelta, ""},
		{func() (statuspub.Result, error) { return p.Publish(ctx, set(3)) }, trust.KindStatusDelta, ""},
		{func() (statuspub.Result, error) { return p.Publish(ctx, set(4)) }, trust.KindStatusBase, "2 deltas"},
		{func() (statuspub.Result, error) { return p.PublishBase(ctx, "the daily base") }, trust.KindStatusBase, "the daily base"},
	}
	for i, s := range steps {
		res, err := s.do()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.Bundle.Kind != s.kind || res.Bundle.Version != uint64(i+1) || !strings.Contains(res.Why, s.why) || (s.why == "") != (res.Why == "") {
			t.Errorf("step %d: got %s version %d (%q), want %s version %d (%q)", i, res.Bundle.Kind, res.Bundle.Version, res.Why, s.kind, i+1, s.why)
		}
	}
	// The store falls out of step (a restored backup): a base.
	if err := p.Store.UpdateStatus(ctx, func(tx central.StatusTx) error { return tx.SetVersion(ctx, 2) }); err != nil {
		t.Fatal(err)
	}
	res, err := p.Publish(ctx, set(5))
	if err != nil || res.Bundle.Kind != trust.KindStatusBase || !strings.Contains(res.Why, "record was last published at status version 2") {
		t.Errorf("out of step: got %+v %v, want a base saying why", res, err)
	}
	var c statuspub.Chain
	p.Locked(func(repo *bundles.Repo) error { c = statuspub.ChainOf(repo); return nil })
	if c.Version != 6 || c.Base.Version != 6 || len(c.Deltas) != 0 || c.Newest().Version != 6 {
		t.Errorf("chain: got %+v, want base 6 alone", c)
	}
}

// TestPublishNeedsKey refuses to publish without a signing key.
func TestPublishNeedsKey(t *testing.T) {
	p := publisher(t)
	p.Signer.Key = nil
	if _, err := p.Publish(context.Background(), set(1)); err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Errorf("got %v, want no signing key", err)
	}
}

// TestRefusedPublicationKeepsNothing: when the repository refuses the
// bundle (here: the delegation does not cover status), the change is not
// kept in the store.
func TestRefusedPublicationKeepsNothing(t *testing.T) {
	ctx := context.Background()
	p := publisher(t)
	if _, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(1), Status: status.Red, Reason: 3}); err != nil {
		t.Fatal(err)
	}
	d := *p.Signer.Delegation
	d.Kinds = []trust.Kind{trust.KindPolicy}
	p.Signer.Delegation = &d
	if _, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(2), Status: status.Red, Reason: 3}); err == nil {
		t.Fatal("a publication the delegation does not allow: got no error")
	}
	if _, ok, err := p.Store.StatusOf(ctx, native(2)); ok || err != nil {
		t.Errorf("refused change: got ok %v, %v; want nothing kept", ok, err)
	}
	if e, ok, _ := p.Store.StatusOf(ctx, native(1)); !ok || e.Status != status.Red {
		t.Errorf("earlier change: got %+v %v, want red", e, ok)
	}
}

// TestSetStatusAndRevoke: SetStatus fills the times, returns the entry and
// the one it replaced, and refuses what a terminal would misread before
// anything is recorded; Revoke gives revocations an end.
func TestSetStatusAndRevoke(t *testing.T) {
	ctx := context.Background()
	p := publisher(t)
	res, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(7), Status: status.Yellow, Reason: 1, Note: "trace", Source: "engine", RuleSet: "ZJ/2"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entry == nil || !res.Entry.Effective.Equal(t0) || !res.Entry.SetAt.Equal(t0) || res.Previous != nil || res.Entry.RuleSet != "ZJ/2" {
		t.Errorf("first: got entry %+v previous %+v, want effective and set now, no previous", res.Entry, res.Previous)
	}
	res, err = p.SetStatus(ctx, central.StatusEntry{Holder: native(7), Status: status.Green, Reason: 4, Effective: t0.Add(-time.Minute)})
	if err != nil || res.Previous == nil || res.Previous.Status != status.Yellow || res.Previous.Source != "engine" {
		t.Errorf("second: got previous %+v, %v; want the yellow entry", res.Previous, err)
	}
	for _, bad := range []central.StatusEntry{
		{Holder: native(8), Status: status.Red, Effective: t0.Add(time.Hour)},
		{Holder: native(8), Status: status.Red, Effective: t0, Until: t0},
		{Status: status.Red},
		{Holder: native(8)},
	} {
		if _, err := p.SetStatus(ctx, bad); !errors.Is(err, statuspub.ErrInvalid) {
			t.Errorf("SetStatus(%+v): got %v, want ErrInvalid", bad, err)
		}
	}
	if _, ok, _ := p.Store.StatusOf(ctx, native(8)); ok {
		t.Error("a refused entry was recorded")
	}
	res, err = p.Revoke(ctx, []string{"URN:UVCI:01:DE:1"}, time.Time{})
	if err != nil || len(res.Revoked) != 1 || res.Bundle.Kind != trust.KindStatusDelta {
		t.Fatalf("revoke: got %+v %v, want a delta", res, err)
	}
	err = p.Store.ViewStatus(ctx, func(r central.StatusReader) error {
		for rv, err := range r.Revocations(ctx) {
			if err != nil || !rv.Until.Equal(t0.Add(statuspub.DefaultRevocationLife)) {
				t.Errorf("revocation: got %+v %v, want it to lapse after DefaultRevocationLife", rv, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{nil, {""}, {strings.Repeat("x", 257)}} {
		if _, err := p.Revoke(ctx, bad, time.Time{}); !errors.Is(err, statuspub.ErrInvalid) {
			t.Errorf("Revoke(%q): got %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := p.Revoke(ctx, []string{"URN:UVCI:01:DE:2"}, t0); !errors.Is(err, statuspub.ErrInvalid) {
		t.Errorf("Revoke until now: got %v, want ErrInvalid", err)
	}
}

// TestLockedKeepsOthersOut: a second publisher of the same data directory
// waits for the lock and gives up after its Timeout, saying why.
func TestLockedKeepsOthersOut(t *testing.T) {
	p := publisher(t)
	q := *p
	q.Timeout = 50 * time.Millisecond
	err := p.Locked(func(*bundles.Repo) error {
		_, err := q.PublishBase(context.Background(), "")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "wait and retry") {
		t.Fatalf("got %v, want a refusal that says to wait and retry", err)
	}
}

// TestSetStatusIsAudited: a status set by hand is recorded in the engine's
// audit as the engine's own publications are: who set it, when, why,
// from which status to which and the status version; a refused change
// records nothing.
func TestSetStatusIsAudited(t *testing.T) {
	ctx := context.Background()
	p := publisher(t)
	st := p.Store.(*memstore.Store)
	if _, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(7), Status: status.Red, Reason: byte(status.ReasonConfirmed), Note: "case 17", Source: "ops:olga"}); err != nil {
		t.Fatal(err)
	}
	res, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(7), Status: status.Green, Reason: byte(status.ReasonTestNegative), Source: "ops:li"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetStatus(ctx, central.StatusEntry{Holder: native(8), Status: status.Red, Effective: t0.Add(time.Hour), Source: "ops:li"}); !errors.Is(err, statuspub.ErrInvalid) {
		t.Fatalf("a future entry: got %v, want ErrInvalid", err)
	}
	var changes []central.EngineChange
	err = st.ViewEngine(ctx, func(r central.EngineReader) (err error) { changes, err = r.Changes(ctx, 1, 0); return err })
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("got %d audit records, want the two changes: %+v", len(changes), changes)
	}
	type detail struct {
		From, To, Reason, Note string
		Version                uint64 `json:"status_version"`
	}
	want := []struct {
		by, why string
		d       detail
	}{
		{"ops:olga", "case 17", detail{To: "red", Reason: "confirmed", Note: "case 17", Version: 1}},
		{"ops:li", "status set by hand", detail{From: "red", To: "green", Reason: "test-negative", Version: res.Bundle.Version}},
	}
	for i, c := range changes {
		var d detail
		if err := json.Unmarshal(c.Detail, &d); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if c.Action != central.ChangeStatus || c.Subject != "ZJ:7" || c.By != w.by || c.Why != w.why || !c.Time.Equal(t0) || d != w.d {
			t.Errorf("record %d: got %+v %+v, want %s %q %+v at %s", i, c, d, w.by, w.why, w.d, t0)
		}
	}
}
