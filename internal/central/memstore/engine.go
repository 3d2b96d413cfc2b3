package memstore

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"sentinel/internal/central"
)

var _ central.EngineStore = (*Store)(nil)

// engineData is the engine's part of the store (central.EngineStore).
type engineData struct {
	mu       sync.Mutex
	facts    map[uint64]central.Fact
	areas    map[string]central.Area
	sites    map[string]central.Site
	grades   []central.Grade
	ruleSets []central.RuleSet
	changes  []central.EngineChange
	factSeq  uint64
	// changeSeq is the last change's Seq: Expire removes old changes,
	// so their number is not the next one's.
	changeSeq uint64
}

func (d *engineData) clone() *engineData {
	return &engineData{facts: maps.Clone(d.facts), areas: maps.Clone(d.areas), sites: maps.Clone(d.sites),
		grades: slices.Clone(d.grades), ruleSets: slices.Clone(d.ruleSets), changes: slices.Clone(d.changes), factSeq: d.factSeq, changeSeq: d.changeSeq}
}

// UpdateEngine implements central.EngineStore: fn works on a copy that
// replaces the data when fn succeeds.
func (s *Store) UpdateEngine(ctx context.Context, fn func(central.EngineTx) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := &s.engine
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.clone()
	if err := fn(central.EngineTxOf(engineTx{c})); err != nil {
		return err
	}
	d.facts, d.areas, d.sites, d.grades, d.ruleSets, d.changes, d.factSeq, d.changeSeq = c.facts, c.areas, c.sites, c.grades, c.ruleSets, c.changes, c.factSeq, c.changeSeq
	return nil
}

// ViewEngine implements central.EngineStore.
func (s *Store) ViewEngine(ctx context.Context, fn func(central.EngineReader) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := &s.engine
	d.mu.Lock()
	c := d.clone()
	d.mu.Unlock()
	return fn(engineTx{c})
}

// engineTx is central.EnginePrimitives on a copy of the data.
type engineTx struct{ d *engineData }

var _ central.EnginePrimitives = engineTx{}

func (t engineTx) Facts(ctx context.Context, holder string) ([]central.Fact, error) {
	var out []central.Fact
	for _, f := range t.d.facts {
		if f.Holder == holder {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b central.Fact) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

func (t engineTx) AllFacts(ctx context.Context) ([]central.Fact, error) {
	out := slices.Collect(maps.Values(t.d.facts))
	slices.SortFunc(out, func(a, b central.Fact) int {
		return cmp.Or(strings.Compare(a.Holder, b.Holder), cmp.Compare(a.Seq, b.Seq))
	})
	return out, nil
}

func (t engineTx) Areas(ctx context.Context) ([]central.Area, error) {
	out := slices.Collect(maps.Values(t.d.areas))
	slices.SortFunc(out, func(a, b central.Area) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (t engineTx) Sites(ctx context.Context) ([]central.Site, error) {
	out := slices.Collect(maps.Values(t.d.sites))
	slices.SortFunc(out, func(a, b central.Site) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (t engineTx) Grades(ctx context.Context) ([]central.Grade, error) {
	out := slices.Clone(t.d.grades)
	slices.SortStableFunc(out, func(a, b central.Grade) int {
		return cmp.Or(strings.Compare(a.Area, b.Area), a.Effective.Compare(b.Effective))
	})
	return out, nil
}

func (t engineTx) RuleSets(ctx context.Context) ([]central.RuleSet, error) {
	out := slices.Clone(t.d.ruleSets)
	slices.SortFunc(out, func(a, b central.RuleSet) int {
		return cmp.Or(strings.Compare(a.Region, b.Region), cmp.Compare(a.Number, b.Number))
	})
	return out, nil
}

func (t engineTx) Changes(ctx context.Context, from uint64, limit int) ([]central.EngineChange, error) {
	var out []central.EngineChange
	for _, c := range t.d.changes {
		if c.Seq >= from && (limit <= 0 || len(out) < limit) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (t engineTx) Area(ctx context.Context, id string) (central.Area, bool, error) {
	a, ok := t.d.areas[id]
	return a, ok, nil
}

func (t engineTx) Site(ctx context.Context, id string) (central.Site, bool, error) {
	s, ok := t.d.sites[id]
	return s, ok, nil
}

func (t engineTx) Fact(ctx context.Context, seq uint64) (central.Fact, bool, error) {
	f, ok := t.d.facts[seq]
	return f, ok, nil
}

func (t engineTx) InsertFact(ctx context.Context, f central.Fact) (uint64, error) {
	if t.d.facts == nil {
		t.d.facts = map[uint64]central.Fact{}
	}
	t.d.factSeq++
	f.Seq = t.d.factSeq
	t.d.facts[f.Seq] = f
	return f.Seq, nil
}

func (t engineTx) DeleteFact(ctx context.Context, seq uint64) error {
	delete(t.d.facts, seq)
	return nil
}

func (t engineTx) PutArea(ctx context.Context, a central.Area) error {
	if t.d.areas == nil {
		t.d.areas = map[string]central.Area{}
	}
	t.d.areas[a.ID] = a
	return nil
}

func (t engineTx) PutSite(ctx context.Context, s central.Site) error {
	if t.d.sites == nil {
		t.d.sites = map[string]central.Site{}
	}
	t.d.sites[s.ID] = s
	return nil
}

func (t engineTx) InsertGrade(ctx context.Context, g central.Grade) error {
	t.d.grades = append(t.d.grades, g)
	return nil
}

func (t engineTx) LastRuleSet(ctx context.Context, region string) (uint64, error) {
	var n uint64
	for _, r := range t.d.ruleSets {
		if r.Region == region {
			n = max(n, r.Number)
		}
	}
	return n, nil
}

func (t engineTx) InsertRuleSet(ctx context.Context, r central.RuleSet) error {
	r.Source, r.Signed = slices.Clone(r.Source), slices.Clone(r.Signed)
	t.d.ruleSets = append(t.d.ruleSets, r)
	return nil
}

func (t engineTx) AppendChange(ctx context.Context, c central.EngineChange) error {
	t.d.changeSeq++
	c.Seq = t.d.changeSeq
	t.d.changes = append(t.d.changes, c)
	return nil
}
