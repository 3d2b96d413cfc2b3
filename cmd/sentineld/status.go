package main

import (
	"crypto"
	"log/slog"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/gate"
	"sentinel/internal/status"
)

// loadStatus installs the status list of a verified status-base bundle and
// the delta that follows it, if any.
func (l *loaded) loadStatus(b *trust.Bundle, dataDir string, root crypto.PublicKey, now time.Time, logger *slog.Logger) {
	list, err := status.New(status.Options{Tolerance: l.state.Tolerance})
	if err != nil {
		logger.Error("status list", "error", err)
		return
	}
	if err := list.ApplyBase(b); err != nil {
		logger.Error("status base bundle refused", "error", err)
		return
	}
	l.state.Bundles[trust.KindStatusBase] = bundleState(b)
	if d, ok := openBundle(dataDir, trust.KindStatusDelta, root, now, logger); ok {
		if err := list.ApplyDelta(d); err != nil {
			logger.Error("status delta bundle refused", "error", err)
		} else {
			l.state.Bundles[trust.KindStatusDelta] = bundleState(d)
		}
	}
	l.state.Status = gate.StatusList(list)
	c := list.Counts()
	logger.Info("status list loaded", "version", b.Version, "counts", c)
}
