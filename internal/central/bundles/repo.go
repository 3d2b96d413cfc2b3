package bundles

import (
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
}

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
}

var _ server.BundleSource = (*Repo)(nil)

// Open opens (or creates) the repository in opts.Dir and reads its bundles.
func Open(opts Options) (*Repo, error) {
	if opts.Dir == "" {
		return nil, errors.New("bundles: open: Dir is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxChain <= 0 {
		opts.MaxChain = DefaultMaxChain
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "status-delta"), 0o755); err != nil {
		return nil, fmt.Errorf("bundles: open: %w", err)
	}
	r := &Repo{opts: opts, idx: index{Kinds: map[trust.Kind]Entry{}}, files: map[string][]byte{}}
	data, err := os.ReadFile(filepath.Join(opts.Dir, "index.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("bundles: open: %w", err)
	}
	if err := json.Unmarshal(data, &r.idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIndex, filepath.Join(opts.Dir, "index.json"), err)
	}
	if r.idx.Kinds == nil {
		r.idx.Kinds = map[trust.Kind]Entry{}
	}
	var names []string
	for _, e := range r.idx.Kinds {
		names = append(names, fileName(e))
	}
	for _, e := range r.idx.Chain {
		names = append(names, fileName(e))
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(opts.Dir, n))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrIndex, err)
		}
		r.files[n] = b
	}
	return r, nil
}

// fileName is where e's bundle lives, relative to Dir.
func fileName(e Entry) string {
	if e.Kind == trust.KindStatusDelta {
		return filepath.Join("status-delta", fmt.Sprintf("%020d.bundle", e.Version))
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
	if err := atomicfile.WriteFile(filepath.Join(r.opts.Dir, name), data, 0o644); err != nil {
		return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
	}
	ib, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(r.opts.Dir, "index.json"), append(ib, '\n'), 0o644); err != nil {
		return Entry{}, fmt.Errorf("bundles: publish %s: %w", kind, err)
	}
	r.idx = next
	r.files[name] = data
	for _, n := range drop {
		delete(r.files, n)
		os.Remove(filepath.Join(r.opts.Dir, n)) // the index no longer names it
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
