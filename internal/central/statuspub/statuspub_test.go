package statuspub_test

import (
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/statusdb"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

var t0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

func publisher(t *testing.T) *statuspub.Publisher {
	t.Helper()
	k := bundlestest.NewKeys(t, t0)
	return &statuspub.Publisher{DataDir: t.TempDir(), Root: k.Root.Public(), Now: func() time.Time { return t0 },
		Signer: statuspub.Signer{Key: k.Signer, Delegation: k.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
}

func set(index uint32) statuspub.Change {
	return func(tx *statusdb.Tx, d *status.Builder) error {
		r := statusdb.Record{Holder: credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: index},
			Status: status.Red, Effective: t0, SetAt: t0}
		if _, _, err := tx.Set(r); err != nil {
			return err
		}
		return statusdb.AddTo(d, r)
	}
}

// TestPublish: the first change publishes a base, the next ones deltas on
// it; a chain at its bound, a record out of step with the repository and
// PublishBase each give a base, saying why.
func TestPublish(t *testing.T) {
	p := publisher(t)
	p.MaxChain = 2
	steps := []struct {
		do   func() (statuspub.Result, error)
		kind trust.Kind
		why  string
	}{
		{func() (statuspub.Result, error) { return p.Publish(set(1)) }, trust.KindStatusBase, "no status base"},
		{func() (statuspub.Result, error) { return p.Publish(set(2)) }, trust.KindStatusDelta, ""},
		{func() (statuspub.Result, error) { return p.Publish(set(3)) }, trust.KindStatusDelta, ""},
		{func() (statuspub.Result, error) { return p.Publish(set(4)) }, trust.KindStatusBase, "2 deltas"},
		{func() (statuspub.Result, error) { return p.PublishBase("the daily base") }, trust.KindStatusBase, "the daily base"},
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
	// The record falls out of step (a restored backup): a base.
	err := p.Locked(func(db *statusdb.DB, repo *bundles.Repo) error {
		return db.Update(func(tx *statusdb.Tx) error { return tx.SetVersion(2) })
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Publish(set(5))
	if err != nil || res.Bundle.Kind != trust.KindStatusBase || !strings.Contains(res.Why, "record was last published at status version 2") {
		t.Errorf("out of step: got %+v %v, want a base saying why", res, err)
	}
	var c statuspub.Chain
	p.Locked(func(_ *statusdb.DB, repo *bundles.Repo) error { c = statuspub.ChainOf(repo); return nil })
	if c.Version != 6 || c.Base.Version != 6 || len(c.Deltas) != 0 || c.Newest().Version != 6 {
		t.Errorf("chain: got %+v, want base 6 alone", c)
	}
}

// TestPublishNeedsKey refuses to publish without a signing key.
func TestPublishNeedsKey(t *testing.T) {
	p := publisher(t)
	p.Signer.Key = nil
	if _, err := p.Publish(set(1)); err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Errorf("got %v, want no signing key", err)
	}
}
