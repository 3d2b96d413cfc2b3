package engine

import (
	"slices"
	"time"
)

// World is what a holder is judged against besides their own facts: the
// areas with their sites and risk levels, and the confirmed cases by
// home area (for rules about a compound with cases). The zero World
// knows no areas and no cases.
type World struct {
	Areas *Areas
	Cases *Cases
}

func (w *World) areas() *Areas {
	if w == nil {
		return nil
	}
	return w.Areas
}

// Case is a confirmed case where they live.
type Case struct {
	Holder string
	Home   string    // the case's home area when confirmed
	At     time.Time // when confirmed
}

// Cases indexes confirmed cases by every area their home lies in. Build it
// with NewCases; it is read-only after that.
type Cases struct {
	byArea map[string][]time.Time // ascending
}

// NewCases indexes cases; areas places a home in its ancestors.
func NewCases(cases []Case, areas *Areas) *Cases {
	c := &Cases{byArea: map[string][]time.Time{}}
	for _, k := range cases {
		path := areas.Path(k.Home)
		if len(path) == 0 && k.Home != "" {
			path = []string{k.Home}
		}
		for _, id := range path {
			c.byArea[id] = append(c.byArea[id], k.At)
		}
	}
	for _, ts := range c.byArea {
		slices.SortFunc(ts, time.Time.Compare)
	}
	return c
}

// CasesOf returns the confirmed cases among holders' facts: each holder's
// earliest confirmation, with the home they had then.
func CasesOf(holders []Holder) []Case {
	var out []Case
	for _, h := range holders {
		var c *Case
		for i := range h.Facts {
			f := &h.Facts[i]
			if f.Kind == KindConfirmed && (c == nil || f.At.Before(c.At)) {
				c = &Case{Holder: h.ID, At: f.At}
			}
		}
		if c != nil {
			c.Home = homeAt(h.Facts, c.At)
			out = append(out, *c)
		}
	}
	return out
}

// Count returns how many cases living in area were confirmed in [since, now].
func (c *Cases) Count(area string, since, now time.Time) int {
	if c == nil {
		return 0
	}
	ts := c.byArea[area]
	lo, _ := slices.BinarySearchFunc(ts, since, time.Time.Compare)
	hi, _ := slices.BinarySearchFunc(ts, now, func(t, now time.Time) int {
		if t.After(now) {
			return 1
		}
		return -1
	})
	return max(hi-lo, 0)
}

// Last returns when the latest case living in area was confirmed, at or
// before now.
func (c *Cases) Last(area string, now time.Time) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	ts := c.byArea[area]
	i := c.Count(area, time.Time{}, now)
	if i == 0 {
		return time.Time{}, false
	}
	return ts[i-1], true
}

// homeAt returns the area of the latest home fact at or before t.
func homeAt(facts []Fact, t time.Time) string {
	var home string
	var at time.Time
	for i := range facts {
		f := &facts[i]
		if f.Kind == KindHome && !f.At.After(t) && (home == "" || !f.At.Before(at)) {
			home, at = f.Area, f.At
		}
	}
	return home
}
