package main

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/sweep"
	"sentinel/internal/central/syncstore"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

// changed is a slog handler that reports the event path's log line of a
// published change: the moment the delta is out.
type changed struct {
	slog.Handler
	ch chan time.Time
}

func (h changed) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "statuses changed by the colour rules") {
		h.ch <- time.Now()
	}
	if r.Level >= slog.LevelWarn {
		log.Printf("engine: %s", r.Message)
		r.Attrs(func(a slog.Attr) bool { log.Printf("  %s", a); return true })
	}
	return nil
}

func (h changed) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h changed) WithGroup(string) slog.Handler      { return h }
func (h changed) Enabled(context.Context, slog.Level) bool {
	return true
}

// lane is a terminal's journal sealing to the centre, uploading through
// the ingest's real path.
type lane struct {
	device string
	j      *journal.Journal
	seq    journal.Seq
	keys   bool
}

func newLane(dir, device string, centre *hpke.PrivateKey) (*lane, error) {
	j, err := journal.Open(filepath.Join(dir, device, journal.FileName), journal.Options{CentreKey: (*centre).PublicKey(), PurgeEvery: -1})
	if err != nil {
		return nil, err
	}
	return &lane{device: device, j: j, keys: true}, nil
}

// pass records a passage of holder at the lane, a fever when fever is
// true, and returns the upload of it as the sync handler checks it.
func (l *lane) pass(ctx context.Context, holder uint32, fever bool) (*server.Batch, error) {
	p := &journal.Passage{Time: time.Now().UTC(), ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "HB",
		Decision: passage.Admit, Reasons: []string{"ok"},
		Holder:      credential.Holder{Kind: credential.HolderNative, Issuer: "HB", Index: holder},
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 36600*physic.MilliKelvin, Confidence: 0.9}}
	if fever {
		p.Decision, p.Reasons = passage.Refer, []string{"fever"}
		p.Temperature.Value = physic.ZeroCelsius + 38400*physic.MilliKelvin
	}
	if _, err := l.j.Append(ctx, p); err != nil {
		return nil, err
	}
	l.seq++
	var recs [][]byte
	if err := l.j.Range(l.seq, l.seq, func(_ journal.Seq, b []byte) error { recs = append(recs, b); return nil }); err != nil {
		return nil, err
	}
	first, err := journal.DecodeRecord(recs[0])
	if err != nil {
		return nil, err
	}
	u := &protocol.Upload{Device: l.device, Epoch: l.j.Epoch(), First: l.seq, Prev: first.Prev, Records: recs}
	if l.keys {
		if u.Keys, err = l.j.Keys(); err != nil {
			return nil, err
		}
		l.keys = false
	}
	return server.Check(u)
}

func benchFever(args []string) error {
	fs := flag.NewFlagSet("fever", flag.ExitOnError)
	storeName := fs.String("store", "bolt", "bolt or postgres")
	fevers := fs.Int("fevers", 200, "fevers timed, one after another")
	holders := fs.Int("holders", 0, "holders filled first as the sweep command does (every 100th with facts)")
	lock := fs.Int("lock", 300, "postgres: ingests with and without a fever timed for engine_lock's cost, per kind and lanes")
	url := fs.String("postgres", "", "PostgreSQL connection string (default: a private server)")
	rules := fs.String("rules", "docs/rules/hubei.rules", "the rule set deployed")
	fs.Parse(args)
	ctx := context.Background()
	src, err := os.ReadFile(*rules)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-fever-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now().UTC().Truncate(time.Hour)
	var st central.Store
	switch *storeName {
	case "bolt":
		b, err := boltstore.Open(filepath.Join(dir, "central.db"), &boltstore.Options{NoSync: true})
		if err != nil {
			return err
		}
		if err := setupEngine(ctx, b, src, t0); err != nil {
			return err
		}
		if *holders > 0 {
			if err := fillBolt(ctx, b, *holders, t0); err != nil {
				return err
			}
		}
		b.Close()
		if b, err = boltstore.Open(filepath.Join(dir, "central.db"), nil); err != nil {
			return err
		}
		st = b
	case "postgres":
		conn, stop, err := postgres(ctx, *url)
		if err != nil {
			return err
		}
		defer stop()
		p, err := pgstore.Open(ctx, conn, nil)
		if err != nil {
			return err
		}
		st = p
		if err := setupEngine(ctx, p, src, t0); err != nil {
			return err
		}
		if *holders > 0 {
			if err := fillPostgres(ctx, conn, *holders, t0); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("-store %q: want bolt or postgres", *storeName)
	}
	defer st.Close()
	pub, err := signer(filepath.Join(dir, "data"), t0)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pub.DataDir, 0o700); err != nil {
		return err
	}
	pub.Store = st
	if _, err := pub.PublishBase(ctx, "bench"); err != nil {
		return err
	}
	centre, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		return err
	}
	// Every lane is at a Wuhan checkpoint (CP-00 lies in HB-WH-JA): a
	// fever there is red under the Hubei seed.
	site := func(context.Context, string) (string, error) { return siteID(0), nil }
	h := changed{ch: make(chan time.Time, 16)}
	runner := &sweep.Runner{Store: st, Publisher: pub, Logger: slog.New(h)}
	ev := runner.Events()
	ev.Start(ctx)
	defer ev.Stop()
	a := syncstore.New(st, syncstore.Options{CentreKey: centre, Site: site, Fevers: true, OnFever: ev.OnFever})
	l, err := newLane(dir, "t-fever", &centre)
	if err != nil {
		return err
	}
	defer l.j.Close()
	var lat, ingest []time.Duration
	for i := range *fevers {
		b, err := l.pass(ctx, uint32(50_000_000+i), true)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := a.Ingest(ctx, b); err != nil {
			return err
		}
		ingest = append(ingest, time.Since(start))
		select {
		case at := <-h.ch:
			lat = append(lat, at.Sub(start))
		case <-time.After(60 * time.Second):
			return errors.New("no delta published within a minute of a fever")
		}
	}
	slicesSort(lat)
	slicesSort(ingest)
	fmt.Printf("store=%s holders=%d fevers=%d fever_to_delta_p50=%v p99=%v max=%v ingest_p50=%v load=%q\n", *storeName, *holders, len(lat),
		percentile(lat, 0.5).Round(time.Microsecond), percentile(lat, 0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
		percentile(ingest, 0.5).Round(time.Microsecond), loadavg())
	ev.Stop()
	if *storeName == "postgres" && *lock > 0 {
		return lockCost(ctx, st, centre, dir, *lock)
	}
	return nil
}

// lockCost times ingests of one passage with and without a fever, with
// no engine event path, from 1 and from 4 lanes at once: an ingest that
// carries a fever writes its fact in the same transaction and takes
// engine_lock, which serialises it with every other engine writer.
func lockCost(ctx context.Context, st central.Store, centre hpke.PrivateKey, dir string, n int) error {
	a := syncstore.New(st, syncstore.Options{CentreKey: centre, Site: func(context.Context, string) (string, error) { return siteID(0), nil }, Fevers: true})
	next := uint32(60_000_000)
	var mu sync.Mutex
	holder := func() uint32 { mu.Lock(); defer mu.Unlock(); next++; return next }
	for _, lanes := range []int{1, 4} {
		for _, fever := range []bool{false, true} {
			var ls []*lane
			for k := range lanes {
				l, err := newLane(dir, fmt.Sprintf("t-lock-%d-%v-%d", lanes, fever, k), &centre)
				if err != nil {
					return err
				}
				defer l.j.Close()
				// The first upload carries the data key: not timed.
				b, err := l.pass(ctx, holder(), false)
				if err != nil {
					return err
				}
				if _, err := a.Ingest(ctx, b); err != nil {
					return err
				}
				ls = append(ls, l)
			}
			var (
				wg   sync.WaitGroup
				all  []time.Duration
				errs = make(chan error, lanes)
			)
			start := time.Now()
			for _, l := range ls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ds []time.Duration
					for range n / lanes {
						b, err := l.pass(ctx, holder(), fever)
						if err != nil {
							errs <- err
							return
						}
						t := time.Now()
						if _, err := a.Ingest(ctx, b); err != nil {
							errs <- err
							return
						}
						ds = append(ds, time.Since(t))
					}
					mu.Lock()
					all = append(all, ds...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			wall := time.Since(start)
			close(errs)
			if err := <-errs; err != nil {
				return err
			}
			slicesSort(all)
			fmt.Printf("ingest lanes=%d fever=%v n=%d p50=%v p99=%v per_s=%.0f load=%q\n", lanes, fever, len(all),
				percentile(all, 0.5).Round(time.Microsecond), percentile(all, 0.99).Round(time.Microsecond),
				float64(len(all))/wall.Seconds(), loadavg())
		}
	}
	return nil
}
