package e2e

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// storeKind is a central store the tests and benchmarks run against.
type storeKind struct {
	name string
	// place makes the store's empty data (a bbolt file, a PostgreSQL
	// database, dropped when the test ends) and returns how to open it:
	// each call opens the same data again, as a restarted centre does.
	place func(tb testing.TB) func() centralStore
}

// storeKinds are both central stores; PostgreSQL's skips (or fails in
// CI) where no server can be started, see pgtest.
var storeKinds = []storeKind{
	{"bbolt", func(tb testing.TB) func() centralStore {
		path := filepath.Join(tb.TempDir(), "central.db")
		return func() centralStore {
			s, err := boltstore.Open(path, &boltstore.Options{NoSync: true})
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}
	}},
	{"postgres", func(tb testing.TB) func() centralStore {
		conn := pgtest.NewDatabase(tb)
		return func() centralStore {
			s, err := pgstore.Open(context.Background(), conn, nil)
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}
	}},
}

// open opens a new, empty store of this kind; the caller closes it.
func (k storeKind) open(tb testing.TB) centralStore { return k.place(tb)() }

// newCentreKey returns a new centre key: terminals seal the holder and the
// temperature to its public half.
func newCentreKey(tb testing.TB) hpke.PrivateKey {
	key, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// newHandler returns the centre's sync handler over st: terminals
// authenticated by header (servertest), a rate limit no test reaches, a
// silent log, and timeout per ingest (the server's default when 0).
func newHandler(tb testing.TB, st server.Store, timeout time.Duration) http.Handler {
	h, err := server.New(server.Options{Store: st, Auth: servertest.HeaderAuth{}, Rate: 1e6, Burst: 1 << 20,
		Timeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// passageOf is an admitted native code of holder ZJ:index at lane, at.
func passageOf(at time.Time, lane string, index uint32) *journal.Passage {
	return &journal.Passage{
		Time: at, ClockTrusted: true, Lane: lane, Format: credential.FormatNative, Issuer: "ZJ",
		Holder:   credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: index},
		Decision: passage.Admit, Reasons: []string{"ok"}, PolicyVersion: 3,
	}
}
