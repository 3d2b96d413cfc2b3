package bundles

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
	"sentinel/sync/server"
)

// Errors of the repository.
var (
	// ErrPayload: the payload is not something a terminal could load;
	// nothing was published.
	ErrPayload = errors.New("bundles: payload refused, nothing was published")
	// ErrNoBase: a status delta needs a status base published first.
	ErrNoBase = errors.New("bundles: no status base is published: publish a base before a delta")
	// ErrIndex: the repository's index is damaged.
	ErrIndex = errors.New("bundles: damaged repository index")
)

// DefaultMaxChain is Options.MaxChain when 0.
const DefaultMaxChain = 1000

// Options configure a Repo.
type Options struct {
	// Dir holds the repository's files (created when missing).
	Dir string
	// Root is the operator root's public key: every bundle is opened
	// under it before it is published, as a terminal would. Publish
	// needs it; serving and listing do not.
	Root crypto.PublicKey
	// Now is the clock for issue times (time.Now when nil).
	Now func() time.Time
	// MaxChain bounds the status deltas kept after a base (DefaultMaxChain
	// when 0); a delta beyond it is refused: publish a new base.
	MaxChain int
	// Shared, when set, keeps the repository in a store that several
	// servers share (PostgreSQL) instead of Dir.
	Shared Shared
}

// Shared keeps a repository's files in a store that every central server
// on it reads, so that a bundle one server (or an ops command) publishes
// is the one every server hands out. pgstore.Store implements it.
type Shared interface {
	// LoadBundles returns every file of the repository by name (IndexFile
	// and the bundles it names) and the generation they were read at, in
	// one consistent read.
	LoadBundles(ctx context.Context) (map[string][]byte, int64, error)
	// BundleGeneration returns the generation, which every SaveBundles
	// raises: a server reads the files again when it moved.
	BundleGeneration(ctx context.Context) (int64, error)
	// SaveBundles writes the files of write and removes those of drop in
	// one transaction, and returns the new generation.
	SaveBundles(ctx context.Context, write map[string][]byte, drop []string) (int64, error)
	// LockBundles runs fn holding the repository's lock, which keeps
	// every other publisher on the store out (of every server), waiting
	// at most timeout for it.
	LockBundles(ctx context.Context, timeout time.Duration, fn func() error) error
}

// IndexFile is the repository's index, written last.
const IndexFile = "index.json"

// sharedTimeout bounds one read or write of a shared repository.
const sharedTimeout = 30 * time.Second

// Entry describes a published bundle.
type Entry struct {
	Kind       trust.Kind `json:"kind"`
	Version    uint64     `json:"version"`
	Base       uint64     `json:"base,omitempty"`
	IssuedAt   time.Time  `json:"issued_at"`
	FreshUntil time.Time  `json:"fresh_until"`
	GraceUntil time.Time  `json:"grace_until"`
	Digest     string     `json:"digest"`
	Size       int        `json:"size"`
	Signer     string     `json:"signer"`
}

type index struct {
	Kinds map[trust.Kind]Entry `json:"kinds"`         // trust, policy, config, status-base
	Chain []Entry              `json:"status_deltas"` // since the base, ascending
}

// Repo is the centre's bundle repository. Its methods are safe for
// concurrent use.
type Repo struct {
	opts Options

	mu    sync.Mutex
	idx   index
	files map[string][]byte // file name → bytes, as on disk
	gen   int64             // of a shared repository: the generation read
}

var _ server.BundleSource = (*Repo)(nil)

// Open opens (or creates) the repository in opts.Dir and reads its bundles.
func Open(opts Options) (*Repo, error) {
	if opts.Dir == "" && opts.Shared == nil {
		return nil, errors.New("bundles: open: Dir or Shared is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxChain <= 0 {
		opts.MaxChain = DefaultMaxChain
	}
	if opts.Shared != nil {
		return openShared(opts)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "status-delta"), 0o755); err != nil {
		return nil, fmt.Errorf("bundles: open: %w", err)
	}
	r := &Repo{opts: opts, idx: index{Kinds: map[trust.Kind]Entry{}}, files: map[string][]byte{}}
	data, err := os.ReadFile(filepath.Join(opts.Dir, IndexFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(filepath.Join(opts.Dir, ImportedIndex)); err == nil {
			return nil, fmt.Errorf("%w (%s): this centre keeps them in PostgreSQL; give the command --postgres URL", ErrMoved, filepath.Join(opts.Dir, ImportedIndex))
		}
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("bundles: open: %w", err)
	}
	if err := json.Unmarshal(data, &r.idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIndex, filepath.Join(opts.Dir, IndexFile), err)
	}
	if r.idx.Kinds == nil {
		r.idx.Kinds = map[trust.Kind]Entry{}
	}
	for _, n := range r.names() {
		b, err := os.ReadFile(filepath.Join(opts.Dir, filepath.FromSlash(n)))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrIndex, err)
		}
		r.files[n] = b
	}
	return r, nil
}

// openShared reads the repository from opts.Shared.
func openShared(opts Options) (*Repo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	files, gen, err := opts.Shared.LoadBundles(ctx)
	if err != nil {
		return nil, fmt.Errorf("bundles: open the shared repository: %w", err)
	}
	r := &Repo{opts: opts, idx: index{Kinds: map[trust.Kind]Entry{}}, files: map[string][]byte{}, gen: gen}
	data, ok := files[IndexFile]
	if !ok {
		return r, nil
	}
	if err := json.Unmarshal(data, &r.idx); err != nil {
		return nil, fmt.Errorf("%w: the shared repository's %s: %v", ErrIndex, IndexFile, err)
	}
	if r.idx.Kinds == nil {
		r.idx.Kinds = map[trust.Kind]Entry{}
	}
	for _, n := range r.names() {
		b, ok := files[n]
		if !ok {
			return nil, fmt.Errorf("%w: the shared repository's index names %s, which it lacks", ErrIndex, n)
		}
		r.files[n] = b
	}
	return r, nil
}

// names are the files the index names.
func (r *Repo) names() []string {
	var names []string
	for _, e := range r.idx.Kinds {
		names = append(names, fileName(e))
	}
	for _, e := range r.idx.Chain {
		names = append(names, fileName(e))
	}
	return names
}

// Generation is the shared store's generation the repository was read at
// or last wrote (0 for a directory).
func (r *Repo) Generation() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

// Files returns every file of the repository by name, the index
// included, as a shared store keeps them: to copy a directory into one.
func (r *Repo) Files() (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]byte, len(r.files)+1)
	for n, b := range r.files {
		out[filepath.ToSlash(n)] = b
	}
	if len(r.idx.Kinds) == 0 && len(r.idx.Chain) == 0 {
		return out, nil
	}
	ib, err := json.MarshalIndent(r.idx, "", "  ")
	if err != nil {
		return nil, err
	}
	out[IndexFile] = append(ib, '\n')
	return out, nil
}

// fileName is where e's bundle lives, relative to Dir.
func fileName(e Entry) string {
	if e.Kind == trust.KindStatusDelta {
		return "status-delta/" + fmt.Sprintf("%020d.bundle", e.Version)
	}
	return string(e.Kind) + ".bundle"
}

// statusVersion is the current status version: the last delta's, or the
// base's; 0 when there is no base.
func (r *Repo) statusVersion() uint64 {
	if n := len(r.idx.Chain); n > 0 {
		return r.idx.Chain[n-1].Version
	}
	return r.idx.Kinds[trust.KindStatusBase].Version
}

// revoked returns the delegations the current trust bundle revokes, so
// that the centre does not publish what its own trust bundle makes the
// terminals refuse.
func (r *Repo) revoked(now time.Time) []trust.KeyID {
	e, ok := r.idx.Kinds[trust.KindTrust]
	if !ok {
		return nil
	}
	b, _, err := trust.OpenBundle(r.files[fileName(e)], r.opts.Root, now, trust.State{})
	if err != nil {
		return nil // an expired delegation: terminals judge it themselves
	}
	c, err := trust.ParseTrustContent(b.Payload)
	if err != nil {
		return nil
	}
	return c.RevokedDelegations
}

// Check checks a payload of kind as a terminal would load it, without
// publishing: the messages name what to fix.
func Check(kind trust.Kind, payload []byte) error {
	var err error
	switch kind {
	case trust.KindPolicy:
		if err = policy.Compile(payload); err != nil {
			return fmt.Errorf("%w: the policy does not compile for the terminals: %w", ErrPayload, err)
		}
	case trust.KindConfig:
		s, err := siteconfig.Parse(payload)
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			return fmt.Errorf("%w: the site settings are not valid: %w", ErrPayload, err)
		}
	case trust.KindStatusBase:
		if _, err = status.ParseBase(payload); err != nil {
			return fmt.Errorf("%w: not a status base: %w", ErrPayload, err)
		}
	case trust.KindStatusDelta:
		if _, err = status.ParseDelta(payload); err != nil {
			return fmt.Errorf("%w: not a status delta: %w", ErrPayload, err)
		}
	case trust.KindTrust:
		// Checked once sealed, by loading it (Publish).
	default:
		return fmt.Errorf("%w: unknown bundle kind %q: want trust, status-base, status-delta, policy or config", ErrPayload, kind)
	}
	return nil
}

// Publish signs payload as the next bundle of kind with signer (and d, its
// delegation from the operator root; nil when signer is the root), fresh
// for fresh and usable in grace for grace after now, and makes it the
// current bundle of its kind. A status-delta applies to the current status
// version. Nothing is written when any check fails.
func (r *Repo) Publish(kind trust.Kind, payload []byte, signer crypto.Signer, d *trust.Delegation, fresh, grace time.Duration) (Entry, error) {
	if err := Check(kind, payload); err != nil {
		return Entry{}, err
	}
	if r.opts.Root == nil {
		return Entry{}, errors.New("bundles: publish: the operator root's public key is required to check what is published")
	}
	if fresh <= 0 || grace < fresh {
		return Entry{}, fmt.Errorf("bundles: publish %s: fresh %v and grace %v: want 0 < fresh ≤ grace", kind, fresh, grace)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now().UTC().Truncate(time.Second)
	b := trust.Bundle{Kind: kind, IssuedAt: now, FreshUntil: now.Add(fresh), GraceUntil: now.Add(grace), Payload: payload}
	switch kind {
	case trust.KindStatusBase:
		b.Version = r.statusVersion() + 1
	case trust.KindStatusDelta:
		if _, ok := r.idx.Kinds[trust.KindStatusBase]; !ok {
			return Entry{}, ErrNoBase
		}
		if len(r.idx.Chain) >= r.opts.MaxChain {
			return Entry{}, fmt.Errorf("bundles: publish status-delta: %d deltas since the base: publish a new status base", len(r.idx.Chain))
		}
		b.Base = r.statusVersion()
		b.Version = b.Base + 1
	default:
		b.Version = r.idx.Kinds[kind].Version + 1
	}
	data, err := trust.SealBundle(signer, d, b)
	if err != nil {
		return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
	}
	// Open it as a terminal would, so that the centre never publishes a
	// bundle the terminals refuse.
	var (
		digest [32]byte
		signed trust.KeyID
	)
	if kind == trust.KindTrust {
		_, info, err := trust.LoadTrustBundle(data, r.opts.Root, now, trust.State{})
		if err != nil {
			return Entry{}, fmt.Errorf("%w: the trust bundle does not load: %w", ErrPayload, err)
		}
		digest, signed = info.Digest, info.Signer
	} else {
		ob, _, err := trust.OpenBundle(data, r.opts.Root, now, trust.State{Revoked: r.revoked(now)})
		if err != nil {
			return Entry{}, fmt.Errorf("bundles: publish %s: terminals would refuse the signed bundle: %w", kind, err)
		}
		digest, signed = ob.Digest, ob.Signer
	}
	e := Entry{Kind: kind, Version: b.Version, Base: b.Base, IssuedAt: b.IssuedAt, FreshUntil: b.FreshUntil,
		GraceUntil: b.GraceUntil, Digest: hex.EncodeToString(digest[:]), Size: len(data), Signer: signed.String()}

	next := index{Kinds: make(map[trust.Kind]Entry, len(r.idx.Kinds)+1), Chain: r.idx.Chain}
	for k, v := range r.idx.Kinds {
		next.Kinds[k] = v
	}
	var drop []string
	switch kind {
	case trust.KindStatusDelta:
		next.Chain = append(r.idx.Chain[:len(r.idx.Chain):len(r.idx.Chain)], e)
	case trust.KindStatusBase:
		for _, c := range r.idx.Chain {
			drop = append(drop, fileName(c))
		}
		next.Chain = nil
		next.Kinds[kind] = e
	default:
		next.Kinds[kind] = e
	}
	name := fileName(e)
	ib, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
	}
	ib = append(ib, '\n')
	if sh := r.opts.Shared; sh != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		gen, err := sh.SaveBundles(ctx, map[string][]byte{name: data, IndexFile: ib}, drop)
		if err != nil {
			return Entry{}, fmt.Errorf("bundles: publish %s into the shared repository: %w", kind, err)
		}
		r.gen = gen
	} else {
		if err := atomicfile.WriteFile(filepath.Join(r.opts.Dir, filepath.FromSlash(name)), data, 0o644); err != nil {
			return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(r.opts.Dir, IndexFile), ib, 0o644); err != nil {
			return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
		}
	}
	r.idx = next
	r.files[name] = data
	for _, n := range drop {
		delete(r.files, n)
		if r.opts.Shared == nil {
			os.Remove(filepath.Join(r.opts.Dir, filepath.FromSlash(n))) // the index no longer names it
		}
	}
	return e, nil
}

// List returns every published bundle: trust, policy, config and the
// status base by kind, then the status deltas in order.
func (r *Repo) List() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	for _, e := range r.idx.Kinds {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return append(out, r.idx.Chain...)
}

func (r *Repo) published(e Entry) *server.Published {
	p := &server.Published{Kind: e.Kind, Version: e.Version, Base: e.Base, Data: r.files[fileName(e)]}
	hex.Decode(p.Digest[:], []byte(e.Digest))
	return p
}

// Latest implements server.BundleSource.
func (r *Repo) Latest(kind trust.Kind) (*server.Published, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == trust.KindStatusDelta {
		if n := len(r.idx.Chain); n > 0 {
			return r.published(r.idx.Chain[n-1]), nil
		}
		return nil, nil
	}
	e, ok := r.idx.Kinds[kind]
	if !ok {
		return nil, nil
	}
	return r.published(e), nil
}

// StatusSince implements server.BundleSource.
func (r *Repo) StatusSince(v uint64) ([]*server.Published, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	base, ok := r.idx.Kinds[trust.KindStatusBase]
	if !ok || v == r.statusVersion() {
		return nil, nil
	}
	var out []*server.Published
	if v < base.Version || v > r.statusVersion() {
		out = append(out, r.published(base))
		v = base.Version
	}
	for _, e := range r.idx.Chain {
		if e.Version > v {
			out = append(out, r.published(e))
		}
	}
	return out, nil
}
