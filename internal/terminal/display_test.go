package terminal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/gate"
	"sentinel/internal/policy"
	"sentinel/internal/ui"
)

func TestOverrideError(t *testing.T) {
	other := errors.New("disk full")
	tests := []struct {
		in, want error
	}{
		{gate.ErrBadPIN, ui.ErrWrongPIN},
		{gate.ErrNoGuards, ui.ErrNoGuards},
		{gate.ErrOverrideLocked, ui.ErrLocked},
		{fmt.Errorf("%w: x", gate.ErrNothingToOverride), ui.ErrNothingToOverride},
		{gate.ErrOverrideReason, ui.ErrOverrideReason},
		{fmt.Errorf("%w: \"in-9\"", gate.ErrUnknownLane), ui.ErrUnknownLane},
		{gate.ErrNotOverridable, ui.ErrNotOverridable},
		{gate.ErrEmergencyOnly, ui.ErrEmergencyOnly},
		{&gate.LockedError{For: 5 * time.Minute, Wait: 4 * time.Minute}, ui.ErrLocked},
		{other, other},
		{nil, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			got := overrideError(tt.in)
			if !errors.Is(got, tt.want) || (tt.in != nil && !errors.Is(got, tt.in)) {
				t.Errorf("got %v, want it to match %v and %v", got, tt.want, tt.in)
			}
			// The page says how long a lockout lasts.
			var retry interface{ RetryAfter() time.Duration }
			if le, ok := tt.in.(*gate.LockedError); ok && (!errors.As(got, &retry) || retry.RetryAfter() != le.Wait) {
				t.Errorf("got %v, want it to carry the wait %s", got, le.Wait)
			}
		})
	}
}

// TestDisplayBundles: the status list is shown as one item judged on base
// and chain (issue 8: a healthy terminal showed "Status update NONE" in
// red, a base without deltas).
func TestDisplayBundles(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	fresh := func(v uint64, issued time.Time) gate.BundleState {
		return gate.BundleState{Version: v, IssuedAt: issued, FreshUntil: issued.Add(24 * time.Hour), GraceUntil: issued.Add(72 * time.Hour)}
	}
	all := func(m map[trust.Kind]gate.BundleState) map[trust.Kind]trust.Freshness {
		got := map[trust.Kind]trust.Freshness{}
		for _, b := range displayBundles(&gate.State{Bundles: m}, now) {
			if _, dup := got[b.Kind]; dup {
				t.Errorf("kind %s shown twice", b.Kind)
			}
			got[b.Kind] = b.Freshness
		}
		return got
	}
	base := map[trust.Kind]gate.BundleState{
		trust.KindTrust: fresh(1, now.Add(-time.Hour)), trust.KindPolicy: fresh(1, now.Add(-time.Hour)),
		trust.KindConfig: fresh(1, now.Add(-time.Hour)), trust.KindStatusBase: fresh(4, now.Add(-time.Hour)),
	}
	got := all(base)
	if len(got) != 4 || got[trust.KindStatusBase] != trust.FreshnessFresh {
		t.Errorf("a fresh base, no delta: got %v, want four fresh items, no status update item", got)
	}
	for k, f := range got {
		if f != trust.FreshnessFresh {
			t.Errorf("a fresh base, no delta: %s is %s", k, f)
		}
	}
	// A base past its grace with a fresh delta: the list is fresh.
	base[trust.KindStatusBase] = fresh(4, now.Add(-100*time.Hour))
	base[trust.KindStatusDelta] = fresh(9, now.Add(-time.Minute))
	if got := all(base); got[trust.KindStatusBase] != trust.FreshnessFresh {
		t.Errorf("a fresh delta on an old base: status list %s, want fresh", got[trust.KindStatusBase])
	}
	// No base: no list, whatever the deltas.
	delete(base, trust.KindStatusBase)
	if got := all(base); got[trust.KindStatusBase] != trust.FreshnessBlocked {
		t.Errorf("no base: status list %s, want blocked", got[trust.KindStatusBase])
	}
}

// TestDisplayNoValueSets: a trust bundle without the EU value sets says so
// on the bundle line; one with them, or no trust bundle at all, does not.
func TestDisplayNoValueSets(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		trust gate.BundleState
		want  bool
	}{
		{gate.BundleState{Version: 3, FreshUntil: now.Add(time.Hour)}, true},
		{gate.BundleState{Version: 3, FreshUntil: now.Add(time.Hour), ValueSets: 8}, false},
		{gate.BundleState{}, false}, // no keys at all: the banner says more
	} {
		for _, b := range displayBundles(&gate.State{Bundles: map[trust.Kind]gate.BundleState{trust.KindTrust: c.trust}}, now) {
			if b.NoValueSets != (c.want && b.Kind == trust.KindTrust) {
				t.Errorf("trust %+v: %s shows no value sets %v", c.trust, b.Kind, b.NoValueSets)
			}
		}
	}
}

// euRulesFixture is a policy bundle's EU rules for XX: GR-XX-0001 as in
// certlogic's testdata (valid from 2021-07-01 to 2030-06-01) and a copy
// published ahead of its date (valid from 2027).
func euRulesFixture(t *testing.T) policy.EURulesSummary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules", "XX", "GR-XX-0001", "rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	later := strings.Replace(strings.Replace(string(b), `"2021-07-01T00:00:00Z"`, `"2027-01-01T00:00:00Z"`, 1),
		`"Version": "1.0.0"`, `"Version": "1.0.1"`, 1)
	pb := &policy.Bundle{EUCountry: "XX", EURules: []json.RawMessage{b, json.RawMessage(later)}}
	s, err := pb.EURulesSummary()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDisplayEURules: the bundle line shows the country whose EU business
// rules the policy enforces, how many it carries and how many are valid
// now; a policy without rules shows none.
func TestDisplayEURules(t *testing.T) {
	rules := euRulesFixture(t)
	for _, c := range []struct {
		now          time.Time
		rules        policy.EURulesSummary
		total, valid int
	}{
		{time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), rules, 2, 1},
		{time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC), rules, 2, 2},
		{time.Date(2031, 1, 1, 9, 0, 0, 0, time.UTC), rules, 2, 0},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), policy.EURulesSummary{}, 0, 0},
	} {
		st := &gate.State{Bundles: map[trust.Kind]gate.BundleState{
			trust.KindPolicy: {Version: 5, FreshUntil: c.now.Add(time.Hour), EURules: c.rules}}}
		for _, b := range displayBundles(st, c.now) {
			if b.Kind != trust.KindPolicy {
				if b.EURules != 0 || b.EUCountry != "" {
					t.Errorf("%s shows EU rules: %+v", b.Kind, b)
				}
				continue
			}
			wantCountry := ""
			if c.total > 0 {
				wantCountry = "XX"
			}
			if b.EUCountry != wantCountry || b.EURules != c.total || b.EURulesValid != c.valid {
				t.Errorf("at %s: policy line %+v, want %s %d rules, %d valid", c.now, b, wantCountry, c.total, c.valid)
			}
		}
	}
}
