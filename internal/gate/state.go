package gate

import (
	"maps"
	"sync/atomic"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/policy"
)

// BundleState is what the terminal holds of one kind of bundle.
type BundleState struct {
	Version    uint64
	IssuedAt   time.Time
	FreshUntil time.Time
	GraceUntil time.Time
	// ValueSets is how many EU DCC value sets a trust bundle carries
	// (zero: codes are not checked against them).
	ValueSets int
	// EURules are the EU business rules a policy bundle carries (Len 0:
	// EU DCCs are not held to any country's rules).
	EURules policy.EURulesSummary
}

// Freshness returns the bundle's freshness at now.
func (b BundleState) Freshness(now time.Time) trust.Freshness {
	switch {
	case b.Version == 0:
		return trust.FreshnessBlocked
	case now.Before(b.FreshUntil):
		return trust.FreshnessFresh
	case now.Before(b.GraceUntil):
		return trust.FreshnessGrace
	default:
		return trust.FreshnessStale
	}
}

// BundleStateOf returns the state of a verified bundle.
func BundleStateOf(info *trust.BundleInfo) BundleState {
	return BundleState{Version: info.Version, IssuedAt: info.IssuedAt, FreshUntil: info.FreshUntil, GraceUntil: info.GraceUntil, ValueSets: info.Counts.ValueSets}
}

// State is what the pipeline decides with and what sync replaces: build a
// new State for every change and install it with Gate.SetState. A State is
// never changed once installed.
type State struct {
	// Verifier verifies payloads; nil when the terminal holds no trust
	// (not enrolled).
	Verifier Verifier
	// Status is the status list; nil when none is installed.
	Status StatusLookup
	// Policy decides. Required.
	Policy Policy
	// Enrolled is set once the terminal pins an operator root and holds a
	// trust bundle.
	Enrolled bool
	// Bundles holds the installed bundles by kind; a missing kind is
	// blocked.
	Bundles map[trust.Kind]BundleState
	// Site holds the site's settings; nil means DefaultSiteSettings.
	Site *SiteSettings
	// Tolerance is the clock tolerance for verification; zero means the
	// formats' defaults.
	Tolerance time.Duration

	// vers is versions(), made once by SetState: the journal passages
	// decided under this State share it and never change it.
	vers map[string]uint64
	// fresh caches freshness, set by SetState (nil: not cached).
	fresh *freshCache
}

// freshCache holds the last freshness map with the span of times over
// which it holds: no bundle's FreshUntil or GraceUntil lies inside it.
type freshCache struct {
	last atomic.Pointer[freshSpan]
}

type freshSpan struct {
	m      map[trust.Kind]trust.Freshness
	lo, hi time.Time // the map holds for lo ≤ now < hi; zero: unbounded
}

func (f *freshSpan) holds(now time.Time) bool {
	return (f.lo.IsZero() || !now.Before(f.lo)) && (f.hi.IsZero() || now.Before(f.hi))
}

// freshness returns every kind's freshness at now, the status base's
// judged on the status list as a whole (StatusList). Passages share the
// map while no bundle's freshness changes (a map per passage was two
// allocations at the gate): do not change it.
func (s *State) freshness(now time.Time) map[trust.Kind]trust.Freshness {
	if s.fresh != nil {
		if f := s.fresh.last.Load(); f != nil && f.holds(now) {
			return f.m
		}
	}
	m := make(map[trust.Kind]trust.Freshness, len(trust.Kinds()))
	f := &freshSpan{m: m}
	// Freshness changes only where now passes a FreshUntil or a
	// GraceUntil (BundleState.Freshness compares now.Before with each):
	// the map holds from the latest of them at or before now to the
	// first after it.
	see := func(b BundleState) trust.Freshness {
		if b.Version != 0 {
			for _, t := range []time.Time{b.FreshUntil, b.GraceUntil} {
				if now.Before(t) {
					if f.hi.IsZero() || t.Before(f.hi) {
						f.hi = t
					}
				} else if f.lo.IsZero() || t.After(f.lo) {
					f.lo = t
				}
			}
		}
		return b.Freshness(now)
	}
	for _, k := range trust.Kinds() {
		m[k] = see(s.Bundles[k])
	}
	m[trust.KindStatusBase] = see(s.StatusList())
	if s.fresh != nil {
		s.fresh.last.Store(f)
	}
	return m
}

// StatusList returns the state of the status list as a whole: the base
// with the delta chain applied to it. Its freshness is that of the newest
// signed statement of the list: a delta names the version it applies to,
// so a delta signed after the base says, with the base and the deltas
// before it, what the whole list is at its issue time. Fresh deltas on an
// older base therefore keep the list fresh; the base's own freshness
// alone would call the list stale days after the centre last spoke.
// Without a base there is no list (blocked), whatever the deltas.
func (s *State) StatusList() BundleState {
	base := s.Bundles[trust.KindStatusBase]
	delta, ok := s.Bundles[trust.KindStatusDelta]
	if base.Version == 0 || !ok || delta.Version <= base.Version || !delta.IssuedAt.After(base.IssuedAt) {
		return base
	}
	return BundleState{Version: delta.Version, IssuedAt: delta.IssuedAt,
		FreshUntil: later(base.FreshUntil, delta.FreshUntil), GraceUntil: later(base.GraceUntil, delta.GraceUntil)}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// versions returns the installed version of every kind, by the kind's
// name as the journal records it; kinds not installed are left out.
// Passages share the map: do not change it.
func (s *State) versions() map[string]uint64 {
	if s.vers != nil {
		return s.vers
	}
	return s.makeVersions()
}

func (s *State) makeVersions() map[string]uint64 {
	m := make(map[string]uint64, len(s.Bundles))
	for k, b := range s.Bundles {
		if b.Version > 0 {
			m[string(k)] = b.Version
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// clone returns a shallow copy with its own Bundles map.
func (s *State) clone() *State {
	c := *s
	c.Bundles = maps.Clone(s.Bundles)
	return &c
}
