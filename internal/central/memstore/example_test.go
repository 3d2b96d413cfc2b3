package memstore_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

func ExampleNew() {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	defer s.Close()
	ctx := context.Background()
	recs := []central.Record{
		{Seq: 1, Stored: []byte("a"), Time: now, Site: "gate-1", Holder: "ZJ:42", Decision: "pass"},
		{Seq: 2, Stored: []byte("b"), Time: now.Add(time.Minute), Site: "gate-2", Holder: "ZJ:7", Decision: "refer"},
	}
	hw, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs)
	fmt.Println(hw, err)
	for p, err := range s.Passages(ctx, central.Filter{Holder: "ZJ:42"}) {
		fmt.Println(p.Device, p.Seq, p.Site, err)
	}
	ds, _ := s.Devices(ctx)
	fmt.Println(ds[0].ID, ds[0].LastSeen.Format(time.RFC3339), ds[0].Marks[0].HighWater)
	// Output:
	// 2 <nil>
	// t1 1 gate-1 <nil>
	// t1 2026-11-29T08:00:00Z 2
}
