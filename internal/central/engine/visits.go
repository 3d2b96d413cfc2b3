package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/passage"
)

// Lookback is how far back a fact can still give a status under the set:
// the longest finite period of its rules (a year at most).
func (s *Set) Lookback() time.Duration {
	var d time.Duration
	for _, rs := range s.byRegion {
		for _, r := range rs.rules {
			if r.per != Open && r.per > d {
				d = r.per
			}
		}
	}
	if d == 0 {
		d = DefaultRed
	}
	return min(d, maxPeriod)
}

// KeepsFactsOf reports whether retention may remove facts by their age
// under the set (central.Horizons.Facts): not when a rule gives a status
// with no end (For open) from facts of a kind that retention removes by
// age (any kind but home, whitelist and manual, which it keeps while they
// are in force), since such a fact decides a status for as long as it
// exists. It names the first such rule ("REGION rule NAME"), or returns ""
// when facts older than Lookback may go.
func (s *Set) KeepsFactsOf() string {
	regions := slices.Sorted(maps.Keys(s.byRegion))
	for _, region := range regions {
		for _, r := range s.byRegion[region].rules {
			if r.per != Open {
				continue
			}
			switch r.kind {
			case KindHome, KindWhitelist, KindManual:
				continue
			}
			return fmt.Sprintf("%s rule %s", region, r.Name)
		}
	}
	return ""
}

// AddVisits gives the snapshot's holders a visit fact for each admitted
// passage, from lookback before now until now, at a site whose area was
// graded medium or high risk at the passage's time (by the grades as they
// stand now). Visits are derived from the passages each time rather than
// stored, so an area graded after the passages still counts them, and a
// passage at a low-risk site costs nothing. It returns how many it added.
func (s *Snapshot) AddVisits(ctx context.Context, src PassageSource, now time.Time, lookback time.Duration) (int, error) {
	from := now.Add(-lookback)
	byHolder := map[string]int{}
	for i, h := range s.Holders {
		byHolder[h.ID] = i
	}
	have := map[string]bool{} // sources of stored visits
	for _, h := range s.Holders {
		for _, f := range h.Facts {
			if f.Kind == KindVisit {
				have[f.Holder+" "+f.Source] = true
			}
		}
	}
	sites := make([]string, 0, len(s.Areas.sites))
	for id := range s.Areas.sites {
		sites = append(sites, id)
	}
	slices.Sort(sites)
	added := 0
	for _, site := range sites {
		area := s.Areas.sites[site].Area
		if !s.risky(area, from, now) {
			continue
		}
		for p, err := range src.Passages(ctx, central.Filter{Site: site, From: from, To: now.Add(time.Nanosecond), Slim: true}) {
			if err != nil {
				return added, fmt.Errorf("visits at %s: %w", site, err)
			}
			if p.Holder == "" || p.Decision != string(passage.Admit) || rank(s.Areas.Level(area, p.Time)) < rank(Medium) {
				continue
			}
			f := Fact{Holder: p.Holder, Kind: KindVisit, At: p.Time.UTC(), Site: site, Area: area,
				Source: fmt.Sprintf("passage:%s/%s/%d", p.Device, p.Epoch, p.Seq)}
			if have[f.Holder+" "+f.Source] {
				continue
			}
			have[f.Holder+" "+f.Source] = true
			i, ok := byHolder[f.Holder]
			if !ok {
				i = len(s.Holders)
				byHolder[f.Holder] = i
				s.Holders = append(s.Holders, Holder{ID: f.Holder})
			}
			s.Holders[i].Facts = append(s.Holders[i].Facts, f)
			added++
		}
	}
	slices.SortFunc(s.Holders, func(a, b Holder) int { return strings.Compare(a.ID, b.ID) })
	return added, nil
}

// risky reports whether area was medium or high risk at some time in
// [from, now]: at from, or from a grade of it or of an area it lies in
// that took effect in between.
func (s *Snapshot) risky(area string, from, now time.Time) bool {
	if rank(s.Areas.Level(area, from)) >= rank(Medium) {
		return true
	}
	for _, id := range s.Areas.Path(area) {
		for _, g := range s.Areas.grades[id] {
			if g.Effective.After(from) && !g.Effective.After(now) && rank(s.Areas.Level(area, g.Effective)) >= rank(Medium) {
				return true
			}
		}
	}
	return false
}

// AddVisitsOf is AddVisits for the snapshot's holders alone (LoadHolders):
// it reads each holder's passages rather than every passage at the risky
// sites.
func (s *Snapshot) AddVisitsOf(ctx context.Context, src PassageSource, now time.Time, lookback time.Duration) (int, error) {
	from := now.Add(-lookback)
	added := 0
	for i := range s.Holders {
		h := &s.Holders[i]
		have := map[string]bool{}
		for _, f := range h.Facts {
			if f.Kind == KindVisit {
				have[f.Source] = true
			}
		}
		for p, err := range src.Passages(ctx, central.Filter{Holder: h.ID, From: from, To: now.Add(time.Nanosecond), Slim: true}) {
			if err != nil {
				return added, fmt.Errorf("visits of %s: %w", h.ID, err)
			}
			site, ok := s.Areas.sites[p.Site]
			if !ok || p.Decision != string(passage.Admit) || rank(s.Areas.Level(site.Area, p.Time)) < rank(Medium) {
				continue
			}
			f := Fact{Holder: h.ID, Kind: KindVisit, At: p.Time.UTC(), Site: p.Site, Area: site.Area,
				Source: fmt.Sprintf("passage:%s/%s/%d", p.Device, p.Epoch, p.Seq)}
			if have[f.Source] {
				continue
			}
			have[f.Source] = true
			h.Facts = append(h.Facts, f)
			added++
		}
	}
	return added, nil
}
