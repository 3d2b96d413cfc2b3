package bundles_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/policy"
	"sentinel/internal/status"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, dir string, k *bundlestest.Keys) *bundles.Repo {
	t.Helper()
	r, err := bundles.Open(bundles.Options{Dir: dir, Root: k.Root.Public(), Now: func() time.Time { return now }, MaxChain: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func publish(t *testing.T, r *bundles.Repo, k *bundlestest.Keys, kind trust.Kind, payload []byte) bundles.Entry {
	t.Helper()
	e, err := r.Publish(kind, payload, k.Signer, k.Delegation, 24*time.Hour, 72*time.Hour)
	if err != nil {
		t.Fatalf("publish %s: %v", kind, err)
	}
	return e
}

func TestPublishVersionsAndReopen(t *testing.T) {
	k := bundlestest.NewKeys(t, now)
	dir := t.TempDir()
	r := open(t, dir, k)
	for _, tc := range []struct {
		kind    trust.Kind
		payload []byte
	}{
		{trust.KindPolicy, bundlestest.Policy(t, "p1")},
		{trust.KindPolicy, bundlestest.Policy(t, "p2")},
		{trust.KindConfig, bundlestest.Config(t)},
		{trust.KindTrust, bundlestest.Trust(t)},
	} {
		publish(t, r, k, tc.kind, tc.payload)
	}
	r2 := open(t, dir, k) // a restart reads the same state
	for _, tc := range []struct {
		kind trust.Kind
		want uint64
	}{{trust.KindPolicy, 2}, {trust.KindConfig, 1}, {trust.KindTrust, 1}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			p, err := r2.Latest(tc.kind)
			if err != nil || p == nil {
				t.Fatalf("Latest: %v, %v", p, err)
			}
			if p.Version != tc.want {
				t.Errorf("got version %d, want %d", p.Version, tc.want)
			}
			b, _, err := trust.OpenBundle(p.Data, k.Root.Public(), now, trust.State{})
			if err != nil {
				t.Fatalf("OpenBundle: %v", err)
			}
			if b.Digest != p.Digest || b.Version != tc.want {
				t.Errorf("got digest %x version %d, want %x %d", b.Digest, b.Version, p.Digest, tc.want)
			}
		})
	}
	if got := len(r2.List()); got != 3 {
		t.Errorf("List: got %d entries, want 3", got)
	}
	if p, _ := r2.Latest(trust.KindStatusBase); p != nil {
		t.Errorf("Latest(status-base) = v%d with none published, want nil", p.Version)
	}
}

func TestPublishRefuses(t *testing.T) {
	k := bundlestest.NewKeys(t, now)
	dir := t.TempDir()
	r := open(t, dir, k)
	other := bundlestest.NewKeys(t, now)
	for _, tc := range []struct {
		name    string
		kind    trust.Kind
		payload []byte
		keys    *bundlestest.Keys
		want    error
		words   string
	}{
		{"policy that does not compile", trust.KindPolicy, bundlestest.BadPolicy(t), k, bundles.ErrPayload, "temprature"},
		{"config that does not parse", trust.KindConfig, []byte("not cbor"), k, bundles.ErrPayload, "site settings"},
		{"trust that does not parse", trust.KindTrust, []byte{0xa1, 0x01, 0x02}, k, bundles.ErrPayload, "trust bundle does not load"},
		{"delta before any base", trust.KindStatusDelta, bundlestest.StatusDelta(t, now, 1, status.Green), k, bundles.ErrNoBase, "publish a base"},
		{"signer of another deployment", trust.KindConfig, bundlestest.Config(t), other, trust.ErrUntrustedRoot, "terminals would refuse"},
		{"unknown kind", "firmware", []byte{1}, k, bundles.ErrPayload, "unknown bundle kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Publish(tc.kind, tc.payload, tc.keys.Signer, tc.keys.Delegation, time.Hour, 2*time.Hour)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.words)
			}
		})
	}
	var pe *policy.Error
	_, err := r.Publish(trust.KindPolicy, bundlestest.BadPolicy(t), k.Signer, k.Delegation, time.Hour, time.Hour)
	if !errors.As(err, &pe) || pe.Line == 0 {
		t.Errorf("got %v, want a *policy.Error with its line", err)
	}
	if got := r.List(); len(got) != 0 {
		t.Errorf("got %d bundles after refusals, want none", len(got))
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !e.IsDir() {
			t.Errorf("file %s written after refusals", e.Name())
		}
	}
}

func TestStatusChain(t *testing.T) {
	k := bundlestest.NewKeys(t, now)
	dir := t.TempDir()
	r := open(t, dir, k)
	if got, _ := r.StatusSince(0); got != nil {
		t.Fatalf("StatusSince(0) with nothing published: got %d bundles, want none", len(got))
	}
	base := publish(t, r, k, trust.KindStatusBase, bundlestest.StatusBase(t, now, 1, 2))
	d1 := publish(t, r, k, trust.KindStatusDelta, bundlestest.StatusDelta(t, now, 1, status.Green))
	d2 := publish(t, r, k, trust.KindStatusDelta, bundlestest.StatusDelta(t, now, 3, status.Yellow))
	if base.Version != 1 || d1.Version != 2 || d1.Base != 1 || d2.Version != 3 || d2.Base != 2 {
		t.Fatalf("got base v%d, deltas v%d/%d v%d/%d; want 1, 2/1, 3/2", base.Version, d1.Version, d1.Base, d2.Version, d2.Base)
	}
	r = open(t, dir, k)
	versions := func(since uint64) []uint64 {
		ps, err := r.StatusSince(since)
		if err != nil {
			t.Fatal(err)
		}
		var v []uint64
		for _, p := range ps {
			v = append(v, p.Version)
		}
		return v
	}
	for _, tc := range []struct {
		since uint64
		want  string
	}{{0, "[1 2 3]"}, {1, "[2 3]"}, {2, "[3]"}, {3, "[]"}, {9, "[1 2 3]"}} {
		if got := fmt.Sprint(versions(tc.since)); got != tc.want {
			t.Errorf("StatusSince(%d): got %s, want %s", tc.since, got, tc.want)
		}
	}
	// The chain is capped: a fourth delta needs a new base.
	publish(t, r, k, trust.KindStatusDelta, bundlestest.StatusDelta(t, now, 4, status.Red))
	if _, err := r.Publish(trust.KindStatusDelta, bundlestest.StatusDelta(t, now, 5, status.Red), k.Signer, k.Delegation, time.Hour, time.Hour); err == nil || !strings.Contains(err.Error(), "new status base") {
		t.Fatalf("fourth delta over MaxChain 3: got %v, want a refusal asking for a base", err)
	}
	nb := publish(t, r, k, trust.KindStatusBase, bundlestest.StatusBase(t, now, 1))
	if nb.Version != 5 {
		t.Errorf("new base: got v%d, want 5", nb.Version)
	}
	if got := fmt.Sprint(versions(2)); got != "[5]" {
		t.Errorf("StatusSince(2) after a new base: got %s, want [5]", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "status-delta", "*.bundle")); len(left) != 0 {
		t.Errorf("old deltas left on disk after a new base: %v", left)
	}
}

func TestPublishRefusesRevokedSigner(t *testing.T) {
	k := bundlestest.NewKeys(t, now)
	r := open(t, t.TempDir(), k)
	other, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	od, err := trust.Delegate(k.Root, other.Public(), trust.Kinds(), now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := trust.ParseTrustContent(bundlestest.Trust(t))
	if err != nil {
		t.Fatal(err)
	}
	c.RevokedDelegations = []trust.KeyID{od.KID}
	payload, err := trust.MarshalTrustContent(c)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, r, k, trust.KindTrust, payload)
	_, err = r.Publish(trust.KindConfig, bundlestest.Config(t), other, od, time.Hour, time.Hour)
	if !errors.Is(err, trust.ErrDelegationRevoked) {
		t.Fatalf("got %v, want ErrDelegationRevoked", err)
	}
}
