package engine

import (
	"context"
	"fmt"
	"slices"

	"sentinel/internal/central"
)

// Snapshot is the engine's state read from a store in one transaction:
// the areas, every holder with facts, and the rule sets in force.
type Snapshot struct {
	Areas   *Areas
	Holders []Holder // by holder id (bytewise), facts in the order added
	// Deployed are the rule sets in force, the latest deployment of each
	// region, compiled; Records are their store records by region.
	Deployed *Set
	Records  map[string]central.RuleSet
}

// Load reads a Snapshot from r. A deployed rule set that no longer
// compiles (a newer build refusing an older source) is an error naming
// it: nothing should be judged by half the rules.
func Load(ctx context.Context, r central.EngineReader) (*Snapshot, error) {
	s, err := loadWorld(ctx, r)
	if err != nil {
		return nil, err
	}
	facts, err := r.AllFacts(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range facts {
		if n := len(s.Holders); n == 0 || s.Holders[n-1].ID != f.Holder {
			s.Holders = append(s.Holders, Holder{ID: f.Holder})
		}
		h := &s.Holders[len(s.Holders)-1]
		h.Facts = append(h.Facts, f)
	}
	return s, nil
}

// LoadHolders reads a Snapshot like Load's, but with the facts of the
// holders ids only (each once, in id order, with or without facts): what
// judging a few holders after an event needs. Its World knows only their
// confirmed cases: Set.UsesCases says whether the rules would see the
// difference.
func LoadHolders(ctx context.Context, r central.EngineReader, ids []string) (*Snapshot, error) {
	s, err := loadWorld(ctx, r)
	if err != nil {
		return nil, err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		facts, err := r.Facts(ctx, id)
		if err != nil {
			return nil, err
		}
		s.Holders = append(s.Holders, Holder{ID: id, Facts: facts})
	}
	return s, nil
}

// loadWorld reads the areas and the rule sets of a Snapshot.
func loadWorld(ctx context.Context, r central.EngineReader) (*Snapshot, error) {
	areas, err := r.Areas(ctx)
	if err != nil {
		return nil, err
	}
	sites, err := r.Sites(ctx)
	if err != nil {
		return nil, err
	}
	grades, err := r.Grades(ctx)
	if err != nil {
		return nil, err
	}
	tree, err := NewAreas(areas, sites, grades)
	if err != nil {
		return nil, fmt.Errorf("the stored areas: %w", err)
	}
	s := &Snapshot{Areas: tree, Records: map[string]central.RuleSet{}}
	recs, err := r.RuleSets(ctx)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs { // by region, then number: the last wins
		s.Records[rec.Region] = rec
	}
	var sets []*RuleSet
	for region, rec := range s.Records {
		rs, err := Compile(fmt.Sprintf("%s#%d", region, rec.Number), rec.Source)
		if err != nil {
			return nil, fmt.Errorf("the deployed rule set of %s (number %d, %s) does not compile: %w", region, rec.Number, rec.Label, err)
		}
		sets = append(sets, rs)
	}
	if s.Deployed, err = NewSet(sets...); err != nil {
		return nil, err
	}
	return s, nil
}

// World returns the world of the snapshot: its areas, and the confirmed
// cases among its holders.
func (s *Snapshot) World() *World {
	return &World{Areas: s.Areas, Cases: NewCases(CasesOf(s.Holders), s.Areas)}
}

// Holder returns the holder's facts (none when the store has none).
func (s *Snapshot) Holder(id string) Holder {
	if i, ok := s.find(id); ok {
		return s.Holders[i]
	}
	return Holder{ID: id}
}

// With returns the deployed rule sets with sets in place of those of
// their regions (a dry run of sets); two of sets for one region are
// refused.
func (s *Snapshot) With(sets ...*RuleSet) (*Set, error) {
	byRegion := map[string]*RuleSet{}
	for _, r := range s.Deployed.Regions() {
		byRegion[r], _ = s.Deployed.Get(r)
	}
	given := map[string]bool{}
	for _, rs := range sets {
		if given[rs.Region()] {
			return nil, fmt.Errorf("two rule sets given for region %s: test one at a time", rs.Region())
		}
		given[rs.Region()] = true
		byRegion[rs.Region()] = rs
	}
	all := make([]*RuleSet, 0, len(byRegion))
	for _, rs := range byRegion {
		all = append(all, rs)
	}
	return NewSet(all...)
}

// RuleSetName names a deployed rule set for people: "ZJ #3 (2020-02-11.1)".
func RuleSetName(rec central.RuleSet) string {
	return fmt.Sprintf("%s #%d (%s)", rec.Region, rec.Number, rec.Label)
}
