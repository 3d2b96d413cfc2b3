package terminal

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/status"
	"sentinel/sync/client"
)

// The benchmark's data directory: a status base of 1 M native entries and
// a chain of 10 deltas of 1,000 changes each, as the downloader writes
// them, and the 11th delta, which arrives.
const (
	benchEntries      = 1_000_000
	benchChain        = 10
	benchDeltaChanges = 1_000
)

var benchDir struct {
	once sync.Once
	f    *holdFixture
	next []byte // delta v(benchChain+2)
}

func benchStatus(b *testing.B) *holdFixture {
	benchDir.once.Do(func() {
		f := &holdFixture{now: time.Now().UTC().Truncate(time.Second), dir: b.TempDir()}
		f.keys = bundlestest.NewKeys(b, f.now)
		r := rand.New(rand.NewPCG(10, 10))
		fill := func(bl *status.Builder, n int) {
			issuers := []string{"ZJ", "HB-WH", "GD", "SH"}
			for range n {
				eff := f.now.Add(-time.Duration(r.Int64N(int64(24*time.Hour/time.Second))) * time.Second)
				e := status.Entry{Status: status.Green, Effective: eff}
				if p := r.IntN(10); p < 3 {
					e = status.Entry{Status: status.Yellow, Effective: eff, Until: eff.Add(7 * 24 * time.Hour), Reason: 1}
				} else if p < 4 {
					e = status.Entry{Status: status.Red, Effective: eff, Until: eff.Add(14 * 24 * time.Hour), Reason: 4}
				}
				if err := bl.SetNative(issuers[r.IntN(len(issuers))], uint32(r.IntN(50_000_000)), e); err != nil {
					b.Fatal(err)
				}
			}
		}
		base := status.NewBuilder()
		fill(base, benchEntries)
		payload, err := base.MarshalBase()
		if err != nil {
			b.Fatal(err)
		}
		rootPEM, err := trust.MarshalPublicKey(f.keys.Root.Public())
		if err != nil {
			b.Fatal(err)
		}
		put := func(name string, data []byte) {
			p := filepath.Join(f.dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		put(rootFile, rootPEM)
		put(bundleName(trust.KindStatusBase), f.seal(b, trust.KindStatusBase, 1, 0, payload))
		delta := func(version uint64) []byte {
			d := status.NewBuilder()
			fill(d, benchDeltaChanges)
			p, err := d.MarshalDelta()
			if err != nil {
				b.Fatal(err)
			}
			return f.seal(b, trust.KindStatusDelta, version, version-1, p)
		}
		for v := uint64(2); v <= benchChain+1; v++ {
			data := delta(v)
			put(filepath.Join(client.ChainDir, fmt.Sprintf("%020d.bundle", v)), data)
			put(bundleName(trust.KindStatusDelta), data)
		}
		benchDir.next = delta(benchChain + 2)
		benchDir.f = f
	})
	return benchDir.f
}

// BenchmarkStatusDelta compares what one status delta from the centre
// costs the daemon: applying it to the list in memory (apply: the
// downloader's verification of the bundle, then holdings.onBundle), and
// what it cost before, reading base and chain again from the disk
// (reload: client.LoadStatus of a 1 M-entry base and 10 deltas, which
// the old reload did for any change, besides the other bundles).
//
//	go test -run '^$' -bench StatusDelta -count 5 ./internal/terminal/
func BenchmarkStatusDelta(b *testing.B) {
	f := benchStatus(b)
	root := f.keys.Root.Public()
	b.Run("apply", func(b *testing.B) {
		h := newHoldings(f.dir, "S-1", func() (time.Time, bool) { return f.now, true }, slog.New(slog.DiscardHandler))
		if _, err := h.load(); err != nil {
			b.Fatal(err)
		}
		if v, _ := h.statusVersion(); v != benchChain+1 {
			b.Fatalf("loaded status v%d, want v%d", v, benchChain+1)
		}
		held, marks := h.status, h.marks[bundleName(trust.KindStatusDelta)]
		b.ReportAllocs()
		for b.Loop() {
			h.status = held // the list before the delta
			h.marks[bundleName(trust.KindStatusDelta)] = marks
			d, _, err := trust.OpenBundle(benchDir.next, root, f.now, trust.State{})
			if err != nil {
				b.Fatal(err)
			}
			if err := h.onBundle(d, benchDir.next); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, err := status.New(status.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if v, err := client.LoadStatus(f.dir, root, f.now, l); err != nil || v != benchChain+1 {
				b.Fatalf("LoadStatus: v%d, %v", v, err)
			}
		}
	})
}
