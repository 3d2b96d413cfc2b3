package syncstore_test

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/syncstore"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// stores opens empty central stores of each kind.
var stores = []struct {
	name string
	open func(t *testing.T) central.Store
}{
	{"memory", func(t *testing.T) central.Store {
		s := memstore.New(nil)
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"bbolt", func(t *testing.T) central.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), &boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) central.Store {
		s, err := pgstore.Open(context.Background(), pgtest.NewDatabase(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

func TestServerContract(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			servertest.RunStoreTests(t, func(t *testing.T) server.Store {
				return syncstore.New(st.open(t), syncstore.Options{})
			})
		})
	}
}

// sealedJournal returns a journal sealing to a new centre key, with n
// passages of native holders ZJ:0..n-1, and the centre's private key.
func sealedJournal(t *testing.T, n int) (*journal.Journal, hpke.PrivateKey) {
	t.Helper()
	priv, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{CentreKey: priv.PublicKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i := range n {
		p := &journal.Passage{Time: at.Add(time.Duration(i) * time.Minute), ClockTrusted: true, Lane: "in-1",
			Format: credential.FormatNative, Issuer: "ZJ", Decision: passage.Admit, Reasons: []string{"ok"},
			Holder: credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(i)}}
		if _, err := j.Append(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	return j, priv
}

// upload checks records from..to of j as the handler does.
func upload(t *testing.T, j *journal.Journal, device string, from, to journal.Seq, withKeys bool) *server.Batch {
	t.Helper()
	recs := servertest.Stored(t, j, from, to)
	first, err := journal.DecodeRecord(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	u := &protocol.Upload{Device: device, Epoch: j.Epoch(), First: from, Prev: first.Prev, Records: recs}
	if withKeys {
		if u.Keys, err = j.Keys(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := server.Check(u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIngest(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			j, priv := sealedJournal(t, 30)
			s := st.open(t)
			a := syncstore.New(s, syncstore.Options{CentreKey: priv, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }})
			if _, err := a.Ingest(ctx, upload(t, j, "t1", 1, 10, true)); err != nil {
				t.Fatal(err)
			}
			// A new adapter (a restarted centre) finds the data keys in the
			// store although this upload carries none.
			a = syncstore.New(s, syncstore.Options{CentreKey: priv, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }})
			b := upload(t, j, "t1", 11, 30, false)
			b.Records[5].Break = server.BreakLink // as if the handler found a broken link
			res, err := a.Ingest(ctx, b)
			if err != nil || res.Mark.Seq != 30 || res.Mark.Hash != b.Records[19].Hash {
				t.Fatalf("got mark %d (%v), want 30 with the last record's hash", res.Mark.Seq, err)
			}
			var n int
			for p, err := range s.Passages(ctx, central.Filter{Device: "t1"}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if want := "ZJ:" + strconv.FormatUint(p.Seq-1, 10); p.Holder != want {
					t.Errorf("seq %d: got holder %q, want %q", p.Seq, p.Holder, want)
				}
				if p.Site != "site-t1" || p.Decision != "admit" || len(p.Reasons) != 1 {
					t.Errorf("seq %d: got site %q decision %q reasons %v, want site-t1 admit [ok]", p.Seq, p.Site, p.Decision, p.Reasons)
				}
				if want := map[bool]string{true: server.BreakLink}[p.Seq == 16]; p.Break != want {
					t.Errorf("seq %d: got break %q, want %q", p.Seq, p.Break, want)
				}
			}
			if n != 30 {
				t.Fatalf("got %d passages, want 30", n)
			}
			// The first record past the stored mark must link to its hash.
			j2, _ := sealedJournal(t, 5)
			b = upload(t, j2, "t1", 1, 5, false)
			b.Epoch = j.Epoch() // another journal's records under t1's epoch
			for i := range b.Records {
				b.Records[i].Seq += 30
				b.Records[i].Rec.Seq += 30
			}
			res, err = a.Ingest(ctx, b)
			if err != nil || len(res.Kept) != 5 || res.Kept[0].Break != server.BreakMark {
				t.Fatalf("got %v, %d kept, want 5 with the first flagged %q", err, len(res.Kept), server.BreakMark)
			}
		})
	}
}

// A fever a terminal records becomes a fact of the code engine at ingest,
// exactly once: the same upload sent again, an overlapping upload from a
// restarted centre, and a replay of the whole journal add nothing, and
// the engine's hook hears of each fever once. A fever whose reasons do
// not say fever (a reading below the threshold), an override and a
// record whose holder does not open are no fevers.
func TestFeversKeptOnce(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			priv, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{CentreKey: priv.PublicKey(), PurgeEvery: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
			reading := func(c float64) passage.Temperature {
				return passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + physic.Temperature(c*1e3)*physic.MilliKelvin, Confidence: 0.9}
			}
			for i, p := range []struct {
				reasons []string
				temp    passage.Temperature
				over    bool
			}{
				{[]string{"ok"}, reading(36.6), false},
				{[]string{"fever"}, reading(38.4), false}, // seq 2: ZJ:1
				{[]string{"fever"}, passage.Temperature{State: passage.TempRetake}, false},
				{[]string{"guard-override", "fever"}, reading(38.4), true},
				{[]string{"status-red", "fever"}, reading(39.1), false}, // seq 5: ZJ:4
			} {
				jp := &journal.Passage{Time: at.Add(time.Duration(i) * time.Minute), ClockTrusted: true, Lane: "in-1",
					Format: credential.FormatNative, Issuer: "ZJ", Decision: passage.Refer, Reasons: p.reasons, Temperature: p.temp,
					Holder: credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(i)}}
				if p.over {
					jp.Decision = passage.Admit
					jp.Override = &journal.Override{Who: "guard 1", Why: "retake-normal", Of: 2}
				}
				if _, err := j.Append(ctx, jp); err != nil {
					t.Fatal(err)
				}
			}
			s := st.open(t)
			if err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
				by := central.ChangeBy{Time: at, By: "ops:test"}
				if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by); err != nil {
					return err
				}
				return tx.PutSite(ctx, central.Site{ID: "site-t1", Area: "ZJ"}, by)
			}); err != nil {
				t.Fatal(err)
			}
			var heard []central.Fact
			opts := syncstore.Options{CentreKey: priv, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true,
				OnFever: func(f central.Fact) { heard = append(heard, f) }}
			// The first upload dies after its fevers are written, before
			// the commit: nothing of it may stay, so that the resend
			// stores the records with their fevers.
			if _, err := syncstore.New(&dying{Ingester: s}, opts).Ingest(ctx, upload(t, j, "t1", 1, 3, true)); !errors.Is(err, errDied) {
				t.Fatalf("an upload dying before its commit: got %v, want the failure", err)
			}
			if l, err := s.Link(ctx, "t1", central.Epoch(j.Epoch())); err != nil || l.Seq != 0 {
				t.Fatalf("after the failed upload the mark is %d (%v), want nothing stored", l.Seq, err)
			}
			if len(heard) != 0 {
				t.Fatalf("the hook heard %+v from an upload that failed", heard)
			}
			a := syncstore.New(s, opts)
			if _, err := a.Ingest(ctx, upload(t, j, "t1", 1, 3, true)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Ingest(ctx, upload(t, j, "t1", 1, 3, true)); err != nil { // sent again
				t.Fatal(err)
			}
			a = syncstore.New(s, opts) // a restarted centre: overlapping upload
			if _, err := a.Ingest(ctx, upload(t, j, "t1", 2, 5, false)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Ingest(ctx, upload(t, j, "t1", 1, 5, false)); err != nil { // replay of all
				t.Fatal(err)
			}
			var fevers []central.Fact
			if err := s.ViewEngine(ctx, func(r central.EngineReader) error {
				all, err := r.AllFacts(ctx)
				for _, f := range all {
					if f.Kind == central.FactFever {
						fevers = append(fevers, f)
					}
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			want := []struct {
				holder string
				seq    uint64
				c      float64
			}{{"ZJ:1", 2, 38.4}, {"ZJ:4", 5, 39.1}}
			if len(fevers) != len(want) || len(heard) != len(want) {
				t.Fatalf("got %d fever facts %+v and %d heard by the hook, want %d of each", len(fevers), fevers, len(heard), len(want))
			}
			for i, w := range want {
				f := fevers[i]
				src := central.FeverSource("t1", central.Epoch(j.Epoch()), w.seq)
				if f.Holder != w.holder || f.Source != src || f.Site != "site-t1" || f.Area != "ZJ" ||
					!f.At.Equal(at.Add(time.Duration(w.seq-1)*time.Minute)) || math.Abs(f.Celsius()-w.c) > 0.001 {
					t.Errorf("fever %d: got %+v (%.2f °C), want %s at seq %d, %.1f °C at site-t1", i, f, f.Celsius(), w.holder, w.seq, w.c)
				}
				if heard[i].Seq != f.Seq || heard[i].Holder != w.holder {
					t.Errorf("hook heard %+v, want fact %d of %s", heard[i], f.Seq, w.holder)
				}
			}
		})
	}
}

var errDied = errors.New("the centre died before the commit")

// dying is a store whose ingest fails after the engine step has written
// (as a crash or a failed commit would), inside the transaction.
type dying struct{ central.Ingester }

func (d *dying) IngestLinked(ctx context.Context, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	return d.Ingester.IngestLinked(ctx, device, epoch, recs, keys, func(m central.Link) ([]central.Record, central.EngineStep, error) {
		rest, step, err := admit(m)
		if err != nil || step == nil {
			return rest, step, err
		}
		return rest, func(ctx context.Context, tx central.EngineTx) error {
			if err := step(ctx, tx); err != nil {
				return err
			}
			return errDied
		}, nil
	})
}
