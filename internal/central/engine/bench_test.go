package engine

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEvaluate judges holders with a few facts each under the Hubei
// rule set (the costliest seed: facts.exists in two rules), the unit of a
// sweep: a sweep over N holders with facts costs N of these plus the
// store's reads. Run by hand:
//
//	go test -run XXX -bench Evaluate ./internal/central/engine
func BenchmarkEvaluate(b *testing.B) {
	areas := testAreas(b)
	rs := seed(b, "hubei.rules")
	w := &World{Areas: areas}
	for _, n := range []int{1, 10, 100} {
		h := Holder{ID: "HB:1", Facts: []Fact{home("HB:1", "HB-YC-WJ")}}
		for i := range n {
			at := day(1).Add(time.Duration(i) * time.Hour)
			switch i % 3 {
			case 0:
				h.Facts = append(h.Facts, fact("HB:1", KindVisit, at, "", "SM-XL"))
			case 1:
				h.Facts = append(h.Facts, fever("HB:1", "CP-YC", at, 37.9))
			default:
				h.Facts = append(h.Facts, fact("HB:1", KindTestNegative, at, "", ""))
			}
		}
		b.Run(fmt.Sprintf("facts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rs.Evaluate(h, w, day(5)); err != nil {
					b.Fatal(err)
				}
			}
		})
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
