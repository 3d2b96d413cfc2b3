package pgstore

import (
	"context"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

// TestImportLegacyStatus: a status.db of the release before is imported
// into PostgreSQL once, keeping what the database already holds.
func TestImportLegacyStatus(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t))
	defer s.Close()
	storetest.LegacyStatus(t, s, "../boltstore/testdata/legacy-status/status.db",
		func(ctx context.Context, dir string, st central.StatusStore) error {
			_, err := boltstore.ImportLegacyStatus(ctx, dir, st)
			return err
		})
}
