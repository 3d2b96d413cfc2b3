package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkEvaluate judges one holder with n facts under the Hubei seed
// (rules=hubei: latest and the kind guards) and under the seed as first
// written (rules=hubei-scan: facts.exists in two matches, every fact
// searched for each fever), the unit of a sweep: a sweep over N holders
// with facts costs N of these plus the store's reads. The first grows
// with n, the second with n²; at 1,000 facts the second is over the
// holder's cost limit and is not run. Run by hand:
//
//	go test -run '^$' -bench Evaluate ./internal/central/engine
func BenchmarkEvaluate(b *testing.B) {
	areas := testAreas(b)
	src, err := os.ReadFile(filepath.Join("testdata", "hubei-scan.rules"))
	if err != nil {
		b.Fatal(err)
	}
	scan, err := Compile("hubei-scan.rules", src)
	if err != nil {
		b.Fatal(err)
	}
	sets := []struct {
		name string
		rs   *RuleSet
	}{{"hubei", seed(b, "hubei.rules")}, {"hubei-scan", scan}}
	w := &World{Areas: areas}
	for _, set := range sets {
		for _, n := range []int{1, 10, 100, 1000} {
			h := Holder{ID: "HB:1", Facts: []Fact{home("HB:1", "HB-YC-WJ")}}
			for i := range n {
				at := day(1).Add(time.Duration(i) * time.Minute)
				switch i % 3 {
				case 0:
					h.Facts = append(h.Facts, fact("HB:1", KindVisit, at, "", "SM-XL"))
				case 1:
					h.Facts = append(h.Facts, fever("HB:1", "CP-YC", at, 37.9))
				default:
					h.Facts = append(h.Facts, fact("HB:1", KindTestNegative, at, "", ""))
				}
			}
			if _, err := set.rs.Evaluate(h, w, day(5)); errors.Is(err, ErrCost) {
				continue // over the limit: not judged at all
			}
			b.Run(fmt.Sprintf("rules=%s/facts=%d", set.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var cost uint64
				for b.Loop() {
					r, err := set.rs.Evaluate(h, w, day(5))
					if err != nil {
						b.Fatal(err)
					}
					cost = r.Cost
				}
				b.ReportMetric(float64(cost), "cost")
			})
		}
	}
}

// BenchmarkPlanSweep plans a sweep over holders of whom every tenth has a
// confirmed case and the rest a home only.
func BenchmarkPlanSweep(b *testing.B) {
	areas := testAreas(b)
	set, err := NewSet(seed(b, "zhejiang.rules"))
	if err != nil {
		b.Fatal(err)
	}
	snap := &Snapshot{Areas: areas, Deployed: set}
	for i := range 10_000 {
		id := fmt.Sprintf("ZJ:%d", i)
		h := Holder{ID: id, Facts: []Fact{home(id, "ZJ-HZ-XH")}}
		if i%10 == 0 {
			h.Facts = append(h.Facts, fact(id, KindConfirmed, day(3), "", ""))
		}
		snap.Holders = append(snap.Holders, h)
	}
	b.ResetTimer()
	for b.Loop() {
		p := PlanSweep(snap, set, nil, day(5))
		if len(p.Updates) != 1000 {
			b.Fatalf("%d updates", len(p.Updates))
		}
	}
	b.ReportMetric(float64(len(snap.Holders))*float64(b.N)/b.Elapsed().Seconds(), "holders/s")
}
