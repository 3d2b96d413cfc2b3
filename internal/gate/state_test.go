package gate

import (
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"sentinel/crypto/trust"
)

// TestFreshnessShared: the freshness map passages share is, at every
// time, the map made afresh, whatever order the clock visits the times
// in (it may step back), across every kind's FreshUntil and GraceUntil
// and the status list's, which a delta extends; and a passage that finds
// it allocates nothing.
func TestFreshnessShared(t *testing.T) {
	bundles := map[trust.Kind]BundleState{}
	for i, k := range trust.Kinds() {
		at := t0.Add(time.Duration(i) * time.Hour)
		bundles[k] = BundleState{Version: uint64(1 + i), IssuedAt: at, FreshUntil: at.Add(time.Duration(24+i) * time.Hour), GraceUntil: at.Add(time.Duration(72-i) * time.Hour)}
	}
	// A later delta keeps the status list fresh past the base's times.
	base := bundles[trust.KindStatusBase]
	bundles[trust.KindStatusDelta] = BundleState{Version: base.Version + 10, IssuedAt: base.IssuedAt.Add(30 * time.Hour),
		FreshUntil: base.IssuedAt.Add(54 * time.Hour), GraceUntil: base.IssuedAt.Add(100 * time.Hour)}
	delete(bundles, trust.KindConfig) // one kind not installed: blocked
	shared := &State{Bundles: bundles, fresh: new(freshCache)}
	fresh := &State{Bundles: bundles}
	r := rand.New(rand.NewPCG(14, 14))
	seen := map[trust.Freshness]bool{}
	for range 5000 {
		now := t0.Add(time.Duration(r.Int64N(int64(120*time.Hour/time.Second))-3600) * time.Second)
		if r.IntN(4) == 0 {
			// Exactly at a boundary, and a moment before it.
			b := bundles[trust.Kinds()[r.IntN(len(trust.Kinds()))]]
			now = b.FreshUntil
			if r.IntN(2) == 0 {
				now = b.GraceUntil
			}
			if r.IntN(2) == 0 {
				now = now.Add(-time.Nanosecond)
			}
		}
		got, want := shared.freshness(now), fresh.freshness(now)
		if !maps.Equal(got, want) {
			t.Fatalf("at %v: got %v, want %v", now, got, want)
		}
		for _, f := range want {
			seen[f] = true
		}
	}
	if len(seen) != 4 {
		t.Fatalf("saw only %v: the test misses a freshness", seen)
	}
	now := t0.Add(2 * time.Hour)
	shared.freshness(now)
	if n := testing.AllocsPerRun(100, func() { shared.freshness(now) }); n != 0 {
		t.Errorf("freshness at an unchanged time: %v allocations, want 0", n)
	}
}

// TestFreshnessNewState: a State installed in place of another starts
// with no shared freshness, even one copied from the State in force
// (cache included) with a bundle changed: at the very time the old map
// was made, passages see the new bundle's freshness.
func TestFreshnessNewState(t *testing.T) {
	var g Gate
	g.SetState(&State{Bundles: freshBundles()})
	now := t0.Add(time.Hour)
	if f := g.State().freshness(now)[trust.KindTrust]; f != trust.FreshnessFresh {
		t.Fatalf("trust %v, want fresh", f)
	}
	next := *g.State()
	next.Bundles = maps.Clone(next.Bundles)
	next.Bundles[trust.KindTrust] = BundleState{Version: 2, IssuedAt: t0.Add(-72 * time.Hour), FreshUntil: t0.Add(-48 * time.Hour), GraceUntil: t0}
	g.SetState(&next)
	if f := g.State().freshness(now)[trust.KindTrust]; f != trust.FreshnessStale {
		t.Fatalf("after a stale trust bundle was installed: trust %v, want stale", f)
	}
}
