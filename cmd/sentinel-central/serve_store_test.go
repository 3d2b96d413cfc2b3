package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
)

// A second serve on a data directory that a running one holds says so and
// what to do, once, rather than bbolt's "timeout" with two guesses.
func TestServeStoreHeldByAnotherServe(t *testing.T) {
	dir := t.TempDir()
	rootPub, key, del := signingKeys(t, dir, "trust,status-base,status-delta,policy,config", "90d")
	data := filepath.Join(dir, "central")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	held, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, errOut := sentinel(t, "serve", "--data", data, "--root-pub", rootPub, "--key", key, "--delegation", del,
		"--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0")
	if code != exitRefused {
		t.Fatalf("got exit %d, want %d\n%s", code, exitRefused, errOut)
	}
	for _, want := range []string{"another 'sentinel-central serve' runs on --data " + data, "stop it first", "another --data"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not say %q", errOut, want)
		}
	}
	if strings.Contains(errOut, "timeout") {
		t.Errorf("stderr %q still shows bbolt's timeout", errOut)
	}
}
