package memstore_test

import (
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) central.Store { return memstore.New(nil) },
	})
}
