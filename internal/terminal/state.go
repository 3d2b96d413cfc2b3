package terminal

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/gate"
	"sentinel/internal/policy"
)

// Where the terminal keeps its trust in the data directory. Sync writes the
// bundles as it downloads them; `sentinelctl trust pin` or enrolment
// writes the root.
const (
	rootFile  = "trust/root.pub"
	bundleDir = "bundles"
)

// bundlePath returns where the bundle of kind k lives under dataDir.
func bundlePath(dataDir string, k trust.Kind) string {
	return filepath.Join(dataDir, bundleDir, string(k)+".bundle")
}

// loaded is the state built from the data directory.
type loaded struct {
	state  *gate.State
	site   *gate.SiteSettings
	centre *trust.HPKEPublicKey // the centre's journal key, nil when not enrolled
}

// loadState builds the gate's State from the pinned root and the bundles
// in dataDir at now. A missing or refused bundle is not an error: its kind
// is blocked and policy sees it. siteID is what the rules see as site.id.
func loadState(dataDir, siteID string, now time.Time, logger *slog.Logger) (*loaded, error) {
	l := &loaded{state: &gate.State{Bundles: map[trust.Kind]gate.BundleState{}}, site: gate.DefaultSiteSettings(gate.Custom)}
	root, err := readRoot(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		logger.Warn("not enrolled: no pinned operator root; every person is referred to the guard", "path", filepath.Join(dataDir, rootFile))
	case err != nil:
		return nil, err
	default:
		l.loadBundles(dataDir, root, now, logger)
	}
	l.state.Site = l.site
	pol, version, err := loadPolicy(dataDir, root, now, gate.SiteType(l.site.Type), logger)
	if err != nil {
		return nil, err
	}
	if version > 0 {
		l.state.Bundles[trust.KindPolicy] = pol.bundle
	}
	l.state.Policy = gate.PolicyEngine(pol.engine, version, siteID)
	return l, nil
}

func readRoot(dataDir string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, rootFile))
	if err != nil {
		return nil, err
	}
	root, err := trust.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("pinned root %s: %w", filepath.Join(dataDir, rootFile), err)
	}
	return root, nil
}

// loadBundles reads the trust, status and config bundles.
func (l *loaded) loadBundles(dataDir string, root crypto.PublicKey, now time.Time, logger *slog.Logger) {
	if data, err := os.ReadFile(bundlePath(dataDir, trust.KindTrust)); err != nil {
		logger.Warn("not enrolled: no trust bundle", "error", err)
	} else if store, info, err := trust.LoadTrustBundle(data, root, now, trust.State{}); err != nil {
		logger.Error("trust bundle refused: every person is referred to the guard", "error", err)
	} else {
		l.state.Verifier = verify.New(store)
		l.state.Enrolled = true
		l.state.Bundles[trust.KindTrust] = gate.BundleStateOf(info)
		l.centre = info.HPKE
		logger.Info("trust bundle loaded", "version", info.Version, "freshness", info.Freshness, "native_keys", info.Counts.NativeKeys, "dscs", info.Counts.DSCs, "shc_keys", info.Counts.SHCKeys)
	}
	if b, ok := openBundle(dataDir, trust.KindConfig, root, now, logger); ok {
		site, err := gate.ParseSiteSettings(b.Payload)
		if err != nil {
			logger.Error("config bundle refused: using the defaults", "error", err)
		} else {
			l.site = site
			l.state.Bundles[trust.KindConfig] = bundleState(b)
		}
	}
	if b, ok := openBundle(dataDir, trust.KindStatusBase, root, now, logger); ok {
		l.loadStatus(b, dataDir, root, now, logger)
	}
}

// openBundle reads and verifies the bundle of kind k; false when there is
// none or it is refused (logged).
func openBundle(dataDir string, k trust.Kind, root crypto.PublicKey, now time.Time, logger *slog.Logger) (*trust.Bundle, bool) {
	data, err := os.ReadFile(bundlePath(dataDir, k))
	if errors.Is(err, fs.ErrNotExist) {
		if k == trust.KindStatusDelta {
			// No change since the base: the normal case.
			logger.Debug("no bundle", "kind", k)
		} else {
			logger.Warn("no bundle", "kind", k)
		}
		return nil, false
	}
	if err != nil {
		logger.Error("bundle unreadable", "kind", k, "error", err)
		return nil, false
	}
	b, fresh, err := trust.OpenBundle(data, root, now, trust.State{})
	if err != nil {
		logger.Error("bundle refused", "kind", k, "error", err)
		return nil, false
	}
	if b.Kind != k {
		logger.Error("bundle refused", "kind", k, "error", trust.ErrWrongKind)
		return nil, false
	}
	logger.Info("bundle loaded", "kind", k, "version", b.Version, "freshness", fresh)
	return b, true
}

func bundleState(b *trust.Bundle) gate.BundleState {
	return gate.BundleState{Version: b.Version, IssuedAt: b.IssuedAt, FreshUntil: b.FreshUntil, GraceUntil: b.GraceUntil}
}

// policyState is a compiled policy with its bundle.
type policyState struct {
	engine *policy.Engine
	bundle gate.BundleState
}

// loadPolicy compiles the policy bundle, or the site type's default when
// there is none or it is refused.
func loadPolicy(dataDir string, root crypto.PublicKey, now time.Time, site gate.SiteType, logger *slog.Logger) (policyState, uint64, error) {
	if root != nil {
		if b, ok := openBundle(dataDir, trust.KindPolicy, root, now, logger); ok {
			pb, err := policy.ParseBundle(b.Payload)
			if err == nil {
				var e *policy.Engine
				if e, err = policy.New(pb, site); err == nil {
					return policyState{engine: e, bundle: bundleState(b)}, b.Version, nil
				}
			}
			logger.Error("policy bundle refused: using the site type's default policy", "error", err)
		}
	}
	e, err := policy.New(nil, site)
	if err != nil {
		return policyState{}, 0, fmt.Errorf("default policy for %s: %w", site, err)
	}
	return policyState{engine: e}, 0, nil
}
