package syncstore

import (
	"context"
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

// HealthAdapter is a server.HealthStore over a central.HealthStore: it
// keeps each report as its canonical CBOR.
type HealthAdapter struct {
	Store central.HealthStore
}

var _ server.HealthStore = HealthAdapter{}

// PutHealth implements server.HealthStore.
func (a HealthAdapter) PutHealth(ctx context.Context, device string, report *protocol.Health, receivedAt time.Time) error {
	b, err := protocol.EncodeHealth(report)
	if err != nil {
		return fmt.Errorf("syncstore: put health %s: %w", device, err)
	}
	if err := a.Store.PutHealth(ctx, device, b, receivedAt); err != nil {
		return fmt.Errorf("syncstore: put health %s: %w", device, err)
	}
	return nil
}
