package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"
)

// t0 is the first day of the tests' February 2020.
var t0 = time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC)

func day(n int, hm ...int) time.Time {
	t := t0.AddDate(0, 0, n-1)
	if len(hm) == 2 {
		t = t.Add(time.Duration(hm[0])*time.Hour + time.Duration(hm[1])*time.Minute)
	}
	return t
}

// testAreas is two provinces: Zhejiang with Hangzhou (Xihu district, two
// compounds) and Ningbo (Haishu, graded high from 5 February); Hubei with
// Wuhan (Jiang'an, high from 1 February) and Yichang (Xiling, medium from
// 1 February).
func testAreas(t testing.TB) *Areas {
	t.Helper()
	a, err := NewAreas([]Area{
		{ID: "ZJ", Kind: Province, Name: "Zhejiang"},
		{ID: "ZJ-HZ", Kind: City, Parent: "ZJ", Name: "Hangzhou"},
		{ID: "ZJ-HZ-XH", Kind: District, Parent: "ZJ-HZ", Name: "Xihu"},
		{ID: "ZJ-HZ-XH-C01", Kind: Compound, Parent: "ZJ-HZ-XH", Name: "Lakeside Gardens"},
		{ID: "ZJ-HZ-XH-C02", Kind: Compound, Parent: "ZJ-HZ-XH", Name: "Plum Court"},
		{ID: "ZJ-NB", Kind: City, Parent: "ZJ", Name: "Ningbo"},
		{ID: "ZJ-NB-HS", Kind: District, Parent: "ZJ-NB", Name: "Haishu"},
		{ID: "HB", Kind: Province, Name: "Hubei"},
		{ID: "HB-WH", Kind: City, Parent: "HB", Name: "Wuhan"},
		{ID: "HB-WH-JA", Kind: District, Parent: "HB-WH", Name: "Jiang'an"},
		{ID: "HB-WH-JA-C07", Kind: Compound, Parent: "HB-WH-JA", Name: "Baibuting 7"},
		{ID: "HB-WH-WC", Kind: District, Parent: "HB-WH", Name: "Wuchang"},
		{ID: "HB-YC", Kind: City, Parent: "HB", Name: "Yichang"},
		{ID: "HB-YC-XL", Kind: District, Parent: "HB-YC", Name: "Xiling"},
		{ID: "HB-YC-WJ", Kind: District, Parent: "HB-YC", Name: "Wujiagang"},
	}, []Site{
		{ID: "SM-HZ-1", Area: "ZJ-HZ-XH", Name: "Xihu supermarket"},
		{ID: "GATE-C01", Area: "ZJ-HZ-XH-C01", Name: "Lakeside Gardens gate"},
		{ID: "STN-NB", Area: "ZJ-NB-HS", Name: "Ningbo station"},
		{ID: "CP-WH", Area: "HB-WH-WC", Name: "Wuchang checkpoint"},
		{ID: "CP-JA", Area: "HB-WH-JA", Name: "Jiang'an checkpoint"},
		{ID: "CP-YC", Area: "HB-YC-WJ", Name: "Yichang checkpoint"},
		{ID: "SM-XL", Area: "HB-YC-XL", Name: "Xiling market"},
	}, []Grade{
		{Area: "ZJ-NB-HS", Level: High, Effective: day(5), Source: "ops:test"},
		{Area: "HB-WH-JA", Level: High, Effective: day(1), Source: "ops:test"},
		{Area: "HB-YC-XL", Level: Medium, Effective: day(1), Source: "ops:test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// seed compiles a rule set of docs/rules.
func seed(t testing.TB, name string) *RuleSet {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", name))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(name, src)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return rs
}

func fever(holder, site string, at time.Time, c float64) Fact {
	return Fact{Holder: holder, Kind: KindFever, At: at, Site: site, Temperature: physic.ZeroCelsius + physic.Temperature(c*float64(physic.Celsius)), Source: "passage:T1/00/1"}
}

func fact(holder string, k Kind, at time.Time, area, site string) Fact {
	return Fact{Holder: holder, Kind: k, At: at, Area: area, Site: site, Source: "ops:test"}
}

func home(holder, area string) Fact {
	return fact(holder, KindHome, day(1).AddDate(0, -1, 0), area, "")
}
