package client_test

import (
	"context"
	"log"
	"net/http"
	"path/filepath"

	"sentinel/sync/client"
	"sentinel/sync/journal"
)

func ExampleNew() {
	j, err := journal.Open(filepath.Join("data", journal.FileName), journal.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	c, err := client.New(j, client.Options{
		URL:    "https://central.invalid:8443",
		Device: "gate-1",
		HTTP:   &http.Client{}, // with the terminal's TLS client certificate
	})
	if err != nil {
		log.Fatal(err)
	}
	c.Start(context.Background())
	defer c.Stop() // before j.Close
	// After each journalled passage:
	c.Kick()
}
