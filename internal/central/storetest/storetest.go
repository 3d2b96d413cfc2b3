package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/sync/journal"
	"sentinel/sync/server"
)

// Harness opens stores for the suite.
type Harness struct {
	// New returns an empty store. The suite closes it.
	New func(t *testing.T) central.Store
	// Reopen closes s and opens the same data again, as after a restart of
	// the central server. Nil skips the restart test (in-memory stores).
	Reopen func(t *testing.T, s central.Store) central.Store
	// Another opens a second handle on the data of s, as a second process
	// would (PostgreSQL). Nil skips the cases of several processes at
	// once (bbolt: one process at a time holds the file).
	Another func(t *testing.T, s central.Store) central.Store
}

// base is the time of the suite's first passage: UTC, whole microseconds,
// so that every store keeps it exactly.
var base = time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)

// Epochs used by the suite.
var (
	epochA = central.Epoch{0xa}
	epochB = central.Epoch{0xb}
	epochC = central.Epoch{0xc}
)

// Recs returns the contiguous records from..to (inclusive) of a device's
// epoch as a terminal would upload them: one passage a minute from base
// (crossing midnight UTC after two hours), alternating between sites
// "gate-1" and "gate-2", holder "ZJ:<seq mod 7>", stored bytes naming the
// record and tag, each with its link of the hash chain of the journal
// that holds the records 1..to of tag (see Journal).
func Recs(from, to uint64, tag string) []central.Record {
	var out []central.Record
	for s := uint64(1); s <= to; s++ {
		out = append(out, central.Record{
			Seq:      s,
			Stored:   fmt.Appendf(nil, "rec %d %s", s, tag),
			Time:     base.Add(time.Duration(s) * time.Minute),
			Site:     fmt.Sprintf("gate-%d", 1+s%2),
			Holder:   fmt.Sprintf("ZJ:%d", s%7),
			Decision: []string{"pass", "refer"}[s%3/2],
			Reasons:  reasons(s),
		})
	}
	if from == 0 || from > to {
		return nil
	}
	return Journal(out)[from-1:]
}

func reasons(seq uint64) []string {
	if seq%5 == 4 {
		return []string{"temp-high", "status-yellow"}
	}
	return nil
}

// Run runs the conformance suite against the stores that h opens. Every
// case ingests on the sync server's path (Ingest: syncstore.Admit inside
// the store's IngestLinked), the one production takes.
func Run(t *testing.T, h Harness) {
	open := func(t *testing.T) central.Store {
		t.Helper()
		s := h.New(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s central.Store)
	}{
		{"Ingest", testIngest},
		{"EmptyBatch", testEmptyBatch},
		{"ReingestSameRange", testReingest},
		{"Overlap", testOverlap},
		{"Gap", testGap},
		{"GapOnNewEpoch", testGapNewEpoch},
		{"EpochsIndependent", testEpochs},
		{"Concurrent", testConcurrent},
		{"Filter", testFilter},
		{"IteratorStops", testIteratorStops},
		{"Malformed", testMalformed},
		{"Devices", testDevices},
		{"Health", testHealth},
		{"EpochOwner", testEpochOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
	t.Run("Restart", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("store keeps nothing across a restart")
		}
		testRestart(t, h)
	})
	t.Run("Linked", func(t *testing.T) { testLinked(t, h) })
	t.Run("BreakAtMark", func(t *testing.T) { testBreakAtMark(t, open(t)) })
	t.Run("SalvagedGap", func(t *testing.T) { testSalvagedGap(t, h) })
	t.Run("Fork", func(t *testing.T) { testFork(t, h) })
	t.Run("Status", func(t *testing.T) { runStatus(t, h) })
	t.Run("Engine", func(t *testing.T) { runEngine(t, h) })
	t.Run("Expire", func(t *testing.T) { testExpire(t, open(t)) })
}

// testSalvagedGap: a salvaged range (records recovered from a damaged
// journal) that starts past the mark is stored with the loss flagged as
// its first record's break, where an ordinary one is refused as a gap;
// salvaged records at or below the mark are dropped without making a
// fork; and the store itself refuses a decision that skips records
// without flagging the loss.
func testSalvagedGap(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	ctx := context.Background()
	ingest(t, s, "t1", epochA, Recs(1, 3, "s"), 3)
	past := Recs(7, 8, "s")
	_, err := Ingest(ctx, s, "t1", epochA, past)
	wantGap(t, err, 3, 7)
	skip := func(central.Link) ([]central.Record, central.EngineStep, error) { return past, nil, nil }
	if _, err := s.IngestLinked(ctx, "t1", epochA, past, nil, skip); err == nil {
		t.Fatal("a decision storing records past the mark without a break: got no error")
	}
	highWater(t, s, "t1", epochA, 3)
	for i := range past {
		past[i].Salvaged = true
	}
	ingest(t, s, "t1", epochA, past, 8)
	// Salvaged again from a copy whose old records differ: no fork, and
	// nothing stored twice.
	again := Recs(2, 8, "damaged")
	for i := range again {
		again[i].Salvaged = true
	}
	ingest(t, s, "t1", epochA, again, 8)
	lost := fmt.Sprintf(server.BreakLost, 4, 6)
	var seqs []uint64
	for _, p := range All(t, s, central.Filter{Device: "t1"}) {
		seqs = append(seqs, p.Seq)
		if want := map[bool]string{true: lost}[p.Seq == 7]; p.Break != want {
			t.Errorf("seq %d: got break %q, want %q", p.Seq, p.Break, want)
		}
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3, 7, 8}) {
		t.Errorf("got seqs %v, want 1 2 3 7 8", seqs)
	}
	if ds, err := s.Devices(ctx); err != nil || len(ds) != 1 || len(ds[0].Forks) != 0 {
		t.Fatalf("Devices: got %+v (%v), want t1 without a fork", ds, err)
	}
}

// testBreakAtMark: a range whose first record does not link to the
// stored mark's hash is stored, its first record flagged
// server.BreakMark; a record the uploader flagged keeps its break; the
// mark moves on with the last record's hash.
func testBreakAtMark(t *testing.T, s central.Store) {
	ctx := context.Background()
	ingest(t, s, "t1", epochA, Recs(1, 4, "a"), 4)
	other := Recs(5, 7, "b") // links to b's record 4, not a's
	other[2].Break = server.BreakLink
	ingest(t, s, "t1", epochA, other, 7)
	if l, err := s.Link(ctx, "t1", epochA); err != nil || l != (central.Link{Seq: 7, Hash: other[2].Hash}) {
		t.Fatalf("got link %+v (%v), want 7 with its hash", l, err)
	}
	want := passages("t1", epochA, append(Recs(1, 4, "a"), other...))
	want[4].Break = server.BreakMark
	checkPassages(t, s, central.Filter{}, want)
}

// testLinked checks IngestLinked: the admit decision runs on the stored
// mark with its hash, a refusal stores nothing, breaks and data keys are
// kept (keys once each), the mark keeps the last record's hash, and all of
// it survives a restart.
func testLinked(t *testing.T, h Harness) {
	s := h.New(t)
	defer func() { s.Close() }()
	ctx := context.Background()
	var seen central.Link
	recs := Recs(1, 10, "x")
	recs[3].Break = "record does not link"
	l, err := ingestKeys(ctx, s, "t1", epochA, recs, [][]byte{[]byte("k1"), []byte("k2")}, &seen)
	if err != nil || l != (central.Link{Seq: 10, Hash: recs[9].Hash}) || seen != (central.Link{}) {
		t.Fatalf("got mark %+v (%v) after seeing %+v, want 10 with its hash after the zero mark", l, err, seen)
	}
	// A refusal from admit stores nothing and comes back as it is.
	refuse := errors.New("refused")
	more := Recs(11, 12, "x")
	l, err = s.IngestLinked(ctx, "t1", epochA, more, [][]byte{[]byte("k3")}, func(m central.Link) ([]central.Record, central.EngineStep, error) {
		seen = m
		return nil, nil, refuse
	})
	if err != refuse || l.Seq != 10 || seen != (central.Link{Seq: 10, Hash: recs[9].Hash}) {
		t.Fatalf("got %v, mark %d, admit saw %+v, want the refusal, 10 and the stored hash", err, l.Seq, seen)
	}
	// Overlap: only 11..12 are new; k2 is sent again.
	again := Recs(9, 12, "x")
	if l, err = ingestKeys(ctx, s, "t1", epochA, again, [][]byte{[]byte("k2")}, &seen); err != nil || l.Seq != 12 || l.Hash != again[3].Hash {
		t.Fatalf("got mark %+v (%v), want 12 with its hash", l, err)
	}
	check := func(t *testing.T, s central.Store) {
		t.Helper()
		if l, err := s.Link(ctx, "t1", epochA); err != nil || l != (central.Link{Seq: 12, Hash: again[3].Hash}) {
			t.Fatalf("got link %+v (%v), want 12 with its hash", l, err)
		}
		if hw, err := s.HighWater(ctx, "t1", epochA); err != nil || hw != 12 {
			t.Fatalf("got high-water %d (%v), want 12", hw, err)
		}
		got := All(t, s, central.Filter{Device: "t1"})
		if len(got) != 12 {
			t.Fatalf("got %d passages, want 12", len(got))
		}
		for _, p := range got {
			want := ""
			if p.Seq == 4 {
				want = "record does not link"
			}
			if p.Break != want {
				t.Errorf("seq %d: got break %q, want %q", p.Seq, p.Break, want)
			}
		}
		keys, err := s.Keys(ctx, "t1", epochA)
		slices.SortFunc(keys, bytes.Compare)
		if err != nil || len(keys) != 2 || string(keys[0]) != "k1" || string(keys[1]) != "k2" {
			t.Fatalf("got keys %q (%v), want k1 and k2 once each", keys, err)
		}
		if keys, _ := s.Keys(ctx, "t1", epochB); len(keys) != 0 {
			t.Fatalf("got keys %q for another epoch, want none", keys)
		}
	}
	check(t, s)
	if h.Reopen == nil {
		return
	}
	s = h.Reopen(t, s)
	check(t, s)
}

func ingest(t *testing.T, s central.Store, dev string, e central.Epoch, recs []central.Record, want uint64) {
	t.Helper()
	got, err := Ingest(context.Background(), s, dev, e, recs)
	if err != nil {
		t.Fatalf("Ingest(%s, %d records): %v", dev, len(recs), err)
	}
	if got != want {
		t.Fatalf("Ingest(%s, %d records): got high-water %d, want %d", dev, len(recs), got, want)
	}
}

func highWater(t *testing.T, s central.Store, dev string, e central.Epoch, want uint64) {
	t.Helper()
	got, err := s.HighWater(context.Background(), dev, e)
	if err != nil {
		t.Fatalf("HighWater(%s): %v", dev, err)
	}
	if got != want {
		t.Fatalf("HighWater(%s): got %d, want %d", dev, got, want)
	}
}

// All collects the passages that f selects.
func All(t testing.TB, s central.Store, f central.Filter) []central.Passage {
	t.Helper()
	var out []central.Passage
	for p, err := range s.Passages(context.Background(), f) {
		if err != nil {
			t.Fatalf("Passages(%+v): %v", f, err)
		}
		out = append(out, p)
	}
	return out
}

// checkPassages compares the passages that f selects with want, in order.
func checkPassages(t *testing.T, s central.Store, f central.Filter, want []central.Passage) {
	t.Helper()
	got := All(t, s, f)
	if len(got) != len(want) {
		t.Fatalf("Passages(%+v): got %d passages, want %d", f, len(got), len(want))
	}
	for i := range got {
		g, w := &got[i], &want[i]
		if g.Device != w.Device || g.Epoch != w.Epoch || g.Seq != w.Seq || !g.Time.Equal(w.Time) ||
			!bytes.Equal(g.Stored, w.Stored) || g.Site != w.Site || g.Holder != w.Holder ||
			g.Decision != w.Decision || !slices.Equal(g.Reasons, w.Reasons) || g.Break != w.Break {
			t.Fatalf("Passages(%+v)[%d]: got %+v, want %+v", f, i, *g, *w)
		}
	}
}

func passages(dev string, e central.Epoch, recs []central.Record) []central.Passage {
	out := make([]central.Passage, len(recs))
	for i, r := range recs {
		if len(r.Reasons) == 0 {
			r.Reasons = nil
		}
		r.Salvaged = false // not stored
		out[i] = central.Passage{Device: dev, Epoch: e, Record: r}
	}
	return out
}

func testIngest(t *testing.T, s central.Store) {
	recs := Recs(1, 5, "a")
	ingest(t, s, "t1", epochA, recs, 5)
	highWater(t, s, "t1", epochA, 5)
	highWater(t, s, "t2", epochA, 0)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, recs))
	ingest(t, s, "t1", epochA, Recs(6, 9, "a"), 9)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, Recs(1, 9, "a")))
}

func testEmptyBatch(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, nil, 0)
	ingest(t, s, "t1", epochA, Recs(1, 3, "a"), 3)
	ingest(t, s, "t1", epochA, nil, 3)
	if ds, err := s.Devices(context.Background()); err != nil || len(ds) != 1 {
		t.Fatalf("Devices: got %d devices, %v; want 1 device", len(ds), err)
	}
}

func testReingest(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 5, "a"), 5)
	// The answer was lost; the terminal sends the same range again.
	ingest(t, s, "t1", epochA, Recs(1, 5, "a"), 5)
	ingest(t, s, "t1", epochA, Recs(2, 4, "a"), 5)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, Recs(1, 5, "a")))
}

func testOverlap(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 5, "a"), 5)
	want := Journal(Recs(1, 5, "a"), Recs(6, 8, "b"))
	ingest(t, s, "t1", epochA, want[2:], 8)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, want))
	// A batch that ends right at the mark stores nothing new.
	ingest(t, s, "t1", epochA, want, 8)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, want))
}

// wantGap checks that err is the sync server's gap refusal naming the
// mark hw and the refused batch's first seq.
func wantGap(t *testing.T, err error, hw, first uint64) {
	t.Helper()
	var gap *server.GapError
	if !errors.As(err, &gap) || !errors.Is(err, server.ErrGap) {
		t.Fatalf("Ingest: got error %v, want *server.GapError", err)
	}
	if want := (server.GapError{Mark: journal.Seq(hw), First: journal.Seq(first)}); *gap != want {
		t.Fatalf("Ingest: got %+v, want %+v", *gap, want)
	}
}

func testGap(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 3, "a"), 3)
	hw, err := Ingest(context.Background(), s, "t1", epochA, Recs(5, 9, "a"))
	wantGap(t, err, 3, 5)
	if hw != 3 {
		t.Errorf("Ingest with a gap: got high-water %d, want 3", hw)
	}
	highWater(t, s, "t1", epochA, 3)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, Recs(1, 3, "a")))
	// The terminal resends from the mark and is accepted.
	ingest(t, s, "t1", epochA, Recs(4, 9, "a"), 9)
	checkPassages(t, s, central.Filter{}, passages("t1", epochA, Recs(1, 9, "a")))
}

func testGapNewEpoch(t *testing.T, s central.Store) {
	_, err := Ingest(context.Background(), s, "t1", epochA, Recs(2, 3, "a"))
	wantGap(t, err, 0, 2)
	highWater(t, s, "t1", epochA, 0)
	checkPassages(t, s, central.Filter{}, nil)
}

func testEpochs(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 3, "a"), 3)
	ingest(t, s, "t1", epochB, Recs(1, 2, "b"), 2)
	ingest(t, s, "t2", epochC, Recs(1, 1, "c"), 1)
	highWater(t, s, "t1", epochA, 3)
	highWater(t, s, "t1", epochB, 2)
	highWater(t, s, "t2", epochC, 1)
	highWater(t, s, "t2", epochB, 0)
	checkPassages(t, s, central.Filter{Device: "t1"}, sortPassages(append(
		passages("t1", epochA, Recs(1, 3, "a")), passages("t1", epochB, Recs(1, 2, "b"))...)))
	if got := len(All(t, s, central.Filter{})); got != 6 {
		t.Errorf("Passages: got %d, want 6", got)
	}
}

func sortPassages(ps []central.Passage) []central.Passage {
	slices.SortFunc(ps, central.ComparePassages)
	return ps
}

// testConcurrent has several servers ingest the same and overlapping
// ranges at once, as a terminal's retries behind a load balancer do.
func testConcurrent(t *testing.T, s central.Store) {
	const workers, rounds, size = 4, 3, 40
	for r := range rounds {
		from := uint64(r*size + 1)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				<-start
				// Workers send the round's range from different starts, all
				// at or below the mark of the previous round.
				lo := from - uint64(w%2)*min(from-1, 5)
				hw, err := Ingest(context.Background(), s, "t1", epochA, Recs(lo, from+size-1, "w"))
				if err == nil && hw != from+size-1 {
					err = fmt.Errorf("worker %d: got high-water %d, want %d", w, hw, from+size-1)
				}
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
	}
	got := All(t, s, central.Filter{})
	if len(got) != rounds*size {
		t.Fatalf("Passages: got %d, want %d", len(got), rounds*size)
	}
	for i, p := range got {
		if p.Seq != uint64(i+1) {
			t.Fatalf("Passages[%d]: got seq %d, want %d", i, p.Seq, i+1)
		}
	}
}

func testFilter(t *testing.T, s central.Store) {
	recsA := Recs(1, 150, "a") // crosses midnight UTC
	recsB := Recs(1, 20, "b")
	ingest(t, s, "t1", epochA, recsA, 150)
	ingest(t, s, "t2", epochB, recsB, 20)
	all := sortPassages(append(passages("t1", epochA, recsA), passages("t2", epochB, recsB)...))
	sel := func(keep func(p central.Passage) bool) []central.Passage {
		var out []central.Passage
		for _, p := range all {
			if keep(p) {
				out = append(out, p)
			}
		}
		return out
	}
	from, to := base.Add(10*time.Minute), base.Add(130*time.Minute)
	tests := []struct {
		name string
		f    central.Filter
		keep func(p central.Passage) bool
	}{
		{"all", central.Filter{}, func(central.Passage) bool { return true }},
		{"site", central.Filter{Site: "gate-2"}, func(p central.Passage) bool { return p.Site == "gate-2" }},
		{"holder", central.Filter{Holder: "ZJ:3"}, func(p central.Passage) bool { return p.Holder == "ZJ:3" }},
		{"device", central.Filter{Device: "t2"}, func(p central.Passage) bool { return p.Device == "t2" }},
		{"time", central.Filter{From: from, To: to}, func(p central.Passage) bool {
			return !p.Time.Before(from) && p.Time.Before(to)
		}},
		{"from", central.Filter{From: to}, func(p central.Passage) bool { return !p.Time.Before(to) }},
		{"holder and time", central.Filter{Holder: "ZJ:5", From: from, To: to}, func(p central.Passage) bool {
			return p.Holder == "ZJ:5" && !p.Time.Before(from) && p.Time.Before(to)
		}},
		{"site device time", central.Filter{Site: "gate-1", Device: "t1", To: from}, func(p central.Passage) bool {
			return p.Site == "gate-1" && p.Device == "t1" && p.Time.Before(from)
		}},
		{"nothing", central.Filter{Holder: "XX:1"}, func(central.Passage) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := sel(tt.keep)
			if tt.name != "nothing" && len(want) == 0 {
				t.Fatal("test selects nothing")
			}
			checkPassages(t, s, tt.f, want)
			// Slim gives the same passages; their record, reasons and
			// break may be left out.
			slim := tt.f
			slim.Slim = true
			got := All(t, s, slim)
			if len(got) != len(want) {
				t.Fatalf("Passages(%+v): got %d passages, want %d", slim, len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if len(g.Stored) > 0 && !bytes.Equal(g.Stored, w.Stored) || len(g.Reasons) > 0 && !slices.Equal(g.Reasons, w.Reasons) || g.Break != "" && g.Break != w.Break {
					t.Fatalf("Passages(%+v)[%d]: got %+v, want %+v or without record, reasons and break", slim, i, g, w)
				}
				if g.Device != w.Device || g.Epoch != w.Epoch || g.Seq != w.Seq || !g.Time.Equal(w.Time) || g.Site != w.Site ||
					g.Holder != w.Holder || g.Decision != w.Decision {
					t.Fatalf("Passages(%+v)[%d]: got %+v, want %+v", slim, i, g, w)
				}
			}
		})
	}
}

func testIteratorStops(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 30, "a"), 30)
	n := 0
	for _, err := range s.Passages(context.Background(), central.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	// The store still serves after an abandoned iteration.
	ingest(t, s, "t1", epochA, Recs(31, 32, "a"), 32)
	if got := len(All(t, s, central.Filter{})); got != 32 {
		t.Fatalf("Passages: got %d, want 32", got)
	}
}

func testMalformed(t *testing.T, s central.Store) {
	ingest(t, s, "t1", epochA, Recs(1, 2, "a"), 2)
	bad := func(edit func(rs []central.Record) []central.Record) []central.Record {
		return edit(Recs(3, 8, "bad"))
	}
	tests := []struct {
		name string
		dev  string
		recs []central.Record
	}{
		{"empty device", "", Recs(3, 4, "bad")},
		{"seq 0", "t1", append([]central.Record{{Seq: 0, Stored: []byte("x"), Time: base}}, Recs(1, 4, "bad")...)},
		{"hole", "t1", bad(func(rs []central.Record) []central.Record { return slices.Delete(rs, 3, 4) })},
		{"descending", "t1", bad(func(rs []central.Record) []central.Record { slices.Reverse(rs); return rs })},
		{"duplicate", "t1", bad(func(rs []central.Record) []central.Record { return slices.Insert(rs, 2, rs[2]) })},
		{"no stored bytes", "t1", bad(func(rs []central.Record) []central.Record { rs[4].Stored = nil; return rs })},
		{"no time", "t1", bad(func(rs []central.Record) []central.Record { rs[5].Time = time.Time{}; return rs })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hw, err := Ingest(context.Background(), s, tt.dev, epochA, tt.recs)
			if !errors.Is(err, central.ErrMalformed) {
				t.Fatalf("Ingest: got high-water %d, error %v; want ErrMalformed", hw, err)
			}
			highWater(t, s, "t1", epochA, 2)
			checkPassages(t, s, central.Filter{}, passages("t1", epochA, Recs(1, 2, "a")))
		})
	}
}

func testDevices(t *testing.T, s central.Store) {
	ds, err := s.Devices(context.Background())
	if err != nil || len(ds) != 0 {
		t.Fatalf("Devices of an empty store: got %v, %v; want none", ds, err)
	}
	before := time.Now().Add(-time.Minute)
	ingest(t, s, "t2", epochC, Recs(1, 4, "a"), 4)
	ingest(t, s, "t1", epochB, Recs(1, 2, "a"), 2)
	ingest(t, s, "t1", epochA, Recs(1, 3, "a"), 3)
	_, err = Ingest(context.Background(), s, "t3", central.Epoch{0xd}, Recs(2, 3, "a"))
	wantGap(t, err, 0, 2)
	ds, err = s.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []central.Device{
		{ID: "t1", Marks: []central.Mark{{Epoch: epochA, HighWater: 3}, {Epoch: epochB, HighWater: 2}}},
		{ID: "t2", Marks: []central.Mark{{Epoch: epochC, HighWater: 4}}},
	}
	if len(ds) != len(want) {
		t.Fatalf("Devices: got %+v, want %+v", ds, want)
	}
	for i := range ds {
		if ds[i].ID != want[i].ID || !slices.Equal(ds[i].Marks, want[i].Marks) || ds[i].LastSeen.Before(before) {
			t.Errorf("Devices[%d]: got %+v, want %+v seen after %v", i, ds[i], want[i], before)
		}
	}
}

func testRestart(t *testing.T, h Harness) {
	s := h.New(t)
	ingest(t, s, "t1", epochA, Recs(1, 5, "a"), 5)
	ingest(t, s, "t1", epochB, Recs(1, 2, "b"), 2)
	s = h.Reopen(t, s)
	defer func() { s.Close() }()
	highWater(t, s, "t1", epochA, 5)
	highWater(t, s, "t1", epochB, 2)
	want := Journal(Recs(1, 5, "a"), Recs(6, 7, "c"))
	ingest(t, s, "t1", epochA, want[2:], 7)
	_, err := Ingest(context.Background(), s, "t1", epochB, Recs(4, 5, "b"))
	wantGap(t, err, 2, 4)
	checkPassages(t, s, central.Filter{Device: "t1", Site: "gate-2", From: base}, sortPassages(
		filterSite(append(passages("t1", epochA, want), passages("t1", epochB, Recs(1, 2, "b"))...), "gate-2")))
}

func filterSite(ps []central.Passage, site string) []central.Passage {
	return slices.DeleteFunc(ps, func(p central.Passage) bool { return p.Site != site })
}
