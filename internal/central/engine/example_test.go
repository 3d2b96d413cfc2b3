package engine_test

import (
	"fmt"
	"time"

	"sentinel/internal/central/engine"
)

func ExampleCompile() {
	rs, err := engine.Compile("zj.rules", []byte(`region ZJ
version 2020-02-11.1
rule confirmed
  match f.kind == "confirmed"
  red confirmed
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	confirmed := time.Date(2020, 2, 3, 10, 0, 0, 0, time.UTC)
	h := engine.Holder{ID: "ZJ:1024", Facts: []engine.Fact{
		{Holder: "ZJ:1024", Kind: engine.KindConfirmed, At: confirmed, Source: "ops:alice"},
	}}
	r, err := rs.Evaluate(h, &engine.World{}, confirmed.Add(24*time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Status, r.Reason, r.Rule, r.Until.Format(time.RFC3339))
	// Output: red confirmed confirmed 2020-02-17T10:00:00Z
}

func ExampleNewAreas() {
	areas, err := engine.NewAreas(
		[]engine.Area{
			{ID: "HB", Kind: engine.Province, Name: "Hubei"},
			{ID: "HB-WH", Kind: engine.City, Parent: "HB", Name: "Wuhan"},
			{ID: "HB-WH-JA", Kind: engine.District, Parent: "HB-WH", Name: "Jiang'an"},
		},
		[]engine.Site{{ID: "CP-1", Area: "HB-WH-JA"}},
		[]engine.Grade{{Area: "HB-WH", Level: engine.High, Effective: time.Date(2020, 1, 23, 0, 0, 0, 0, time.UTC)}},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(areas.Path(areas.AreaOf("CP-1")), areas.Level("HB-WH-JA", time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC)))
	// Output: [HB HB-WH HB-WH-JA] high
}
