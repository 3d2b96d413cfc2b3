package boltstore

import (
	"path/filepath"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

func TestRegistryConformance(t *testing.T) {
	storetest.RunRegistry(t, storetest.Harness{
		New: func(t *testing.T) central.Store {
			path := filepath.Join(t.TempDir(), "central.db")
			t.Cleanup(func() { check(t, path) })
			return open(t, path)
		},
		Reopen: func(t *testing.T, s central.Store) central.Store {
			path := s.(*Store).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
	}, nil)
}
