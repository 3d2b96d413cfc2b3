package syncstore_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "central")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := boltstore.Open(filepath.Join(dir, "central.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Production passes the mTLS authenticator and the centre's key.
	h, err := server.New(server.Options{Store: syncstore.New(s, syncstore.Options{}), Auth: servertest.HeaderAuth{}})
	fmt.Println(h != nil, err)
	// Output: true <nil>
}
