package client_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/sync/client"
	"sentinel/sync/protocol"
)

func ExampleNewReporter() {
	build := func(context.Context) (*protocol.Health, error) {
		return &protocol.Health{Time: time.Now(), Last: 10, Acked: 10}, nil
	}
	r, err := client.NewReporter(build, client.ReporterOptions{URL: "https://127.0.0.1:8443", Device: "T-1", Every: 5 * time.Minute})
	if err != nil {
		panic(err)
	}
	_ = r // r.Start(ctx) with the other sync loops; r.Kick() on a device fault
	fmt.Println("ready")
	// Output: ready
}
