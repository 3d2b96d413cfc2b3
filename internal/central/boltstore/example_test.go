package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/storetest"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "central")
	defer os.RemoveAll(dir)
	s, err := boltstore.Open(filepath.Join(dir, "central.db"), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	rec := func(seq uint64) central.Record {
		return central.Record{Seq: seq, Stored: []byte("journal bytes"), Time: time.Unix(1764374400, 0), Site: "gate-1", Decision: "pass"}
	}
	ctx := context.Background()
	hw, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, []central.Record{rec(1), rec(2)})
	fmt.Println(hw, err)
	// storetest.Ingest takes the sync server's path. A retry of the
	// same batch stores nothing twice.
	hw, err = storetest.Ingest(ctx, s, "t1", central.Epoch{1}, []central.Record{rec(1), rec(2)})
	fmt.Println(hw, err)
	// A batch that leaves a gap is refused with the mark.
	hw, err = storetest.Ingest(ctx, s, "t1", central.Epoch{1}, []central.Record{rec(4)})
	fmt.Println(hw, err)
	// Output:
	// 2 <nil>
	// 2 <nil>
	// 2 server: gap: range starts at 4, centre holds up to 2
}
