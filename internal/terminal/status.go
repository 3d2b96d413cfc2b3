package terminal

import (
	"crypto"
	"log/slog"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/gate"
	"sentinel/internal/status"
	"sentinel/sync/client"
)

// statusRecorder applies status bundles to a list and remembers the last
// of each kind, for the display's bundle freshness.
type statusRecorder struct {
	*status.List
	base, delta *trust.Bundle
}

func (r *statusRecorder) ApplyBase(b *trust.Bundle) error {
	if err := r.List.ApplyBase(b); err != nil {
		return err
	}
	r.base = b
	return nil
}

func (r *statusRecorder) ApplyDelta(b *trust.Bundle) error {
	if err := r.List.ApplyDelta(b); err != nil {
		return err
	}
	r.delta = b
	return nil
}

// loadStatus installs the status list: the verified status-base bundle b
// and then every delta of the chain that the sync client keeps
// (client.LoadStatus), in version order.
func (l *loaded) loadStatus(b *trust.Bundle, dataDir string, root crypto.PublicKey, now time.Time, logger *slog.Logger) {
	list, err := status.New(status.Options{Tolerance: l.state.Tolerance})
	if err != nil {
		logger.Error("status list", "error", err)
		return
	}
	rec := &statusRecorder{List: list}
	version, err := client.LoadStatus(dataDir, root, now, rec)
	if rec.base == nil {
		// The chain could not be read: fall back to the base alone.
		if err := list.ApplyBase(b); err != nil {
			logger.Error("status base bundle refused", "error", err)
			return
		}
		rec.base = b
		version = b.Version
	}
	if err != nil {
		logger.Error("status deltas refused; the list stops at the last good one", "version", version, "error", err)
	}
	l.state.Bundles[trust.KindStatusBase] = bundleState(rec.base)
	if rec.delta != nil {
		l.state.Bundles[trust.KindStatusDelta] = bundleState(rec.delta)
	}
	l.state.Status = gate.StatusList(list)
	logger.Info("status list loaded", "version", version, "counts", list.Counts())
}
