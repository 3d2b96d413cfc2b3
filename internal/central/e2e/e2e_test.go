package e2e

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/syncstore"
	"sentinel/internal/passage"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.RefuseNonLoopback()
	os.Exit(pgtest.Main(m))
}

const (
	terminals = 4
	rounds    = 10
	perRound  = 80 // passages a terminal appends per round: 3,200 in all
)

// centralStore is what the centre needs of a store: the upload's and the
// queries'.
type centralStore interface {
	syncstore.Store
	central.Store
}

// counting wraps the centre's server.Store to count what ingest did.
type counting struct {
	server.Store
	calls, kept, resent, failed atomic.Int64
}

func (c *counting) Ingest(ctx context.Context, b *server.Batch) (server.Ingested, error) {
	res, err := c.Store.Ingest(ctx, b)
	if err != nil && !errors.Is(err, server.ErrGap) {
		c.failed.Add(1) // the handler answers 503: an upload cut off mid-ingest
	}
	if err == nil {
		c.calls.Add(1)
		c.kept.Add(int64(len(res.Kept)))
		if len(res.Kept) < len(b.Records) {
			c.resent.Add(1) // records at or below the mark: a re-upload
		}
	}
	return res, err
}

// centre is the central server over one store, which restart closes and
// opens again on the same data.
type centre struct {
	t     *testing.T
	open  func() centralStore
	key   hpke.PrivateKey
	proxy *proxy
	count counting

	mu    sync.Mutex
	store centralStore
	srv   *httptest.Server
}

func (c *centre) start() {
	c.store = c.open()
	placeSites(c.t, c.store)
	c.count.Store = syncstore.New(c.store, syncstore.Options{CentreKey: c.key, Site: func(_ context.Context, d string) (string, error) { return "site-" + d, nil }, Fevers: true})
	c.srv = httptest.NewServer(newHandler(c.t, &c.count, 5*time.Second)) // 127.0.0.1
	c.proxy.setTarget(c.srv.Listener.Addr().String())
}

// stop cuts the connections of the uploads in flight, closes the server
// and the store.
func (c *centre) stop() {
	c.srv.CloseClientConnections()
	c.srv.Close()
	if err := c.store.Close(); err != nil {
		c.t.Error(err)
	}
}

func (c *centre) restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stop()
	c.start()
}

// terminal is one gate with its journal and upload client.
type terminal struct {
	id     string
	index  uint32 // holders of this terminal are ZJ:index+i
	j      *journal.Journal
	client *client.Client
}

func TestEndToEnd(t *testing.T) {
	for i, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { run(t, k.place(t), uint64(i+1)) })
	}
}

func run(t *testing.T, open func() centralStore, seed uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	key := newCentreKey(t)
	px, err := newProxy(seed)
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	c := &centre{t: t, open: open, key: key, proxy: px}
	c.start()
	defer func() { c.mu.Lock(); c.stop(); c.mu.Unlock() }()

	var terms []*terminal
	for i := range terminals {
		j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{CentreKey: key.PublicKey(), PurgeEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		tr := &terminal{id: fmt.Sprintf("gate-%d", i+1), index: uint32(i) * 100_000, j: j}
		base := http.DefaultTransport.(*http.Transport).Clone() // loopback only, see TestMain
		base.DisableKeepAlives = true                           // one connection, one fault, per upload
		tr.client, err = client.New(j, client.Options{
			URL: "http://" + px.addr(), Device: tr.id,
			HTTP:  &http.Client{Transport: &servertest.Transport{Device: tr.id, Base: base}},
			Batch: 40, Timeout: 3 * time.Second, MinBackoff: 2 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
			Interval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		tr.client.Start(ctx)
		defer tr.client.Stop()
		terms = append(terms, tr)
	}

	// The terminals journal passages while they upload; the centre
	// restarts once a third of them is stored.
	total := int64(terminals * rounds * perRound)
	var appending sync.WaitGroup
	for _, tr := range terms {
		appending.Go(func() { appendRounds(t, ctx, tr) })
	}
	for c.count.kept.Load() < total/3 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	c.restart()
	kept := c.count.kept.Load()
	appending.Wait()
	if kept == 0 || kept >= total {
		t.Errorf("got %d of %d passages stored at the restart, want the restart during ingest", kept, total)
	}

	// Keep the network faulty until every kind of fault has happened a
	// few times, then heal it and wait for the backlog to drain.
	for !enoughFaults(px) && ctx.Err() == nil {
		for _, tr := range terms {
			tr.client.Kick()
		}
		time.Sleep(5 * time.Millisecond)
	}
	px.healed.Store(true)
	for ctx.Err() == nil && !drained(t, terms) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, tr := range terms {
		tr.client.Stop()
	}
	for f := faultDrop; f < nFaults; f++ {
		t.Logf("%s: %d connections", faultNames[f], px.counts[f].Load())
	}
	t.Logf("%d ingests, %d with records already stored (answers lost or resent), %d failed in the store, %d of %d stored at the restart",
		c.count.calls.Load(), c.count.resent.Load(), c.count.failed.Load(), kept, total)
	if ctx.Err() != nil {
		t.Fatalf("the journals did not drain in time: %v", ctx.Err())
	}
	if !enoughFaults(px) {
		t.Errorf("not every kind of fault happened")
	}
	if c.count.resent.Load() == 0 {
		t.Errorf("got no re-uploads of stored records, want some after lost answers")
	}
	verify(t, ctx, c.store, terms)
}

// appendRounds journals the terminal's passages, from several lanes at
// once, kicking the client after each round.
func appendRounds(t *testing.T, ctx context.Context, tr *terminal) {
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for r := range rounds {
		var wg sync.WaitGroup
		for lane := range 4 {
			wg.Go(func() {
				for i := lane; i < perRound; i += 4 {
					n := r*perRound + i
					p := passageOf(at.Add(time.Duration(n)*time.Second), fmt.Sprintf("in-%d", lane+1), tr.index+uint32(n))
					if c, ok := feverOf(n); ok {
						p.Decision, p.Reasons = passage.Refer, []string{"fever"}
						p.Temperature = passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + physic.Temperature(c)*physic.MilliKelvin, Confidence: 0.9}
					}
					if _, err := tr.j.Append(ctx, p); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		tr.client.Kick()
	}
}

func enoughFaults(px *proxy) bool {
	for _, f := range []fault{faultDrop, faultDelay, faultReset, faultLost} {
		if px.counts[f].Load() < 2 {
			return false
		}
	}
	return true
}

// drained reports whether every journal's acknowledged cursor reached its
// last record.
func drained(t *testing.T, terms []*terminal) bool {
	for _, tr := range terms {
		v, err := tr.j.Verify()
		if err != nil {
			t.Fatal(err)
		}
		acked, err := tr.j.Acked()
		if err != nil {
			t.Fatal(err)
		}
		if acked != v.Last {
			return false
		}
	}
	return true
}

// verify checks that the centre holds every passage of every journal
// exactly once, with its chain intact and its holder opened.
func verify(t *testing.T, ctx context.Context, s centralStore, terms []*terminal) {
	for _, tr := range terms {
		v, err := tr.j.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if want := journal.Seq(rounds * perRound); v.Last != want || v.Break != nil {
			t.Fatalf("%s: journal holds up to %d (break %v), want %d", tr.id, v.Last, v.Break, want)
		}
		if acked, _ := tr.j.Acked(); acked != v.Last {
			t.Errorf("%s: got acked %d, want the last seq %d", tr.id, acked, v.Last)
		}
		want := servertest.Stored(t, tr.j, 1, 0)
		got := map[uint64]central.Passage{}
		n := 0
		for p, err := range s.Passages(ctx, central.Filter{Device: tr.id}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if _, dup := got[p.Seq]; dup {
				t.Errorf("%s: seq %d stored twice", tr.id, p.Seq)
			}
			got[p.Seq] = p
		}
		if n != len(want) {
			t.Errorf("%s: got %d passages at the centre, want %d", tr.id, n, len(want))
		}
		ep := central.Epoch(tr.j.Epoch())
		h := journal.Genesis(tr.j.Epoch())
		for i, b := range want {
			seq := uint64(i + 1)
			p, ok := got[seq]
			if !ok {
				t.Errorf("%s: seq %d missing at the centre", tr.id, seq)
				continue
			}
			if p.Epoch != ep || string(p.Stored) != string(b) {
				t.Errorf("%s: seq %d: stored bytes or epoch differ from the journal's", tr.id, seq)
			}
			if p.Break != "" {
				t.Errorf("%s: seq %d: got chain break %q, want none", tr.id, seq, p.Break)
			}
			r, err := journal.DecodeRecord(p.Stored)
			if err != nil {
				t.Fatal(err)
			}
			if r.Prev != h {
				t.Errorf("%s: seq %d does not link to seq %d at the centre", tr.id, seq, seq-1)
			}
			h = journal.Chain(h, p.Stored)
			idx := uint32(r.Time.Sub(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)) / time.Second)
			if want := fmt.Sprintf("ZJ:%d", tr.index+idx); p.Holder != want {
				t.Errorf("%s: seq %d: got holder %q, want %q", tr.id, seq, p.Holder, want)
			}
		}
		if h != v.Head {
			t.Errorf("%s: the centre's chain ends at %v, the journal's at %v", tr.id, h, v.Head)
		}
		verifyFevers(t, ctx, s, tr)
		if l, err := s.Link(ctx, tr.id, ep); err != nil || l.Seq != uint64(v.Last) || l.Hash != [32]byte(v.Head) {
			t.Errorf("%s: got mark %d %x (%v), want %d with the journal's head", tr.id, l.Seq, l.Hash[:4], err, v.Last)
		}
	}
}

// newServer serves h on loopback until the test ends and returns its
// address.
func newServer(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// feverOf says whether the n-th passage of a terminal is a fever, and its
// reading in thousandths of a degree Celsius.
func feverOf(n int) (int, bool) {
	return 37_500 + n%20*100, n%37 == 5
}

// placeSites puts the terminals' sites in an area of the code engine, so
// that their fevers are kept as facts.
func placeSites(t *testing.T, s centralStore) {
	t.Helper()
	by := central.ChangeBy{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), By: "ops:test"}
	err := s.UpdateEngine(context.Background(), func(tx central.EngineTx) error {
		if err := tx.PutArea(context.Background(), central.Area{ID: "ZJ", Kind: central.AreaProvince}, by); err != nil {
			return err
		}
		for i := range terminals {
			if err := tx.PutSite(context.Background(), central.Site{ID: fmt.Sprintf("site-gate-%d", i+1), Area: "ZJ"}, by); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// verifyFevers checks that every fever of the terminal's journal is a
// fact of the code engine exactly once, with its holder, time, site and
// reading, although answers were lost, uploads resent and the centre
// restarted.
func verifyFevers(t *testing.T, ctx context.Context, s centralStore, tr *terminal) {
	t.Helper()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	want := map[string]central.Fact{}
	for n := range rounds * perRound {
		if c, ok := feverOf(n); ok {
			holder := fmt.Sprintf("ZJ:%d", tr.index+uint32(n))
			want[holder] = central.Fact{Holder: holder, At: at.Add(time.Duration(n) * time.Second), Site: "site-" + tr.id,
				Temperature: physic.ZeroCelsius + physic.Temperature(c)*physic.MilliKelvin}
		}
	}
	got := map[string]int{}
	err := s.ViewEngine(ctx, func(r central.EngineReader) error {
		for holder, w := range want {
			fs, err := r.Facts(ctx, holder)
			if err != nil {
				return err
			}
			for _, f := range fs {
				if f.Kind != central.FactFever {
					continue
				}
				got[holder]++
				if !f.At.Equal(w.At) || f.Site != w.Site || f.Temperature != w.Temperature || !strings.HasPrefix(f.Source, "passage:"+tr.id+"/") {
					t.Errorf("%s: fever fact %+v, want at %v, site %s, %.1f °C from a passage of %s", holder, f, w.At, w.Site, w.Temperature.Celsius(), tr.id)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for holder := range want {
		if got[holder] != 1 {
			t.Errorf("%s: %s has %d fever facts, want 1", tr.id, holder, got[holder])
		}
	}
}
