package statuspub

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/statusdb"
	"sentinel/internal/status"
)

// Files of the centre's data directory that a Publisher uses.
const (
	// RecordFile is the status record (statusdb).
	RecordFile = "status.db"
	// BundlesDir is the bundle repository.
	BundlesDir = "bundles"
)

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

// Publisher publishes status changes from one data directory.
type Publisher struct {
	// DataDir holds RecordFile and BundlesDir (required).
	DataDir string
	// Root is the operator root's public key: the repository opens every
	// bundle under it before publishing (required).
	Root crypto.PublicKey
	// Signer signs (required).
	Signer Signer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxChain is the number of deltas after which a change publishes a
	// new base instead (bundles.DefaultMaxChain when 0).
	MaxChain int
	// Timeout bounds the wait for another process holding the record
	// (statusdb.DefaultTimeout when 0).
	Timeout time.Duration
}

// Result says what was published.
type Result struct {
	Bundle bundles.Entry
	// Why a base rather than a delta; empty for a delta.
	Why string
	// Took is how long the publishing transaction took.
	Took time.Duration
}

// Change applies a change to the record and to the delta's builder.
type Change func(tx *statusdb.Tx, delta *status.Builder) error

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

// Locked opens the record, which locks it against every other publisher,
// and the repository as it is on disk now, and runs fn with both.
func (p *Publisher) Locked(fn func(db *statusdb.DB, repo *bundles.Repo) error) error {
	if p.DataDir == "" || p.Root == nil {
		return errors.New("statuspub: the data directory and the operator root's public key are required")
	}
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return err
	}
	// The record first: its file lock serialises publishers, so the
	// repository read below is the one this publisher writes onto.
	db, err := statusdb.Open(filepath.Join(p.DataDir, RecordFile), p.Timeout)
	if err != nil {
		return err
	}
	defer db.Close()
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(p.DataDir, BundlesDir), Root: p.Root, Now: p.Now})
	if err != nil {
		return err
	}
	return fn(db, repo)
}

// Publish records a change and publishes it in one transaction of the
// record. It publishes a delta when the record matches the repository's
// chain, and a base rebuilt from the record when no base exists, the
// chain is at its bound, or the record and the repository disagree.
func (p *Publisher) Publish(change Change) (Result, error) {
	return p.publish(change, "")
}

// PublishBase publishes a base rebuilt from the record, for why (a
// scheduled republish, lapsed entries).
func (p *Publisher) PublishBase(why string) (Result, error) {
	if why == "" {
		why = "asked for a base"
	}
	return p.publish(nil, why)
}

func (p *Publisher) publish(change Change, forced string) (Result, error) {
	var out Result
	if p.Signer.Key == nil {
		return out, errors.New("statuspub: no signing key: status bundles cannot be signed")
	}
	maxChain := p.MaxChain
	if maxChain <= 0 {
		maxChain = bundles.DefaultMaxChain
	}
	err := p.Locked(func(db *statusdb.DB, repo *bundles.Repo) error {
		start := time.Now()
		defer func() { out.Took = time.Since(start) }()
		return db.Update(func(tx *statusdb.Tx) error {
			delta := status.NewBuilder()
			if change != nil {
				if err := change(tx, delta); err != nil {
					return err
				}
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
			case tx.Version() != c.Version:
				kind, out.Why = trust.KindStatusBase, fmt.Sprintf("the record was last published at status version %d, the repository is at %d", tx.Version(), c.Version)
			}
			var payload []byte
			var err error
			if kind == trust.KindStatusDelta {
				if payload, err = delta.MarshalDelta(); err != nil {
					return err
				}
			} else {
				b, err := tx.Base(p.now(), statusdb.BaseOptions{})
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
			return tx.SetVersion(e.Version)
		})
	})
	return out, err
}
