package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

// statusT0 is the time of the status cases: whole seconds, UTC.
var statusT0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// runStatus runs the cases of the status part (central.StatusStore).
func runStatus(t *testing.T, h Harness) {
	open := func(t *testing.T) central.Store {
		t.Helper()
		s := h.New(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s central.Store)
	}{
		{"Validates", testStatusValidates},
		{"ReplacesAndRollsBack", testStatusRollback},
		{"Entries", testStatusEntries},
		{"EntriesOf", testStatusEntriesOf},
		{"HeldBy", testStatusHeldBy},
		{"Base", testStatusBase},
		{"Revocations", testStatusRevocations},
		{"Serialised", testStatusSerialised},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
	t.Run("Restart", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("store keeps nothing across a restart")
		}
		testStatusRestart(t, h)
	})
	t.Run("SeveralProcesses", func(t *testing.T) {
		if h.Another == nil {
			t.Skip("one process at a time holds this store")
		}
		testStatusProcesses(t, h)
	})
}

// Holder parses a holder for the cases; it fails t when s is not one.
func Holder(t testing.TB, s string) credential.Holder {
	t.Helper()
	h, err := credential.ParseHolder(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// setStatus records entries in one transaction.
func setStatus(t *testing.T, s central.Store, es ...central.StatusEntry) {
	t.Helper()
	ctx := context.Background()
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		for _, e := range es {
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
}

func sameStatus(a, b central.StatusEntry) bool {
	return a.Holder == b.Holder && a.Status == b.Status && a.Effective.Equal(b.Effective) && a.Until.Equal(b.Until) &&
		a.Reason == b.Reason && a.Note == b.Note && a.Source == b.Source && a.RuleSet == b.RuleSet && a.SetAt.Equal(b.SetAt)
}

func testStatusValidates(t *testing.T, s central.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		e    central.StatusEntry
		want error
	}{
		{"native red", central.StatusEntry{Holder: Holder(t, "ZJ:7"), Status: status.Red, Effective: statusT0}, nil},
		{"pseudonym withheld", central.StatusEntry{Holder: Holder(t, "p:00112233445566778899aabbccddeeff"), Status: status.Withheld, Effective: statusT0}, nil},
		{"unknown holder", central.StatusEntry{Status: status.Red, Effective: statusT0}, central.ErrStatusHolder},
		{"no status", central.StatusEntry{Holder: Holder(t, "ZJ:8"), Effective: statusT0}, central.ErrStatusEntry},
		{"no effective", central.StatusEntry{Holder: Holder(t, "ZJ:8"), Status: status.Red}, central.ErrStatusEntry},
		{"until before effective", central.StatusEntry{Holder: Holder(t, "ZJ:8"), Status: status.Red, Effective: statusT0, Until: statusT0}, central.ErrStatusEntry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateStatus(ctx, func(tx central.StatusTx) error { _, _, err := tx.SetStatus(ctx, tc.e); return err })
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, ok, err := s.StatusOf(ctx, Holder(t, "ZJ:8")); ok || err != nil {
		t.Errorf("a refused entry: got ok %v, %v; want nothing stored", ok, err)
	}
	n, _, err := countStatus(s)
	if err != nil || n != 2 {
		t.Errorf("entries: got %d, %v; want 2", n, err)
	}
}

func countStatus(s central.Store) (entries, revocations int, err error) {
	ctx := context.Background()
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		entries, revocations, err = r.Counts(ctx)
		return err
	})
	return entries, revocations, err
}

// testStatusRollback: a change replaces the holder's entry and returns the
// one it replaced, with every field; a transaction whose fn fails (a
// refused publication) keeps nothing of what it did, and its error comes
// back as it was.
func testStatusRollback(t *testing.T, s central.Store) {
	ctx := context.Background()
	h := Holder(t, "HB-WH:42")
	red := central.StatusEntry{Holder: h, Status: status.Red, Effective: statusT0, Until: statusT0.Add(14 * 24 * time.Hour),
		Reason: 3, Note: "contact of case 17", Source: "engine", RuleSet: "HB-WH/7", SetAt: statusT0}
	green := central.StatusEntry{Holder: h, Status: status.Green, Effective: statusT0.Add(time.Hour), Reason: 4, Source: "ops:alice", SetAt: statusT0.Add(time.Hour)}
	if err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		_, had, err := tx.SetStatus(ctx, red)
		if had {
			t.Error("first change: had a previous entry")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.StatusOf(ctx, h); !ok || err != nil || !sameStatus(got, red) {
		t.Fatalf("StatusOf: got %+v %v %v, want %+v", got, ok, err, red)
	}
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		prev, had, err := tx.SetStatus(ctx, green)
		if err != nil {
			return err
		}
		if !had || !sameStatus(prev, red) {
			t.Errorf("previous: got %+v had %v, want %+v", prev, had, red)
		}
		// The transaction sees its own change.
		if got, ok, err := tx.Status(ctx, h); !ok || err != nil || !sameStatus(got, green) {
			t.Errorf("in the transaction: got %+v %v %v, want the green entry", got, ok, err)
		}
		return tx.SetVersion(ctx, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("publish refused")
	err = s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		if _, _, err := tx.SetStatus(ctx, red); err != nil {
			return err
		}
		if _, _, err := tx.SetStatus(ctx, central.StatusEntry{Holder: Holder(t, "ZJ:1"), Status: status.Yellow, Effective: statusT0}); err != nil {
			return err
		}
		if _, err := tx.Revoke(ctx, "URN:UVCI:01:XX", statusT0, time.Time{}); err != nil {
			return err
		}
		if err := tx.SetVersion(ctx, 9); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("failed transaction: got %v, want %v itself", err, boom)
	}
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		got, ok, err := r.Status(ctx, h)
		if err != nil || !ok || !sameStatus(got, green) {
			t.Errorf("after rollback: got %+v %v %v, want the green entry", got, ok, err)
		}
		n, rev, err := r.Counts(ctx)
		v, verr := r.Version(ctx)
		if n != 1 || rev != 0 || v != 1 || err != nil || verr != nil {
			t.Errorf("after rollback: got %d entries, %d revoked, version %d (%v, %v); want 1, 0, 1", n, rev, v, err, verr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testStatusEntries: Entries lists every holder once, in holder order,
// with its latest entry, and the loop body may read the same transaction.
func testStatusEntries(t *testing.T, s central.Store) {
	ctx := context.Background()
	names := []string{"ZJ:9", "HB:1", "ZJ:10", "p:ffeeddccbbaa99887766554433221100", "HB-WH:3", "p:00112233445566778899aabbccddeeff"}
	// Enough holders to cross a page of a store that reads in pages.
	for i := range 1200 {
		names = append(names, fmt.Sprintf("SH:%d", i))
	}
	var es []central.StatusEntry
	for i, n := range names {
		es = append(es, central.StatusEntry{Holder: Holder(t, n), Status: status.Yellow, Effective: statusT0.Add(time.Duration(i) * time.Second), SetAt: statusT0})
	}
	setStatus(t, s, es...)
	last := es[0]
	last.Status, last.Reason = status.Red, 1
	setStatus(t, s, last) // the latest change wins
	want := slices.Clone(names)
	slices.Sort(want)
	var got []string
	err := s.ViewStatus(ctx, func(r central.StatusReader) error {
		for e, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			got = append(got, e.Holder.String())
			if again, ok, err := r.Status(ctx, e.Holder); err != nil || !ok || !sameStatus(again, e) {
				return fmt.Errorf("Status(%s) inside Entries: got %+v %v %v, want %+v", e.Holder, again, ok, err, e)
			}
			if e.Holder == last.Holder && e.Status != status.Red {
				t.Errorf("%s: got %s, want the latest change, red", e.Holder, e.Status)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Entries: got %d holders %v..., want %d in order %v...", len(got), got[:min(8, len(got))], len(want), want[:8])
	}
	// Stopping early is allowed.
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		n := 0
		for _, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			if n++; n == 3 {
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testStatusBase: a base carries what can still override a valid code:
// not a native entry older than any valid native code, not a lapsed one,
// pseudonymous ones until they lapse, revocations that have not lapsed.
func testStatusBase(t *testing.T, s central.Store) {
	ctx := context.Background()
	now := statusT0.Add(30 * 24 * time.Hour)
	setStatus(t, s,
		central.StatusEntry{Holder: Holder(t, "ZJ:1"), Status: status.Red, Effective: now.Add(-time.Hour)},                                         // kept
		central.StatusEntry{Holder: Holder(t, "ZJ:2"), Status: status.Red, Effective: now.Add(-8 * 24 * time.Hour)},                                // too old for native
		central.StatusEntry{Holder: Holder(t, "ZJ:3"), Status: status.Yellow, Effective: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)},      // lapsed
		central.StatusEntry{Holder: Holder(t, "p:00112233445566778899aabbccddeeff"), Status: status.Red, Effective: now.Add(-20 * 24 * time.Hour)}, // pseudonyms stay
	)
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		if _, err := tx.Revoke(ctx, "URN:UVCI:01:AT:1", now, time.Time{}); err != nil {
			return err
		}
		if _, err := tx.Revoke(ctx, "URN:UVCI:01:AT:2", now.Add(-48*time.Hour), now.Add(-time.Hour)); err != nil {
			return err
		}
		return tx.SetVersion(ctx, 5)
	})
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		if v, err := r.Version(ctx); v != 5 || err != nil {
			t.Errorf("version: got %d %v, want 5", v, err)
		}
		b, err := central.BuildBase(ctx, r, now, central.BaseOptions{})
		if err != nil {
			return err
		}
		payload, err = b.MarshalBase()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := status.ParseBase(payload)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c.Native != 1 || c.Pseudonyms != 1 || c.Revoked != 1 {
		t.Errorf("base counts: got %+v, want 1 native, 1 pseudonym, 1 revoked", c)
	}
}

// testStatusRevocations: revoking again keeps the first time and the later
// end; a lapsed revocation revoked again is fresh; bad revocations are
// refused; LapsedBetween counts each end once.
func testStatusRevocations(t *testing.T, s central.Store) {
	ctx := context.Background()
	end := statusT0.Add(10 * 24 * time.Hour)
	revoke := func(uci string, at, until time.Time) (bool, error) {
		var fresh bool
		err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
			var err error
			fresh, err = tx.Revoke(ctx, uci, at, until)
			return err
		})
		return fresh, err
	}
	steps := []struct {
		name      string
		uci       string
		at, until time.Time
		fresh     bool
		err       error
	}{
		{"first", "URN:UVCI:01:AT:A", statusT0, end, true, nil},
		{"again, earlier end", "URN:UVCI:01:AT:A", statusT0.Add(time.Hour), end.Add(-time.Hour), false, nil},
		{"again, later end", "URN:UVCI:01:AT:A", statusT0.Add(time.Hour), end.Add(time.Hour), false, nil},
		{"open", "URN:UVCI:01:AT:B", statusT0, time.Time{}, true, nil},
		{"open again, with an end", "URN:UVCI:01:AT:B", statusT0.Add(time.Hour), end, false, nil},
		{"short", "URN:UVCI:01:AT:C", statusT0, statusT0.Add(time.Hour), true, nil},
		{"after it lapsed", "URN:UVCI:01:AT:C", statusT0.Add(2 * time.Hour), end, true, nil},
		{"empty", "", statusT0, time.Time{}, false, central.ErrStatusEntry},
		{"ends before", "URN:UVCI:01:AT:D", statusT0, statusT0.Add(-time.Hour), false, central.ErrStatusEntry},
	}
	for _, st := range steps {
		fresh, err := revoke(st.uci, st.at, st.until)
		if fresh != st.fresh || !errors.Is(err, st.err) || (st.err == nil) != (err == nil) {
			t.Errorf("%s: got %v, %v; want %v, %v", st.name, fresh, err, st.fresh, st.err)
		}
	}
	want := []central.Revocation{
		{UCI: "URN:UVCI:01:AT:A", RevokedAt: statusT0, Until: end.Add(time.Hour)},
		{UCI: "URN:UVCI:01:AT:B", RevokedAt: statusT0},
		{UCI: "URN:UVCI:01:AT:C", RevokedAt: statusT0.Add(2 * time.Hour), Until: end},
	}
	err := s.ViewStatus(ctx, func(r central.StatusReader) error {
		var got []central.Revocation
		for rv, err := range r.Revocations(ctx) {
			if err != nil {
				return err
			}
			got = append(got, rv)
		}
		if len(got) != len(want) {
			t.Fatalf("revocations: got %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].UCI != want[i].UCI || !got[i].RevokedAt.Equal(want[i].RevokedAt) || !got[i].Until.Equal(want[i].Until) {
				t.Errorf("revocation %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		for _, c := range []struct {
			from, to time.Time
			n        int
		}{
			{statusT0, end.Add(-time.Second), 0},
			{end.Add(-time.Second), end, 1},
			{end, end.Add(time.Hour), 1},
			{statusT0, end.Add(time.Hour), 2},
		} {
			if _, n, err := r.LapsedBetween(ctx, c.from, c.to); n != c.n || err != nil {
				t.Errorf("LapsedBetween(%s, %s): got %d %v, want %d", c.from, c.to, n, err, c.n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Entries lapse the same way.
	setStatus(t, s, central.StatusEntry{Holder: Holder(t, "ZJ:5"), Status: status.Red, Effective: statusT0, Until: end})
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		n, _, err := r.LapsedBetween(ctx, end.Add(-time.Second), end)
		if n != 1 || err != nil {
			t.Errorf("entries lapsing: got %d %v, want 1", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testStatusSerialised: transactions of one store never interleave: each
// reads the version and writes the next, so N of them at once end at N.
func testStatusSerialised(t *testing.T, s central.Store) {
	bumpConcurrently(t, []central.Store{s}, 16)
}

// bumpConcurrently runs n transactions at once, spread over stores (the
// same data), each reading the version, setting an entry and writing the
// version plus one, as a publisher does; they must end at version n with
// n entries.
func bumpConcurrently(t *testing.T, stores []central.Store, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s := stores[i%len(stores)]
			errs <- s.UpdateStatus(ctx, func(tx central.StatusTx) error {
				v, err := tx.Version(ctx)
				if err != nil {
					return err
				}
				e := central.StatusEntry{Holder: credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: uint32(i)},
					Status: status.Red, Effective: statusT0, SetAt: statusT0}
				if _, _, err := tx.SetStatus(ctx, e); err != nil {
					return err
				}
				return tx.SetVersion(ctx, v+1)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	err := stores[0].ViewStatus(ctx, func(r central.StatusReader) error {
		v, err := r.Version(ctx)
		entries, _, cerr := r.Counts(ctx)
		if v != uint64(n) || entries != n || err != nil || cerr != nil {
			t.Errorf("after %d transactions at once: got version %d, %d entries (%v, %v); want %d, %d", n, v, entries, err, cerr, n, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testStatusRestart: entries, revocations and the version survive a
// restart.
func testStatusRestart(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	e := central.StatusEntry{Holder: Holder(t, "ZJ:77"), Status: status.Red, Effective: statusT0, Until: statusT0.Add(time.Hour),
		Reason: 1, Note: "n", Source: "ops:bob", RuleSet: "ZJ/3", SetAt: statusT0}
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		if _, _, err := tx.SetStatus(ctx, e); err != nil {
			return err
		}
		if _, err := tx.Revoke(ctx, "URN:UVCI:01:DE:R", statusT0, time.Time{}); err != nil {
			return err
		}
		return tx.SetVersion(ctx, 42)
	})
	if err != nil {
		t.Fatal(err)
	}
	s = h.Reopen(t, s)
	defer s.Close()
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		got, ok, err := r.Status(ctx, e.Holder)
		if !ok || err != nil || !sameStatus(got, e) {
			t.Errorf("entry: got %+v %v %v, want %+v", got, ok, err, e)
		}
		n, rev, err := r.Counts(ctx)
		v, verr := r.Version(ctx)
		if n != 1 || rev != 1 || v != 42 || err != nil || verr != nil {
			t.Errorf("got %d entries, %d revoked, version %d (%v, %v); want 1, 1, 42", n, rev, v, err, verr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testStatusProcesses: several handles on the same data (several serve or
// status processes on one PostgreSQL) serialise their transactions too.
func testStatusProcesses(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	stores := []central.Store{s}
	for range 3 {
		o := h.Another(t, s)
		defer o.Close()
		stores = append(stores, o)
	}
	bumpConcurrently(t, stores, 24)
}

// testStatusEntriesOf: EntriesOf gives the entries of the holders asked
// for that have one, once each, in holder order, across pages.
func testStatusEntriesOf(t *testing.T, s central.Store) {
	ctx := context.Background()
	var es []central.StatusEntry
	for i := range 1500 {
		es = append(es, central.StatusEntry{Holder: Holder(t, fmt.Sprintf("SH:%d", i)), Status: status.Status(1 + i%4),
			Effective: statusT0, SetAt: statusT0, Source: "engine", Note: fmt.Sprint(i)})
	}
	setStatus(t, s, es...)
	var ask []credential.Holder
	var want []string
	for i := 1499; i >= 0; i -= 2 { // every other one, backwards
		ask = append(ask, es[i].Holder)
		want = append(want, es[i].Holder.String())
	}
	ask = append(ask, es[1].Holder, es[3].Holder)                                         // again
	ask = append(ask, Holder(t, "ZJ:1"), Holder(t, "p:00112233445566778899aabbccddeeff")) // no entry
	slices.Sort(want)
	var got []central.StatusEntry
	err := s.ViewStatus(ctx, func(r central.StatusReader) (err error) {
		got, err = r.EntriesOf(ctx, ask)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Holder.String())
		var i int
		fmt.Sscan(e.Note, &i)
		if !sameStatus(e, es[i]) {
			t.Errorf("%s: got %+v, want %+v", e.Holder, e, es[i])
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("EntriesOf: got %d holders %v..., want %d %v...", len(names), names[:min(4, len(names))], len(want), want[:4])
	}
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		none, err := r.EntriesOf(ctx, nil)
		if err == nil && len(none) > 0 {
			err = fmt.Errorf("EntriesOf(nil) gave %d entries", len(none))
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// testStatusHeldBy: HeldBy gives the entries of one source that hold
// their holder at a colour other than green at a time, in holder order,
// and follows each change of an entry.
func testStatusHeldBy(t *testing.T, s central.Store) {
	ctx := context.Background()
	at := statusT0.Add(10 * 24 * time.Hour)
	entry := func(h string, st status.Status, source string, until time.Time) central.StatusEntry {
		return central.StatusEntry{Holder: Holder(t, h), Status: st, Effective: statusT0, Until: until, Source: source, SetAt: statusT0}
	}
	setStatus(t, s,
		entry("ZJ:1", status.Red, "engine", at.Add(time.Hour)),                                      // held
		entry("ZJ:2", status.Yellow, "engine", at.Add(-time.Hour)),                                  // lapsed
		entry("ZJ:3", status.Red, "engine", at),                                                     // lapses at at
		entry("ZJ:4", status.Green, "engine", time.Time{}),                                          // green
		entry("ZJ:5", status.Withheld, "engine", time.Time{}),                                       // held, open
		entry("ZJ:6", status.Red, "ops:ana", at.Add(time.Hour)),                                     // another source
		entry("HB:10", status.Yellow, "engine", at.Add(time.Second)),                                // held
		entry("p:00112233445566778899aabbccddeeff", status.Red, "engine", at.Add(400*24*time.Hour)), // held
	)
	held := func(source string, at time.Time) []string {
		t.Helper()
		var out []string
		err := s.ViewStatus(ctx, func(r central.StatusReader) error {
			for e, err := range r.HeldBy(ctx, source, at) {
				if err != nil {
					return err
				}
				if again, ok, err := r.Status(ctx, e.Holder); err != nil || !ok || !sameStatus(again, e) {
					return fmt.Errorf("HeldBy gave %+v, the entry is %+v (%v, %v)", e, again, ok, err)
				}
				out = append(out, e.Holder.String())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(step string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: HeldBy gave %q, want %q", step, got, want)
		}
	}
	check("first", held("engine", at), "HB:10", "ZJ:1", "ZJ:5", "p:00112233445566778899aabbccddeeff")
	check("an hour earlier", held("engine", at.Add(-time.Hour)), "HB:10", "ZJ:1", "ZJ:3", "ZJ:5", "p:00112233445566778899aabbccddeeff")
	check("ops", held("ops:ana", at), "ZJ:6")
	check("nobody's", held("ops:bob", at))
	// Changes move a holder in and out.
	setStatus(t, s,
		entry("ZJ:1", status.Green, "engine", time.Time{}),          // back to green
		entry("ZJ:2", status.Red, "engine", at.Add(24*time.Hour)),   // red again
		entry("ZJ:5", status.Withheld, "ops:ana", time.Time{}),      // taken over by hand
		entry("HB:10", status.Yellow, "engine", at.Add(-time.Hour)), // ends earlier
	)
	check("after changes", held("engine", at), "ZJ:2", "p:00112233445566778899aabbccddeeff")
	check("ops after changes", held("ops:ana", at), "ZJ:5", "ZJ:6")
	// A change rolled back leaves the index as it was.
	boom := errors.New("boom")
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		if _, _, err := tx.SetStatus(ctx, entry("ZJ:2", status.Green, "engine", time.Time{})); err != nil {
			return err
		}
		if _, _, err := tx.SetStatus(ctx, entry("ZJ:7", status.Red, "engine", time.Time{})); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the transaction's error", err)
	}
	check("after a rollback", held("engine", at), "ZJ:2", "p:00112233445566778899aabbccddeeff")
	// Stopping early is allowed.
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		for _, err := range r.HeldBy(ctx, "engine", at) {
			if err != nil {
				return err
			}
			break
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
