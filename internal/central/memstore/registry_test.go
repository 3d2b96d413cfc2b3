package memstore_test

import (
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

func TestRegistryConformance(t *testing.T) {
	storetest.RunRegistry(t, storetest.Harness{
		New: func(t *testing.T) central.Store { return memstore.New(nil) },
	}, nil)
}
