package terminal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/ui"
)

// defaultReloadEvery is how often the data directory is checked for new
// bundles (which sync writes there) and the clock for trust.
const defaultReloadEvery = 5 * time.Second

// stamp describes what the State was built from: the pinned root's and the
// bundles' files, and whether the clock could be trusted. A bundle is
// refused on an untrusted clock (a board that booted in 1970), so the State
// is built again once the clock is trusted.
func (d *daemon) stamp() string {
	var b bytes.Buffer
	_, trusted := d.clock.Now()
	fmt.Fprintf(&b, "trusted=%v", trusted)
	paths := []string{filepath.Join(d.cfg.DataDir, rootFile)}
	for _, k := range trust.Kinds() {
		paths = append(paths, bundlePath(d.cfg.DataDir, k))
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, ";%s=%d@%d", filepath.Base(p), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// watchBundles builds the State again whenever the root, a bundle or the
// clock's trust changes, and installs it for the next passages. It returns
// when ctx is done.
func (d *daemon) watchBundles(ctx context.Context, every time.Duration, last string, display *ui.Server) {
	if every <= 0 {
		every = defaultReloadEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := d.stamp()
		if s == last {
			continue
		}
		last = s
		now, _ := d.clock.Now()
		ld, err := loadState(d.cfg.DataDir, d.cfg.Terminal.SiteID, now, d.logger.With("component", "bundles"))
		if err != nil {
			d.logger.Error("bundles not reloaded", "error", err)
			continue
		}
		d.gate.SetState(ld.state)
		if ld.centre != nil {
			if k, err := ld.centre.Key(); err == nil {
				d.journal.SetCentreKey(k)
			}
		}
		display.SetLang(ld.site.Language)
		d.logger.Info("bundles reloaded", "enrolled", ld.state.Enrolled, "site", ld.site.Type)
	}
}
