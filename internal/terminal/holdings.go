package terminal

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sentinel/crypto/trust"
	"sentinel/crypto/verify"
	"sentinel/internal/gate"
	"sentinel/internal/policy"
	"sentinel/internal/status"
	"sentinel/sync/client"
	"sentinel/sync/protocol"
)

// holdings is what the daemon holds of its pinned root and its bundles,
// part by part: the trust bundle's verifier, the site settings, the
// compiled policy and the status list; the gate's State is built from the
// parts. A change replaces its own part and installs a new State; the
// other parts are not read again.
//
// Bundles arrive two ways:
//
//   - From the sync downloader, through onBundle, once verified and
//     before the downloader writes them. Each replaces its part in memory:
//     a status delta is applied to a clone of the list, which is installed
//     in one step with the delta's freshness. A bundle the terminal cannot
//     use is refused: its part stays as it was, the error is logged in
//     words, and the downloader does not write it either, so that a
//     restart finds what was in force.
//   - From the data directory: at start (load), and when another process
//     writes a file (enrolment, an installer dropping a bundle): poll
//     stats the files and reads only those whose size or time changed; a
//     file that holds the version and digest already held (what the
//     downloader wrote after onBundle) costs that one read. The pinned
//     root changing, or the clock becoming trusted (a bundle is refused on
//     a clock that booted in 1970), loads everything again.
//
// The status list, base and delta chain, is read from the data directory
// at start, when the base file changes under the daemon, and to close a
// gap: a delta whose base is not the version the list holds (the list
// missed a delta, or stopped short of the chain at start) makes the daemon
// read base and chain from the disk once more, since the downloader writes
// every delta it delivers. When the delta still does not follow, onBundle
// refuses it with client.ErrNeedBase and the downloader asks the centre
// for its status base and chain again.
type holdings struct {
	dataDir, siteID string
	logger          *slog.Logger
	// now is the terminal's clock and whether it is trusted.
	now func() (time.Time, bool)
	// read reads a file (os.ReadFile); loadStatus reads the status base
	// and its delta chain (client.LoadStatus). Tests count them.
	read       func(name string) ([]byte, error)
	loadStatus func(dataDir string, root crypto.PublicKey, now time.Time, a client.StatusApplier) (uint64, error)

	mu sync.Mutex
	// install is called with the new state after every change (nil:
	// none); set it with setInstall.
	install func(*loaded)
	root    crypto.PublicKey
	trusted bool            // the clock was trusted at the last full load
	marks   map[string]mark // by file name under dataDir
	trust   trustPart
	config  configPart
	policy  policyPart
	status  statusPart
}

// mark is what the daemon last saw of a file and what it holds from it.
type mark struct {
	stamp   fileStamp
	version uint64 // 0: nothing held from this file
	digest  [32]byte
}

// fileStamp is what stat says of a file; equal stamps mean an unchanged
// file (the downloader and enrolment replace files by renaming).
type fileStamp struct {
	exists bool
	size   int64
	mod    int64 // UnixNano
}

type trustPart struct {
	info     *trust.BundleInfo // nil: no trust bundle in force
	verifier gate.Verifier
}

type configPart struct {
	bundle *trust.Bundle // nil: the defaults
	site   *gate.SiteSettings
}

type policyPart struct {
	bundle *trust.Bundle  // the policy bundle held, nil when none
	parsed *policy.Bundle // its rules, nil when none or unparsable
	engine *policy.Engine // the rules in force: parsed, or the site type's default
	inUse  bool           // engine runs parsed (not the default)
}

type statusPart struct {
	list        *status.List  // nil: no status list
	base, delta *trust.Bundle // without their payloads (headerOf)
}

// headerOf returns b without its payload. The status part keeps its
// bundles for their versions and times only, and a base's payload, once
// applied, is dead weight as large as half the list (24 MB at 7 M
// entries).
func headerOf(b *trust.Bundle) *trust.Bundle {
	c := *b
	c.Payload = nil
	return &c
}

// loaded is the state built from the holdings.
type loaded struct {
	state  *gate.State
	site   *gate.SiteSettings
	centre *trust.HPKEPublicKey // the centre's journal key, nil when not enrolled
}

func newHoldings(dataDir, siteID string, now func() (time.Time, bool), logger *slog.Logger) *holdings {
	return &holdings{
		dataDir: dataDir, siteID: siteID, logger: logger, now: now,
		read: os.ReadFile, loadStatus: client.LoadStatus,
		marks: map[string]mark{},
	}
}

// loadState builds the gate's State from the pinned root and the bundles
// in dataDir at now. A missing or refused bundle is not an error: its kind
// is blocked and policy sees it. siteID is what the rules see as site.id.
func loadState(dataDir, siteID string, now time.Time, logger *slog.Logger) (*loaded, error) {
	return newHoldings(dataDir, siteID, func() (time.Time, bool) { return now, true }, logger).load()
}

// setInstall sets what is called with every new state.
func (h *holdings) setInstall(f func(*loaded)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.install = f
}

// load reads the root and every bundle from the data directory, as at
// start.
func (h *holdings) load() (*loaded, error) {
	now, trusted := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.loadAll(now, trusted); err != nil {
		return nil, err
	}
	return h.built(), nil
}

// bundleName is where the bundle of kind k lives under the data directory.
func bundleName(k trust.Kind) string { return filepath.Join(bundleDir, string(k)+".bundle") }

func (h *holdings) stat(name string) fileStamp {
	fi, err := os.Stat(filepath.Join(h.dataDir, name))
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

// loadAll reads everything from the data directory. Only a root that
// cannot be read is an error; then nothing changes.
func (h *holdings) loadAll(now time.Time, trusted bool) error {
	stamp := h.stat(rootFile)
	root, err := h.readRoot()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.logger.Warn("not enrolled: no pinned operator root; every person is referred to the guard", "path", filepath.Join(h.dataDir, rootFile))
		root = nil
	case err != nil:
		return err
	}
	h.root, h.trusted = root, trusted
	h.marks = map[string]mark{rootFile: {stamp: stamp}}
	h.trust, h.config, h.status = trustPart{}, configPart{site: gate.DefaultSiteSettings(gate.Custom)}, statusPart{}
	h.policy = policyPart{}
	if root != nil {
		h.loadTrustFile(now)
		h.loadConfigFile(now)
		h.loadStatusFiles(now)
		h.loadPolicyFile(now)
	} else {
		h.compilePolicy()
	}
	if h.policy.engine == nil {
		return fmt.Errorf("default policy for %s: no engine", h.config.site.Type)
	}
	return nil
}

func (h *holdings) readRoot() (crypto.PublicKey, error) {
	data, err := h.read(filepath.Join(h.dataDir, rootFile))
	if err != nil {
		return nil, err
	}
	root, err := trust.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("pinned root %s: %w", filepath.Join(h.dataDir, rootFile), err)
	}
	return root, nil
}

// readRoot reads the pinned root of dataDir.
func readRoot(dataDir string) (crypto.PublicKey, error) {
	return (&holdings{dataDir: dataDir, read: os.ReadFile}).readRoot()
}

// openFile reads and verifies the bundle file of kind k; nil when there is
// none or it is refused (logged). The file's mark records its stamp,
// taken before the read, and nothing held yet.
func (h *holdings) openFile(k trust.Kind, now time.Time) (*trust.Bundle, []byte) {
	name := bundleName(k)
	h.marks[name] = mark{stamp: h.stat(name)}
	data, err := h.read(filepath.Join(h.dataDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		if k == trust.KindStatusDelta {
			h.logger.Debug("no bundle", "kind", k) // no change since the base: the normal case
		} else {
			h.logger.Warn("no bundle", "kind", k)
		}
		return nil, nil
	}
	if err != nil {
		h.logger.Error("bundle unreadable", "kind", k, "error", err)
		return nil, nil
	}
	b, fresh, err := trust.OpenBundle(data, h.root, now, trust.State{})
	if err == nil && b.Kind != k {
		err = fmt.Errorf("%w: got %s", trust.ErrWrongKind, b.Kind)
	}
	if err != nil {
		h.logger.Error("bundle refused", "kind", k, "error", err)
		return nil, data
	}
	h.logger.Info("bundle loaded", "kind", k, "version", b.Version, "freshness", fresh)
	return b, data
}

// hold records that the part of b's kind holds b.
func (h *holdings) hold(b *trust.Bundle) {
	name := bundleName(b.Kind)
	m := h.marks[name]
	m.version, m.digest = b.Version, b.Digest
	h.marks[name] = m
}

// held says whether the part of b's kind holds b already.
func (h *holdings) held(b *trust.Bundle) bool {
	m := h.marks[bundleName(b.Kind)]
	return m.version == b.Version && m.digest == b.Digest
}

func (h *holdings) loadTrustFile(now time.Time) {
	name := bundleName(trust.KindTrust)
	h.trust = trustPart{}
	h.marks[name] = mark{stamp: h.stat(name)}
	data, err := h.read(filepath.Join(h.dataDir, name))
	if err != nil {
		h.logger.Warn("not enrolled: no trust bundle", "error", err)
		return
	}
	if err := h.takeTrust(data, now); err != nil {
		h.logger.Error("trust bundle refused: every person is referred to the guard", "error", err)
	}
}

// takeTrust makes the trust bundle data the trust part.
func (h *holdings) takeTrust(data []byte, now time.Time) error {
	store, info, err := trust.LoadTrustBundle(data, h.root, now, trust.State{})
	if err != nil {
		return err
	}
	h.trust = trustPart{info: info, verifier: verify.New(store)}
	name := bundleName(trust.KindTrust)
	m := h.marks[name]
	m.version, m.digest = info.Version, info.Digest
	h.marks[name] = m
	h.logger.Info("trust bundle loaded", "version", info.Version, "freshness", info.Freshness, "native_keys", info.Counts.NativeKeys, "dscs", info.Counts.DSCs, "shc_keys", info.Counts.SHCKeys, "value_sets", info.Counts.ValueSets)
	if info.Counts.DSCs > 0 && info.Counts.ValueSets == 0 {
		h.logger.Warn("the trust bundle carries no EU value sets: the codes of EU certificates are not checked against them (publish them with sentinel-central bundles publish valuesets DIR)")
	}
	return nil
}

func (h *holdings) loadConfigFile(now time.Time) {
	was := h.config.site.Type
	h.config = configPart{site: gate.DefaultSiteSettings(gate.Custom)}
	if b, _ := h.openFile(trust.KindConfig, now); b != nil {
		if err := h.takeConfig(b); err != nil {
			h.logger.Error("config bundle refused: using the defaults", "error", err)
		}
	}
	if h.config.site.Type != was && h.policy.engine != nil {
		h.compilePolicy()
	}
}

// takeConfig makes the config bundle b the site settings; the caller
// compiles the policy again when the site type changed.
func (h *holdings) takeConfig(b *trust.Bundle) error {
	site, err := gate.ParseSiteSettings(b.Payload)
	if err != nil {
		return err
	}
	h.config = configPart{bundle: b, site: site}
	h.hold(b)
	return nil
}

func (h *holdings) loadPolicyFile(now time.Time) {
	h.policy = policyPart{}
	if b, _ := h.openFile(trust.KindPolicy, now); b != nil {
		pb, err := policy.ParseBundle(b.Payload)
		if err != nil {
			h.logger.Error("policy bundle refused: using the site type's default policy", "error", err)
		} else {
			h.policy = policyPart{bundle: b, parsed: pb}
			h.hold(b)
		}
	}
	h.compilePolicy()
}

// takePolicy makes the policy bundle b the rules in force; an error when
// they do not parse or compile for the site type.
func (h *holdings) takePolicy(b *trust.Bundle) error {
	pb, err := policy.ParseBundle(b.Payload)
	if err != nil {
		return err
	}
	e, err := policy.New(pb, gate.SiteType(h.config.site.Type))
	if err != nil {
		return err
	}
	h.policy = policyPart{bundle: b, parsed: pb, engine: e, inUse: true}
	h.hold(b)
	h.logEURules(e)
	return nil
}

// logEURules says which EU business rules the policy enforces.
func (h *holdings) logEURules(e *policy.Engine) {
	if country, n := e.EURules(); n > 0 {
		h.logger.Info("policy enforces EU business rules on EU DCCs", "country", country, "rules", n)
	}
}

// compilePolicy compiles the held rules for the site type, or the site
// type's default when there are none or they do not compile.
func (h *holdings) compilePolicy() {
	site := gate.SiteType(h.config.site.Type)
	h.policy.engine, h.policy.inUse = nil, false
	if h.policy.parsed != nil {
		e, err := policy.New(h.policy.parsed, site)
		if err == nil {
			h.policy.engine, h.policy.inUse = e, true
			h.logEURules(e)
			return
		}
		h.logger.Error("policy bundle refused: using the site type's default policy", "error", err)
	}
	e, err := policy.New(nil, site)
	if err != nil {
		h.logger.Error("default policy does not compile", "site", site, "error", err)
		return
	}
	h.policy.engine = e
}

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
	r.base, r.delta = headerOf(b), nil
	return nil
}

func (r *statusRecorder) ApplyDelta(b *trust.Bundle) error {
	if err := r.List.ApplyDelta(b); err != nil {
		return err
	}
	r.delta = headerOf(b)
	return nil
}

// loadStatusFiles reads the status list from the data directory: the base
// and every delta of the chain the downloader keeps (client.LoadStatus),
// in version order.
func (h *holdings) loadStatusFiles(now time.Time) {
	baseName, deltaName := bundleName(trust.KindStatusBase), bundleName(trust.KindStatusDelta)
	h.marks[baseName] = mark{stamp: h.stat(baseName)}
	h.marks[deltaName] = mark{stamp: h.stat(deltaName)}
	h.status = statusPart{}
	list, err := status.New(status.Options{})
	if err != nil {
		h.logger.Error("status list", "error", err)
		return
	}
	rec := &statusRecorder{List: list}
	version, err := h.loadStatus(h.dataDir, h.root, now, rec)
	switch {
	case rec.base == nil && err == nil:
		h.logger.Warn("no bundle", "kind", trust.KindStatusBase)
		return
	case rec.base == nil:
		h.logger.Error("bundle refused", "kind", trust.KindStatusBase, "error", err)
		return
	case err != nil:
		h.logger.Error("status deltas refused; the list stops at the last good one", "version", version, "error", err)
	}
	h.status = statusPart{list: list, base: rec.base, delta: rec.delta}
	h.hold(rec.base)
	if rec.delta != nil {
		h.hold(rec.delta)
	}
	h.logger.Info("status list loaded", "version", version, "counts", list.Counts())
}

// statusVersion is the version the status list holds.
func (h *holdings) statusVersion() (uint64, bool) {
	if h.status.list == nil {
		return 0, false
	}
	return h.status.list.Version()
}

// takeBase makes the status base b the status list.
func (h *holdings) takeBase(b *trust.Bundle) error {
	if v, ok := h.statusVersion(); ok && v == b.Version && h.held(b) {
		return nil // the same base, no delta since
	}
	list, err := status.New(status.Options{})
	if err != nil {
		return err
	}
	if err := list.ApplyBase(b); err != nil {
		return err
	}
	h.status = statusPart{list: list, base: headerOf(b)}
	h.hold(b)
	h.marks[bundleName(trust.KindStatusDelta)] = mark{stamp: h.marks[bundleName(trust.KindStatusDelta)].stamp}
	h.logger.Info("status list loaded", "version", b.Version, "counts", list.Counts())
	return nil
}

// takeDelta applies the status delta b to the list held; a gap reads the
// list from the data directory once (see holdings).
func (h *holdings) takeDelta(b *trust.Bundle, now time.Time) error {
	have, ok := h.statusVersion()
	if ok && have == b.Version && h.held(b) {
		return nil
	}
	if !ok || b.Base != have {
		h.logger.Warn("a status update does not follow the status list held: reading the list again from the data directory",
			"update", b.Version, "applies_to", b.Base, "held", have)
		h.loadStatusFiles(now)
		have, ok = h.statusVersion()
		if ok && have == b.Version && h.held(b) {
			return nil
		}
		if !ok || b.Base != have {
			return fmt.Errorf("status update v%d applies to v%d, the terminal holds v%d: %w", b.Version, b.Base, have, client.ErrNeedBase)
		}
	}
	next := h.status.list.Clone()
	if err := next.ApplyDelta(b); err != nil {
		return fmt.Errorf("status update v%d: %w", b.Version, err)
	}
	h.status.list, h.status.delta = next, headerOf(b)
	h.hold(b)
	h.logger.Info("status update applied", "version", b.Version)
	return nil
}

// refusal is how the daemon says that it refused a bundle of kind k.
func refusal(k trust.Kind) string {
	switch k {
	case trust.KindTrust:
		return "a trust bundle from the centre was refused: the terminal keeps the keys it had"
	case trust.KindConfig:
		return "site settings from the centre were refused: the terminal keeps the settings it had"
	case trust.KindPolicy:
		return "rules from the centre were refused: the terminal keeps the rules it had"
	case trust.KindStatusBase:
		return "a status list from the centre was refused: the terminal keeps the list it had"
	default:
		return "a status update from the centre was refused: the terminal keeps deciding with the status list it had"
	}
}

// onBundle takes a bundle the downloader verified, before it is written
// (client.DownloadOptions.OnBundle): it replaces its part and the new
// state is installed. An error refuses it; the part stays as it was.
func (h *holdings) onBundle(b *trust.Bundle, data []byte) error {
	now, trusted := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := h.catchUp(now, trusted)
	var err error
	switch {
	case b.Kind != trust.KindStatusBase && b.Kind != trust.KindStatusDelta && h.held(b):
	case h.root == nil:
		err = errors.New("no pinned operator root")
	case b.Kind == trust.KindTrust:
		err = h.takeTrust(data, now)
		changed = changed || err == nil
	case b.Kind == trust.KindConfig:
		was := h.config.site.Type
		if err = h.takeConfig(b); err == nil && h.config.site.Type != was {
			h.compilePolicy()
		}
		changed = changed || err == nil
	case b.Kind == trust.KindPolicy:
		err = h.takePolicy(b)
		changed = changed || err == nil
	case b.Kind == trust.KindStatusBase:
		err = h.takeBase(b)
		changed = true
	case b.Kind == trust.KindStatusDelta:
		err = h.takeDelta(b, now)
		changed = true
	default:
		err = fmt.Errorf("%w: %s", trust.ErrWrongKind, b.Kind)
	}
	if err != nil {
		h.logger.Error(refusal(b.Kind), "kind", b.Kind, "version", b.Version, "error", err)
	}
	if changed {
		h.installBuilt()
	}
	return err
}

// written notes that the downloader wrote the bundle of kind k at version
// (client.DownloadOptions.Installed): the file holds what the part holds,
// so a poll need not read it.
func (h *holdings) written(k trust.Kind, version uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := []string{bundleName(k)}
	if k == trust.KindStatusBase {
		names = append(names, bundleName(trust.KindStatusDelta)) // removed with the old chain
	}
	for i, name := range names {
		m := h.marks[name]
		if i == 0 && m.version != version || i > 0 && m.version != 0 {
			continue
		}
		m.stamp = h.stat(name)
		h.marks[name] = m
	}
}

// catchUp loads everything again when the pinned root changed or the
// clock's trust did; it says whether it did.
func (h *holdings) catchUp(now time.Time, trusted bool) bool {
	if trusted == h.trusted && h.stat(rootFile) == h.marks[rootFile].stamp {
		return false
	}
	h.logger.Info("the pinned root or the clock's trust changed: reading every bundle again", "clock_trusted", trusted)
	if err := h.loadAll(now, trusted); err != nil {
		h.trusted = trusted
		m := h.marks[rootFile]
		m.stamp = h.stat(rootFile)
		h.marks[rootFile] = m
		h.logger.Error("bundles not reloaded", "error", err)
		return false
	}
	return true
}

// poll looks for files that another process wrote (see holdings) and
// installs a new state when a part changed.
func (h *holdings) poll() {
	now, trusted := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.catchUp(now, trusted) {
		h.installBuilt()
		return
	}
	if h.root == nil {
		return // no bundle verifies without a root; a root's arrival reads them all
	}
	changed := false
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindConfig, trust.KindPolicy, trust.KindStatusBase, trust.KindStatusDelta} {
		name := bundleName(k)
		m := h.marks[name]
		st := h.stat(name)
		if st == m.stamp {
			continue
		}
		if h.sameOnDisk(name, m, now) {
			m.stamp = st
			h.marks[name] = m
			continue
		}
		h.logger.Info("a bundle file changed in the data directory: loading it", "kind", k)
		changed = true
		switch k {
		case trust.KindTrust:
			h.loadTrustFile(now)
		case trust.KindConfig:
			h.loadConfigFile(now)
		case trust.KindPolicy:
			h.loadPolicyFile(now)
		case trust.KindStatusBase:
			h.loadStatusFiles(now)
		case trust.KindStatusDelta:
			h.loadDeltaFile(now)
		}
	}
	if changed {
		h.installBuilt()
	}
}

// sameOnDisk says whether the file name holds what m says is held.
func (h *holdings) sameOnDisk(name string, m mark, now time.Time) bool {
	data, err := h.read(filepath.Join(h.dataDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return m.version == 0
	}
	if err != nil {
		return false
	}
	b, _, err := trust.OpenBundle(data, h.root, now, trust.State{})
	if err != nil {
		return m.version == 0
	}
	return b.Version == m.version && b.Digest == m.digest
}

// loadDeltaFile applies a status delta that another process wrote, when
// it follows the list held; else it reads the whole list again.
func (h *holdings) loadDeltaFile(now time.Time) {
	b, _ := h.openFile(trust.KindStatusDelta, now)
	if have, ok := h.statusVersion(); b != nil && ok && b.Base == have {
		next := h.status.list.Clone()
		if err := next.ApplyDelta(b); err == nil {
			h.status.list, h.status.delta = next, headerOf(b)
			h.hold(b)
			return
		}
	}
	h.loadStatusFiles(now)
}

// built returns the state built from the parts.
func (h *holdings) built() *loaded {
	st := &gate.State{Bundles: map[trust.Kind]gate.BundleState{}, Site: h.config.site}
	l := &loaded{state: st, site: h.config.site}
	if i := h.trust.info; i != nil {
		st.Verifier, st.Enrolled = h.trust.verifier, true
		st.Bundles[trust.KindTrust] = gate.BundleStateOf(i)
		l.centre = i.HPKE
	}
	if h.config.bundle != nil {
		st.Bundles[trust.KindConfig] = bundleState(h.config.bundle)
	}
	var version uint64
	if h.policy.inUse {
		version = h.policy.bundle.Version
		ps := bundleState(h.policy.bundle)
		ps.EURules = h.policy.engine.EURulesSummary()
		st.Bundles[trust.KindPolicy] = ps
	}
	st.Policy = gate.PolicyEngine(h.policy.engine, version, h.siteID)
	if h.status.list != nil {
		st.Status = gate.StatusList(h.status.list)
		st.Bundles[trust.KindStatusBase] = bundleState(h.status.base)
		if h.status.delta != nil {
			st.Bundles[trust.KindStatusDelta] = bundleState(h.status.delta)
		}
	}
	return l
}

func (h *holdings) installBuilt() {
	if h.install != nil {
		h.install(h.built())
	}
}

// health reports the bundles in force, for the centre's health report.
func (h *holdings) health(now time.Time) []protocol.BundleHealth {
	h.mu.Lock()
	st := h.built().state
	h.mu.Unlock()
	var out []protocol.BundleHealth
	for _, k := range trust.Kinds() {
		if b, ok := st.Bundles[k]; ok && b.Version > 0 {
			out = append(out, protocol.BundleHealth{Kind: string(k), Version: b.Version, Freshness: b.Freshness(now).String()})
		}
	}
	return out
}

func bundleState(b *trust.Bundle) gate.BundleState {
	return gate.BundleState{Version: b.Version, IssuedAt: b.IssuedAt, FreshUntil: b.FreshUntil, GraceUntil: b.GraceUntil}
}
