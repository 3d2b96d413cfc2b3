// Command engine measures the code engine at the scale of issue 11, on
// the real stores:
//
//	go run ./bench/engine sweep -store bolt -holders 10000000 -runs 5
//	go run ./bench/engine sweep -store postgres -holders 10000000 -runs 5
//	go run ./bench/engine contacts -passages 100000000 -cases 1000
//	go run ./bench/engine fever -store bolt -fevers 200
//
// sweep fills a store with -holders holders of whom -with-facts (1 %) have
// facts and the rest a status entry (green, lapsed red, or set by hand),
// publishes a base, then times daily sweeps (sweep.Run, the publication
// included) on successive days and prints their median.
//
// contacts fills PostgreSQL's passages table (pgstore's schema) with
// -passages passages over -days days, server-side with generate_series,
// then times engine.AddCases for -cases new cases with contact derivation
// and prints the plan of the contact query (EXPLAIN (ANALYZE, BUFFERS)).
//
// fever times an ingested fever to its published delta through the
// ingest's real path (syncstore with the fever hook, sweep.Runner's
// Events, statuspub) and prints p50 and p99; with -store postgres it also
// compares ingests with and without fevers (engine_lock).
//
// PostgreSQL: -postgres URL uses that database (it must be empty or hold
// only what this command wrote); without it a private server is started
// under the temporary directory (fsync off, as the tests run it) and
// removed at the end. -keep keeps a bbolt file or database of a sweep for
// the next run with -reuse.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/statuspub"
)

func main() {
	log.SetFlags(log.Ltime)
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "sweep":
		err = benchSweep(args)
	case "contacts":
		err = benchContacts(args)
	case "fever":
		err = benchFever(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: engine sweep|contacts|fever [flags] (-h for each)")
	os.Exit(2)
}

// postgres returns a connection string: url when given, else a new
// database on a private server, with the function that stops it.
func postgres(ctx context.Context, url string) (string, func(), error) {
	if url != "" {
		return url, func() {}, nil
	}
	srv, err := pgtest.Start()
	if err != nil {
		return "", nil, err
	}
	conn, err := srv.CreateDatabase(ctx)
	if err != nil {
		srv.Stop()
		return "", nil, err
	}
	log.Printf("started PostgreSQL for the bench: %s", conn)
	return conn, func() {
		if err := srv.Stop(); err != nil {
			log.Print(err)
		}
	}, nil
}

// signer makes an operator root and a delegated online key valid around
// t, for a publisher.
func signer(dir string, t time.Time) (*statuspub.Publisher, error) {
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		return nil, err
	}
	key, err := trust.GenerateKey(nil, trust.KeyP256)
	if err != nil {
		return nil, err
	}
	d, err := trust.Delegate(root, key.Public(), trust.Kinds(), t.Add(-30*24*time.Hour), t.Add(365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return &statuspub.Publisher{DataDir: dir, Root: root.Public(),
		Signer: statuspub.Signer{Key: key, Delegation: d, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}, nil
}

func slicesSort(ds []time.Duration) { slices.Sort(ds) }

// median of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}

// percentile of sorted ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// loadavg reads the machine's load, to note beside the figures.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return string(b[:len(b)-1])
}
