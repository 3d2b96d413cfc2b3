package gate

import (
	"maps"
	"time"

	"sentinel/crypto/trust"
)

// BundleState is what the terminal holds of one kind of bundle.
type BundleState struct {
	Version    uint64
	IssuedAt   time.Time
	FreshUntil time.Time
	GraceUntil time.Time
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
	return BundleState{Version: info.Version, IssuedAt: info.IssuedAt, FreshUntil: info.FreshUntil, GraceUntil: info.GraceUntil}
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
}

// freshness returns every kind's freshness at now.
func (s *State) freshness(now time.Time) map[trust.Kind]trust.Freshness {
	m := make(map[trust.Kind]trust.Freshness, len(trust.Kinds()))
	for _, k := range trust.Kinds() {
		m[k] = s.Bundles[k].Freshness(now)
	}
	return m
}

// versions returns the installed version of every kind.
func (s *State) versions() map[trust.Kind]uint64 {
	m := make(map[trust.Kind]uint64, len(s.Bundles))
	for k, b := range s.Bundles {
		m[k] = b.Version
	}
	return m
}

// clone returns a shallow copy with its own Bundles map.
func (s *State) clone() *State {
	c := *s
	c.Bundles = maps.Clone(s.Bundles)
	return &c
}
