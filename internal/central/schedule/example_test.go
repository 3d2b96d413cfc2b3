package schedule_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/statuspub"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "centre")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	// The operator root (offline) delegates the online key that serve
	// gets with --key and --delegation.
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	key, _ := trust.GenerateKey(nil, trust.KeyEd25519)
	d, err := trust.Delegate(root, key.Public(), trust.Kinds(), now, now.AddDate(0, 0, 90))
	if err != nil {
		panic(err)
	}
	s, err := schedule.New(schedule.Options{
		Publisher: &statuspub.Publisher{Store: memstore.New(nil), DataDir: dir, Root: root.Public(), Now: func() time.Time { return now },
			Signer: statuspub.Signer{Key: key, Delegation: d, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}},
		Now: func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	rep, err := s.Tick(context.Background()) // serve calls Start, which ticks every 10 minutes
	if err != nil {
		panic(err)
	}
	fmt.Printf("published %s version %d, fresh until %s: %s\n", rep.Status.Kind, rep.Status.Version, rep.Status.FreshUntil.Format(time.RFC3339), rep.Why)
	// Output:
	// published status-base version 1, fresh until 2026-12-02T06:00:00Z: no status base is published yet
}
