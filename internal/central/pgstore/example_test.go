package pgstore_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/storetest"
)

func ExampleOpen() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, "postgres://sentinel@127.0.0.1:5432/central", &pgstore.Options{MaxConns: 16})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	hw, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, []central.Record{
		{Seq: 1, Stored: []byte("journal bytes"), Time: time.Now(), Site: "gate-1", Holder: "ZJ:42", Decision: "pass"},
	})
	fmt.Println(hw, err)
	// Keep 30 days of passages.
	if _, err := s.DropBefore(ctx, time.Now().AddDate(0, 0, -30)); err != nil {
		fmt.Println(err)
	}
}
