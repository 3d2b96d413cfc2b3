package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"sentinel/internal/central"
)

// Level is an area's risk level.
type Level = central.Level

// Risk levels. An area that ops never graded is low.
const (
	Low    = central.LevelLow
	Medium = central.LevelMedium
	High   = central.LevelHigh
)

// rank orders levels: low < medium < high.
func rank(l Level) int {
	switch l {
	case Medium:
		return 1
	case High:
		return 2
	}
	return 0
}

// ParseLevel parses "low", "medium" or "high".
func ParseLevel(s string) (Level, error) {
	if l := Level(s); l.Valid() {
		return l, nil
	}
	return "", fmt.Errorf("risk level %q: want low, medium or high", s)
}

// AreaKind is an area's place in the tree.
type AreaKind = central.AreaKind

// Area kinds, from the widest.
const (
	Province = central.AreaProvince
	City     = central.AreaCity
	District = central.AreaDistrict
	Compound = central.AreaCompound
)

// ParseAreaKind parses "province", "city", "district" or "compound".
func ParseAreaKind(s string) (AreaKind, error) {
	if k := AreaKind(s); k.Depth() >= 0 {
		return k, nil
	}
	return "", fmt.Errorf("area kind %q: want province, city, district or compound", s)
}

// Area is a region of the tree (central.Area).
type Area = central.Area

// Site is a place with terminals and the area it lies in (central.Site).
type Site = central.Site

// Grade is a risk level set by ops for an area from its effective time
// (central.Grade).
type Grade = central.Grade

// Areas is the tree of areas with their sites and their risk levels over
// time. Build it with NewAreas; it is read-only after that and safe for
// concurrent use.
type Areas struct {
	areas  map[string]*Area
	sites  map[string]*Site
	grades map[string][]Grade // per area, ascending by Effective
}

// ValidAreaID reports whether id is an area id: 1 to 32 of A-Z, 0-9 and
// '-'.
func ValidAreaID(id string) bool { return central.ValidAreaID(id) }

// NewAreas checks and indexes a tree: every id valid and unique, every
// parent known and one kind wider than its child (a compound may also sit
// directly in a city, a district directly in a province's city… but never
// under a narrower kind), no cycle, every site in a known area, every
// grade for a known area.
func NewAreas(areas []Area, sites []Site, grades []Grade) (*Areas, error) {
	t := &Areas{areas: make(map[string]*Area, len(areas)), sites: make(map[string]*Site, len(sites)), grades: map[string][]Grade{}}
	for i := range areas {
		a := areas[i]
		if _, dup := t.areas[a.ID]; dup {
			return nil, fmt.Errorf("area %s is listed twice", a.ID)
		}
		t.areas[a.ID] = &a
	}
	for _, a := range t.areas {
		if err := central.ValidateArea(*a, t.areas[a.Parent]); err != nil {
			return nil, err
		}
	}
	for i := range sites {
		s := sites[i]
		if s.ID == "" {
			return nil, fmt.Errorf("a site has no id")
		}
		if _, ok := t.areas[s.Area]; !ok {
			return nil, fmt.Errorf("site %s lies in %q, which is not an area", s.ID, s.Area)
		}
		if _, dup := t.sites[s.ID]; dup {
			return nil, fmt.Errorf("site %s is listed twice", s.ID)
		}
		t.sites[s.ID] = &s
	}
	for _, g := range grades {
		if _, ok := t.areas[g.Area]; !ok {
			return nil, fmt.Errorf("risk level for %q, which is not an area", g.Area)
		}
		if err := central.ValidateGrade(g); err != nil {
			return nil, err
		}
		t.grades[g.Area] = append(t.grades[g.Area], g)
	}
	for _, gs := range t.grades {
		slices.SortStableFunc(gs, func(a, b Grade) int { return a.Effective.Compare(b.Effective) })
	}
	return t, nil
}

// Area returns the area with id.
func (t *Areas) Area(id string) (Area, bool) {
	if t == nil {
		return Area{}, false
	}
	a, ok := t.areas[id]
	if !ok {
		return Area{}, false
	}
	return *a, true
}

// Site returns the site with id.
func (t *Areas) Site(id string) (Site, bool) {
	if t == nil {
		return Site{}, false
	}
	s, ok := t.sites[id]
	if !ok {
		return Site{}, false
	}
	return *s, true
}

// Path returns the ids from the province down to id, or nil for an
// unknown area.
func (t *Areas) Path(id string) []string {
	if t == nil {
		return nil
	}
	var path []string
	for a, ok := t.areas[id]; ok; a, ok = t.areas[a.Parent] {
		path = append(path, a.ID)
		if len(path) > 4 {
			break // NewAreas refuses cycles; be safe anyway
		}
	}
	slices.Reverse(path)
	return path
}

// Within reports whether area lies in ancestor or is it. Unknown areas
// lie only in themselves.
func (t *Areas) Within(area, ancestor string) bool {
	if area == ancestor {
		return area != ""
	}
	return slices.Contains(t.Path(area), ancestor)
}

// Level returns the risk level of area at time at: the highest of the
// levels in force at that time for the area and every area it lies in (a
// compound in a high-risk district is high risk). An area never graded is
// low.
func (t *Areas) Level(area string, at time.Time) Level {
	l := Low
	for _, id := range t.Path(area) {
		if g, ok := t.gradeAt(id, at); ok && rank(g.Level) > rank(l) {
			l = g.Level
		}
	}
	return l
}

// gradeAt returns the grade of area in force at at.
func (t *Areas) gradeAt(area string, at time.Time) (Grade, bool) {
	gs := t.grades[area]
	i, _ := slices.BinarySearchFunc(gs, at, func(g Grade, at time.Time) int {
		return cmp.Or(g.Effective.Compare(at), -1) // first grade after at
	})
	if i == 0 {
		return Grade{}, false
	}
	return gs[i-1], true
}

// Grades returns the grades of area, oldest first.
func (t *Areas) Grades(area string) []Grade {
	if t == nil {
		return nil
	}
	return slices.Clone(t.grades[area])
}

// AreaOf returns the area a site lies in, "" for an unknown site.
func (t *Areas) AreaOf(site string) string {
	if s, ok := t.Site(site); ok {
		return s.Area
	}
	return ""
}

// Describe names an area for a holder: "Jiang'an (HB-WH-JA)".
func (t *Areas) Describe(id string) string {
	if a, ok := t.Area(id); ok && a.Name != "" && !strings.EqualFold(a.Name, id) {
		return a.Name + " (" + id + ")"
	}
	return id
}
