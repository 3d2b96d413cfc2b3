package server_test

import (
	"log"
	"net/http"

	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func ExampleNew() {
	h, err := server.New(server.Options{
		Store: servertest.NewMem(),     // the central bbolt or PostgreSQL store
		Auth:  servertest.HeaderAuth{}, // production: the TLS client certificate
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/v1/", h)
}
