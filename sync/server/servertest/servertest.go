// Package servertest holds fakes for tests of the sync upload: an
// in-memory Store, a header-based Authenticator (tests only: production
// takes the device from the TLS client certificate), a helper that fills
// a real journal, and RunStoreTests, the contract every server.Store must
// pass (the central bbolt and PostgreSQL stores should run it too).
package servertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"sentinel/sync/journal"
	"sentinel/sync/server"
)

// DeviceHeader is the header HeaderAuth reads.
const DeviceHeader = "X-Sentinel-Test-Device"

// HeaderAuth takes the device id from DeviceHeader. Tests only.
type HeaderAuth struct{}

var _ server.Authenticator = HeaderAuth{}

// Device implements server.Authenticator.
func (HeaderAuth) Device(r *http.Request) (string, error) {
	d := r.Header.Get(DeviceHeader)
	if d == "" {
		return "", errors.New("servertest: no device header")
	}
	return d, nil
}

// Transport adds DeviceHeader to every request.
type Transport struct {
	Device string
	Base   http.RoundTripper // http.DefaultTransport when nil
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(DeviceHeader, t.Device)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// Mem is an in-memory server.Store. Its methods are safe for concurrent
// use; one mutex stands for the transaction.
type Mem struct {
	// Fail, when set, is returned by Ingest (a store outage).
	Fail error

	mu     sync.Mutex
	epochs map[key]*epoch
	owners map[journal.Epoch]string
	forks  map[key]fork // by device and branch
	calls  int
}

type fork struct {
	journal journal.Epoch
	at      journal.Seq
}

var _ server.Store = (*Mem)(nil)

type key struct {
	device string
	epoch  journal.Epoch
}

type epoch struct {
	mark server.Mark
	recs map[journal.Seq]server.Record
	keys map[string]bool
}

// NewMem returns an empty Mem.
func NewMem() *Mem {
	return &Mem{epochs: make(map[key]*epoch), owners: make(map[journal.Epoch]string), forks: make(map[key]fork)}
}

// Ingest implements server.Store.
func (m *Mem) Ingest(ctx context.Context, b *server.Batch) (server.Ingested, error) {
	if err := ctx.Err(); err != nil {
		return server.Ingested{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.Fail != nil {
		return server.Ingested{}, m.Fail
	}
	into := b.Epoch
	var branch *fork
	if b.Branch != (journal.Epoch{}) {
		f, ok := m.forks[key{b.Device, b.Branch}]
		if !ok || f.journal != b.Epoch {
			return server.Ingested{}, fmt.Errorf("%w: %s", server.ErrUnknownBranch, b.Branch)
		}
		if len(b.Records) > 0 && b.Records[0].Seq < f.at {
			return server.Ingested{}, fmt.Errorf("%w: branch starts at %d", server.ErrInvalid, f.at)
		}
		into, branch = b.Branch, &f
	}
	if o, ok := m.owners[into]; ok && o != b.Device {
		return server.Ingested{}, fmt.Errorf("%w: %s is %s's", server.ErrEpochOwned, into, o)
	}
	k := key{b.Device, into}
	e := m.epochs[k]
	var mark server.Mark
	if e != nil {
		mark = e.mark
	} else if branch != nil {
		mark.Seq = branch.at - 1
	}
	if e != nil {
		for _, r := range b.Records {
			if old, ok := e.recs[r.Seq]; ok && r.Seq <= mark.Seq && !r.Salvaged && !bytes.Equal(old.Stored, r.Stored) {
				h := sha256.New()
				h.Write(into[:])
				h.Write(binary.BigEndian.AppendUint64(nil, uint64(r.Seq)))
				h.Write(r.Stored)
				var br journal.Epoch
				copy(br[:], h.Sum(nil))
				m.forks[key{b.Device, br}] = fork{journal: b.Epoch, at: r.Seq}
				m.owners[br] = b.Device
				return server.Ingested{}, &server.ForkError{Mark: mark, At: r.Seq, Branch: br}
			}
		}
	}
	kept, err := server.Admit(mark, b.Records)
	if err != nil {
		return server.Ingested{}, err
	}
	m.owners[into] = b.Device
	if e == nil {
		e = &epoch{mark: mark, recs: make(map[journal.Seq]server.Record), keys: make(map[string]bool)}
		m.epochs[k] = e
	}
	for _, r := range kept {
		if _, dup := e.recs[r.Seq]; dup {
			return server.Ingested{}, fmt.Errorf("servertest: record %d stored twice", r.Seq)
		}
		e.recs[r.Seq] = r
	}
	for _, kb := range b.Keys {
		e.keys[string(kb)] = true
	}
	if len(kept) > 0 {
		last := kept[len(kept)-1]
		e.mark = server.Mark{Seq: last.Seq, Hash: last.Hash}
	}
	return server.Ingested{Mark: e.mark, Kept: kept}, nil
}

// HighWater implements server.Store.
func (m *Mem) HighWater(ctx context.Context, device string, ep journal.Epoch) (server.Mark, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.epochs[key{device, ep}]; e != nil {
		return e.mark, nil
	}
	return server.Mark{}, nil
}

// Records returns the stored records of (device, epoch) in seq order.
func (m *Mem) Records(device string, ep journal.Epoch) []server.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.epochs[key{device, ep}]
	if e == nil {
		return nil
	}
	out := make([]server.Record, 0, len(e.recs))
	for s := journal.Seq(1); len(out) < len(e.recs); s++ {
		if r, ok := e.recs[s]; ok {
			out = append(out, r)
		} else if s > e.mark.Seq {
			break
		}
	}
	return out
}

// Count returns how many records of (device, epoch) are stored.
func (m *Mem) Count(device string, ep journal.Epoch) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.epochs[key{device, ep}]; e != nil {
		return len(e.recs)
	}
	return 0
}

// Keys returns how many distinct data key entries (device, epoch) has.
func (m *Mem) Keys(device string, ep journal.Epoch) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.epochs[key{device, ep}]; e != nil {
		return len(e.keys)
	}
	return 0
}

// Calls returns how many times Ingest was called.
func (m *Mem) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
