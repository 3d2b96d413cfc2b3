package server_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

type printHealth struct{}

func (printHealth) PutHealth(_ context.Context, device string, h *protocol.Health, _ time.Time) error {
	fmt.Println(device, h.Backlog())
	return nil
}

func ExampleNewHealth() {
	h, err := server.NewHealth(server.HealthOptions{Store: printHealth{}, Auth: server.TLSAuthenticator{}})
	if err != nil {
		panic(err)
	}
	_ = h // mount on the mutual TLS listener: mux.Handle("POST "+protocol.HealthPath(1), h)
	fmt.Println("ready")
	// Output: ready
}
