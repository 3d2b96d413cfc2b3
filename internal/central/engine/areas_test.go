package engine

import (
	"strings"
	"testing"
	"time"
)

func TestAreasRefused(t *testing.T) {
	p := Area{ID: "ZJ", Kind: Province}
	for _, tc := range []struct {
		name   string
		areas  []Area
		sites  []Site
		grades []Grade
		want   string
	}{
		{"bad id", []Area{{ID: "zj", Kind: Province}}, nil, nil, `area "zj": an id is 1 to 32`},
		{"bad kind", []Area{{ID: "ZJ", Kind: "country"}}, nil, nil, `kind "country"`},
		{"twice", []Area{p, p}, nil, nil, "area ZJ is listed twice"},
		{"province with parent", []Area{p, {ID: "HB", Kind: Province, Parent: "ZJ"}}, nil, nil, "HB is a province and cannot lie in ZJ"},
		{"city without parent", []Area{{ID: "HZ", Kind: City}}, nil, nil, "HZ is a city and needs the area it lies in"},
		{"unknown parent", []Area{{ID: "HZ", Kind: City, Parent: "ZJ"}}, nil, nil, "lies in ZJ, which is not an area"},
		{"wider under narrower", []Area{p, {ID: "C", Kind: Compound, Parent: "ZJ"}, {ID: "D", Kind: District, Parent: "C"}}, nil, nil, "D is a district and cannot lie in C, a compound"},
		{"site in unknown area", []Area{p}, []Site{{ID: "S", Area: "HB"}}, nil, `site S lies in "HB"`},
		{"site twice", []Area{p}, []Site{{ID: "S", Area: "ZJ"}, {ID: "S", Area: "ZJ"}}, nil, "site S is listed twice"},
		{"grade unknown", []Area{p}, nil, []Grade{{Area: "HB", Level: High, Effective: t0}}, `risk level for "HB"`},
		{"grade bad level", []Area{p}, nil, []Grade{{Area: "ZJ", Level: "severe", Effective: t0}}, `risk level "severe"`},
		{"grade no time", []Area{p}, nil, []Grade{{Area: "ZJ", Level: High}}, "has no effective time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAreas(tc.areas, tc.sites, tc.grades)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAreasLevel(t *testing.T) {
	a, err := NewAreas([]Area{{ID: "HB", Kind: Province}, {ID: "HB-WH", Kind: City, Parent: "HB"}, {ID: "HB-WH-JA", Kind: District, Parent: "HB-WH"}, {ID: "HB-WH-JA-C1", Kind: Compound, Parent: "HB-WH-JA"}}, nil,
		[]Grade{
			{Area: "HB-WH", Level: Medium, Effective: day(5)},
			{Area: "HB-WH-JA", Level: High, Effective: day(3)},
			{Area: "HB-WH-JA", Level: Low, Effective: day(10)},
			{Area: "HB-WH-JA", Level: High, Effective: day(20)},
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		area string
		at   time.Time
		want Level
	}{
		{"HB-WH-JA-C1", day(2), Low},
		{"HB-WH-JA-C1", day(3), High}, // from its effective time, inherited
		{"HB-WH-JA", day(9, 23, 59), High},
		{"HB-WH-JA", day(10), Medium}, // the district is low, the city medium
		{"HB-WH-JA-C1", day(21), High},
		{"HB-WH", day(21), Medium}, // a district's grade does not raise its city
		{"HB", day(21), Low},
		{"XX", day(21), Low},
	} {
		if got := a.Level(tc.area, tc.at); got != tc.want {
			t.Errorf("level of %s at %v: %s, want %s", tc.area, tc.at, got, tc.want)
		}
	}
	if !a.Within("HB-WH-JA-C1", "HB") || a.Within("HB", "HB-WH") || !a.Within("HB-WH", "HB-WH") || a.Within("", "") {
		t.Error("within is wrong")
	}
}

func TestCases(t *testing.T) {
	areas := testAreas(t)
	c := NewCases([]Case{
		{Holder: "ZJ:1", Home: "ZJ-HZ-XH-C01", At: day(3)},
		{Holder: "ZJ:2", Home: "ZJ-HZ-XH-C01", At: day(6)},
		{Holder: "ZJ:3", Home: "ZJ-HZ-XH-C02", At: day(4)},
	}, areas)
	for _, tc := range []struct {
		area       string
		since, now time.Time
		want       int
	}{
		{"ZJ-HZ-XH-C01", day(1), day(10), 2},
		{"ZJ-HZ-XH-C01", day(4), day(10), 1},
		{"ZJ-HZ-XH-C01", day(1), day(5), 1},
		{"ZJ-HZ-XH-C01", day(3), day(3), 1}, // both ends inclusive
		{"ZJ-HZ-XH", day(1), day(10), 3},
		{"ZJ", day(1), day(10), 3},
		{"ZJ-NB", day(1), day(10), 0},
	} {
		if got := c.Count(tc.area, tc.since, tc.now); got != tc.want {
			t.Errorf("cases in %s [%v, %v]: %d, want %d", tc.area, tc.since, tc.now, got, tc.want)
		}
	}
	if last, ok := c.Last("ZJ-HZ-XH-C01", day(5)); !ok || !last.Equal(day(3)) {
		t.Errorf("last case in C01 by day 5: %v %v, want day 3", last, ok)
	}
	if _, ok := c.Last("ZJ-NB", day(5)); ok {
		t.Error("a case in Ningbo")
	}
	got := CasesOf([]Holder{{ID: "ZJ:1", Facts: []Fact{fact("ZJ:1", KindConfirmed, day(5), "", ""), home("ZJ:1", "ZJ-HZ"), fact("ZJ:1", KindConfirmed, day(3), "", ""), fact("ZJ:1", KindHome, day(4), "ZJ-NB", "")}}, {ID: "ZJ:2"}})
	if len(got) != 1 || got[0].Home != "ZJ-HZ" || !got[0].At.Equal(day(3)) {
		t.Errorf("cases %+v, want ZJ:1 living in ZJ-HZ confirmed on day 3", got)
	}
}

func TestFactValidate(t *testing.T) {
	ok := []Fact{
		fact("ZJ:1", KindConfirmed, day(1), "", ""),
		home("ZJ:1", "ZJ"),
		fever("ZJ:1", "S", day(1), 38),
		{Holder: "ZJ:1", Kind: KindManual, At: day(1), Value: "red", Until: day(2)},
	}
	for _, f := range ok {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, tc := range []struct {
		f    Fact
		want string
	}{
		{Fact{Kind: KindConfirmed, At: day(1)}, "no holder"},
		{Fact{Holder: "ZJ:1", Kind: "positive", At: day(1)}, `kind "positive"`},
		{Fact{Holder: "ZJ:1", Kind: KindConfirmed}, "no time"},
		{Fact{Holder: "ZJ:1", Kind: KindHome, At: day(1)}, "no area"},
		{Fact{Holder: "ZJ:1", Kind: KindVisit, At: day(1)}, "no site or area"},
		{Fact{Holder: "ZJ:1", Kind: KindWhitelist, At: day(1)}, "no area or site"},
		{Fact{Holder: "ZJ:1", Kind: KindManual, At: day(1), Value: "blue"}, `status "blue"`},
		{Fact{Holder: "ZJ:1", Kind: KindManual, At: day(2), Value: "red", Until: day(1)}, "is not after"},
	} {
		if err := tc.f.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.f, err, tc.want)
		}
	}
	if fv := fever("ZJ:1", "S", day(1), 38.4); fv.Celsius() < 38.39 || fv.Celsius() > 38.41 {
		t.Errorf("celsius %v, want 38.4", fv.Celsius())
	}
}
