package statuspub

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/status"
)

// Files of the centre's data directory that a Publisher uses.
const (
	// BundlesDir is the bundle repository.
	BundlesDir = "bundles"
	// LockFile serialises the publishers of one data directory.
	LockFile = "bundles.lock"
)

// DefaultTimeout bounds the wait for another process publishing into the
// same data directory.
const DefaultTimeout = 5 * time.Second

// MaxFutureEffective bounds how far ahead an effective time may lie: a
// terminal keeps entries by their effective time, and entries dated far in
// the future break its layout (see internal/status).
const MaxFutureEffective = 5 * time.Minute

// DefaultRevocationLife is how long an EU DCC revocation lasts when it is
// given no end: no EU DCC is valid for longer.
const DefaultRevocationLife = 365 * 24 * time.Hour

// ErrInvalid is wrapped by the refusal of a change before anything is
// recorded or published: a holder, status or time that a terminal would
// refuse or misread.
var ErrInvalid = errors.New("statuspub: invalid change")

// Signer is the online signing key that signs status bundles and how long
// they stay fresh and usable in grace.
type Signer struct {
	// Key signs; Delegation is its delegation from the operator root (nil
	// when Key is the root itself).
	Key        crypto.Signer
	Delegation *trust.Delegation
	// Fresh and Grace count from the issue time; 0 < Fresh ≤ Grace.
	Fresh, Grace time.Duration
}

// Publisher publishes status changes from the status part of a central
// store into the bundle repository of one data directory.
type Publisher struct {
	// Store keeps the statuses (required for publishing; Locked alone
	// does not need it).
	Store central.StatusStore
	// DataDir holds BundlesDir and LockFile (required).
	DataDir string
	// Root is the operator root's public key: the repository opens every
	// bundle under it before publishing (required).
	Root crypto.PublicKey
	// Signer signs (required for publishing).
	Signer Signer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxChain is the number of deltas after which a change publishes a
	// new base instead (bundles.DefaultMaxChain when 0).
	MaxChain int
	// Timeout bounds the wait for another process publishing into the
	// same data directory (DefaultTimeout when 0).
	Timeout time.Duration
	// Shared keeps the repository in a store every server shares instead
	// of DataDir; nil means Store when it is one (pgstore), else DataDir.
	// A shared repository that is empty imports DataDir's once.
	Shared bundles.Shared
}

// shared is the store that keeps the repository, nil for DataDir.
func (p *Publisher) shared() bundles.Shared {
	if p.Shared != nil {
		return p.Shared
	}
	sh, _ := p.Store.(bundles.Shared)
	return sh
}

// Result says what was published.
type Result struct {
	Bundle bundles.Entry `json:"bundle"`
	// Entry is the entry SetStatus recorded, Previous the one it
	// replaced; nil otherwise.
	Entry    *central.StatusEntry `json:"record,omitempty"`
	Previous *central.StatusEntry `json:"previous,omitempty"`
	// Revoked are the identifiers Revoke recorded.
	Revoked []string `json:"revoked,omitempty"`
	// Why a base rather than a delta; empty for a delta.
	Why string `json:"why"`
	// Took is how long the publishing transaction took.
	Took time.Duration `json:"-"`
}

// Change applies a change in the store's transaction and adds it to the
// delta's builder.
type Change func(ctx context.Context, tx central.StatusTx, delta *status.Builder) error

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Chain describes the repository's status chain.
type Chain struct {
	Version uint64        // the current status version (0: none)
	Base    bundles.Entry // the base; Version 0 when none is published
	Deltas  []bundles.Entry
}

// Newest is the newest signed statement of the status list: the last
// delta, or the base when the chain is empty. A terminal judges the list's
// freshness on it.
func (c Chain) Newest() bundles.Entry {
	if n := len(c.Deltas); n > 0 {
		return c.Deltas[n-1]
	}
	return c.Base
}

// ChainOf reads the status chain of repo.
func ChainOf(repo *bundles.Repo) Chain {
	var c Chain
	for _, e := range repo.List() {
		switch e.Kind {
		case trust.KindStatusBase:
			c.Base = e
		case trust.KindStatusDelta:
			c.Deltas = append(c.Deltas, e)
		default:
			continue
		}
		c.Version = max(c.Version, e.Version)
	}
	return c
}

// lockPoll is how often Locked tries the lock another process holds.
const lockPoll = 20 * time.Millisecond

// Locked takes the repository's publishing lock, which keeps every other
// publisher out, opens the repository as it is now, and runs fn with it.
// The lock is the data directory's LockFile, or for a shared repository
// the store's (an advisory lock of PostgreSQL, across every server on
// it).
func (p *Publisher) Locked(fn func(repo *bundles.Repo) error) error {
	if p.DataDir == "" || p.Root == nil {
		return errors.New("statuspub: the data directory and the operator root's public key are required")
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if sh := p.shared(); sh != nil {
		ctx := context.Background()
		return sh.LockBundles(ctx, timeout, func() error {
			opts := bundles.Options{Dir: filepath.Join(p.DataDir, BundlesDir), Shared: sh, Root: p.Root, Now: p.Now}
			if _, err := bundles.ImportDir(ctx, opts); err != nil {
				return err
			}
			repo, err := bundles.Open(opts)
			if err != nil {
				return err
			}
			return fn(repo)
		})
	}
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(p.DataDir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("statuspub: lock %s: %w", path, err)
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("statuspub: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("statuspub: %s: another process has been publishing into %s for %v (a status or bundles command, or serve's scheduler): wait and retry", path, p.DataDir, timeout)
		}
		time.Sleep(lockPoll)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(p.DataDir, BundlesDir), Root: p.Root, Now: p.Now})
	if err != nil {
		return err
	}
	return fn(repo)
}

// Publish records a change and publishes it in one transaction of the
// store. It publishes a delta when the store's version matches the
// repository's chain, and a base rebuilt from the store when no base
// exists, the chain is at its bound, or the store and the repository
// disagree.
func (p *Publisher) Publish(ctx context.Context, change Change) (Result, error) {
	return p.publish(ctx, change, "")
}

// PublishBase publishes a base rebuilt from the store, for why (a
// scheduled republish, lapsed entries).
func (p *Publisher) PublishBase(ctx context.Context, why string) (Result, error) {
	if why == "" {
		why = "asked for a base"
	}
	return p.publish(ctx, nil, why)
}

// CheckEntry refuses, wrapping ErrInvalid, an entry that a terminal would
// refuse or misread at now: an invalid holder or status, no effective
// time, an effective time more than MaxFutureEffective ahead, an until
// not after the effective time.
func CheckEntry(e central.StatusEntry, now time.Time) error {
	if e.Effective.After(now.Add(MaxFutureEffective)) {
		return fmt.Errorf("%w: the effective time %s lies in the future: set the status when it takes effect", ErrInvalid, e.Effective.UTC().Format(time.RFC3339))
	}
	if !e.Until.IsZero() && !e.Until.After(e.Effective) {
		return fmt.Errorf("%w: until %s is not after the effective time %s", ErrInvalid, e.Until.UTC().Format(time.RFC3339), e.Effective.UTC().Format(time.RFC3339))
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// SetStatus records e as its holder's entry and publishes it: the path of
// `status set`, by hand or through the operator API, and of the code
// engine. A zero e.Effective means now; a zero e.SetAt is set to now. It
// refuses e (ErrInvalid) before anything is recorded when CheckEntry does.
func (p *Publisher) SetStatus(ctx context.Context, e central.StatusEntry) (Result, error) {
	now := p.now()
	if e.Effective.IsZero() {
		e.Effective = now
	}
	if e.SetAt.IsZero() {
		e.SetAt = now
	}
	e.Effective, e.SetAt = e.Effective.UTC(), e.SetAt.UTC()
	if !e.Until.IsZero() {
		e.Until = e.Until.UTC()
	}
	if err := CheckEntry(e, now); err != nil {
		return Result{}, err
	}
	var prev *central.StatusEntry
	res, err := p.Publish(ctx, func(ctx context.Context, tx central.StatusTx, delta *status.Builder) error {
		old, had, err := tx.SetStatus(ctx, e)
		if err != nil {
			return err
		}
		if had {
			prev = &old
		}
		return central.AddStatus(delta, e)
	})
	if err != nil {
		return res, err
	}
	res.Entry, res.Previous = &e, prev
	if err := p.auditSet(ctx, e, prev, res.Bundle.Version); err != nil {
		return res, fmt.Errorf("published status version %d, but recording the change in the engine's audit failed (the status entry itself names who set it and when): %w", res.Bundle.Version, err)
	}
	return res, nil
}

// auditSet records a status set by hand in the engine's audit, as the
// engine's own changes are (central.ChangeStatus): who (the entry's
// Source), when (SetAt), why (the note), from which status to which,
// and the status version that published it. A store without the
// engine's part keeps no such audit.
func (p *Publisher) auditSet(ctx context.Context, e central.StatusEntry, prev *central.StatusEntry, version uint64) error {
	es, ok := p.Store.(central.EngineStore)
	if !ok {
		return nil
	}
	from := ""
	if prev != nil {
		from = prev.Status.String()
	}
	detail := struct {
		From      string    `json:"from,omitempty"`
		To        string    `json:"to"`
		Reason    string    `json:"reason"`
		Effective time.Time `json:"effective"`
		Until     time.Time `json:"until,omitzero"`
		Note      string    `json:"note,omitempty"`
		Version   uint64    `json:"status_version"`
	}{from, e.Status.String(), status.Reason(e.Reason).String(), e.Effective, e.Until, e.Note, version}
	by := central.ChangeBy{Time: e.SetAt, By: e.Source, Why: e.Note}
	if by.By == "" {
		by.By = "ops"
	}
	if by.Why == "" {
		by.Why = "status set by hand"
	}
	return es.UpdateEngine(ctx, func(tx central.EngineTx) error {
		return tx.Audit(ctx, central.ChangeStatus, e.Holder.String(), detail, by)
	})
}

// Revoke records the EU DCC certificate identifiers as revoked now until
// until (now plus DefaultRevocationLife when zero) and publishes them. It
// refuses (ErrInvalid) an empty list, an empty or overlong identifier, and
// an until that is not in the future.
func (p *Publisher) Revoke(ctx context.Context, ucis []string, until time.Time) (Result, error) {
	now := p.now()
	if len(ucis) == 0 {
		return Result{}, fmt.Errorf("%w: no certificate identifier to revoke", ErrInvalid)
	}
	for _, u := range ucis {
		if u == "" || len(u) > 256 {
			return Result{}, fmt.Errorf("%w: %q is not a certificate identifier such as URN:UVCI:01:DE:…", ErrInvalid, u)
		}
	}
	if until.IsZero() {
		until = now.Add(DefaultRevocationLife)
	}
	if !until.After(now) {
		return Result{}, fmt.Errorf("%w: until %s is not in the future: a revocation that has lapsed already needs no publishing", ErrInvalid, until.UTC().Format(time.RFC3339))
	}
	res, err := p.Publish(ctx, func(ctx context.Context, tx central.StatusTx, delta *status.Builder) error {
		for _, u := range ucis {
			if _, err := tx.Revoke(ctx, u, now, until); err != nil {
				return err
			}
			delta.Revoke(u)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Revoked = ucis
	return res, nil
}

func (p *Publisher) publish(ctx context.Context, change Change, forced string) (Result, error) {
	var out Result
	if p.Signer.Key == nil {
		return out, errors.New("statuspub: no signing key: status bundles cannot be signed")
	}
	if p.Store == nil {
		return out, errors.New("statuspub: no store")
	}
	maxChain := p.MaxChain
	if maxChain <= 0 {
		maxChain = bundles.DefaultMaxChain
	}
	err := p.Locked(func(repo *bundles.Repo) error {
		start := time.Now()
		defer func() { out.Took = time.Since(start) }()
		return p.Store.UpdateStatus(ctx, func(tx central.StatusTx) error {
			delta := status.NewBuilder()
			if change != nil {
				if err := change(ctx, tx, delta); err != nil {
					return err
				}
			}
			version, err := tx.Version(ctx)
			if err != nil {
				return err
			}
			c := ChainOf(repo)
			kind := trust.KindStatusDelta
			switch {
			case forced != "":
				kind, out.Why = trust.KindStatusBase, forced
			case c.Base.Version == 0:
				kind, out.Why = trust.KindStatusBase, "no status base is published yet"
			case len(c.Deltas) >= maxChain:
				kind, out.Why = trust.KindStatusBase, fmt.Sprintf("the chain holds %d deltas, its bound", len(c.Deltas))
			case version != c.Version:
				kind, out.Why = trust.KindStatusBase, fmt.Sprintf("the record was last published at status version %d, the repository is at %d", version, c.Version)
			}
			var payload []byte
			if kind == trust.KindStatusDelta {
				if payload, err = delta.MarshalDelta(); err != nil {
					return err
				}
			} else {
				b, err := central.BuildBase(ctx, tx, p.now(), central.BaseOptions{})
				if err != nil {
					return err
				}
				if payload, err = b.MarshalBase(); err != nil {
					return err
				}
			}
			e, err := repo.Publish(kind, payload, p.Signer.Key, p.Signer.Delegation, p.Signer.Fresh, p.Signer.Grace)
			if err != nil {
				return err
			}
			out.Bundle = e
			return tx.SetVersion(ctx, e.Version)
		})
	})
	return out, err
}
