package engine

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Set is the rule sets in force, one per region. A holder is judged by
// the most specific rule set on the path of their home area: a compound's
// over its district's, over its city's, over its province's.
type Set struct {
	byRegion map[string]*RuleSet
}

// ErrNoRuleSet is wrapped for a holder no rule set judges: their home is
// unknown, or no region on its path has a rule set.
var ErrNoRuleSet = errors.New("no rule set judges this holder")

// NewSet collects rule sets; two for one region are refused.
func NewSet(sets ...*RuleSet) (*Set, error) {
	s := &Set{byRegion: map[string]*RuleSet{}}
	for _, rs := range sets {
		if old, dup := s.byRegion[rs.Region()]; dup {
			return nil, fmt.Errorf("two rule sets for region %s: versions %s and %s", rs.Region(), old.Version(), rs.Version())
		}
		s.byRegion[rs.Region()] = rs
	}
	return s, nil
}

// For returns the rule set that judges a holder living in home.
func (s *Set) For(home string, areas *Areas) (*RuleSet, bool) {
	path := areas.Path(home)
	if len(path) == 0 && home != "" {
		path = []string{home}
	}
	for _, id := range slices.Backward(path) {
		if rs, ok := s.byRegion[id]; ok {
			return rs, true
		}
	}
	return nil, false
}

// Regions returns the regions that have a rule set, sorted.
func (s *Set) Regions() []string {
	out := make([]string, 0, len(s.byRegion))
	for r := range s.byRegion {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Get returns the rule set of region.
func (s *Set) Get(region string) (*RuleSet, bool) {
	rs, ok := s.byRegion[region]
	return rs, ok
}

// Evaluate judges h at now by the most specific rule set of their home.
func (s *Set) Evaluate(h Holder, w *World, now time.Time) (Result, error) {
	facts, _ := visible(h.Facts, w.areas(), now.UTC())
	home := homeOf(h.ID, facts, w.areas(), now.UTC())
	rs, ok := s.For(home, w.areas())
	if !ok {
		if home == "" {
			return Result{}, fmt.Errorf("judge %s: %w: no home area is known (add a home fact)", h.ID, ErrNoRuleSet)
		}
		return Result{}, fmt.Errorf("judge %s: %w: none for %s or the areas it lies in", h.ID, ErrNoRuleSet, home)
	}
	return rs.Evaluate(h, w, now)
}

// UsesCases reports whether a rule set of s reads every holder's
// confirmed cases (RuleSet.UsesCases).
func (s *Set) UsesCases() bool {
	for _, rs := range s.byRegion {
		if rs.UsesCases() {
			return true
		}
	}
	return false
}
