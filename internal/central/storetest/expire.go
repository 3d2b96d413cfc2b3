package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/status"
)

// testExpire: the retention of what the centre keeps besides passages
// (central.Expirer) removes the facts that ended before their horizon
// and the home and manual facts a later one replaced before it, but keeps
// those in force for ever and each holder's home, the
// status entries and revocations that lapsed before theirs, and the
// audit entries and engine changes made before the audit horizon; zero
// horizons remove nothing, and a second run finds nothing more.
func testExpire(t *testing.T, s central.Store) {
	ctx := context.Background()
	hz := engineT0.Add(200 * 24 * time.Hour) // the horizon of every part
	day := 24 * time.Hour
	old := central.ChangeBy{Time: hz.Add(-time.Hour), By: "ops:test"}
	facts := []struct {
		f    central.Fact
		keep bool
	}{
		{central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: hz.Add(-2 * day)}, false},
		{central.Fact{Holder: "ZJ:1", Kind: central.FactFever, At: hz.Add(time.Hour), Temperature: 311 * 1e9}, true},
		{central.Fact{Holder: "ZJ:2", Kind: central.FactContact, At: hz.Add(-time.Second), Value: "ZJ:1"}, false},
		{central.Fact{Holder: "ZJ:3", Kind: central.FactWhitelist, At: hz.Add(-100 * day), Area: "ZJ", Value: "drivers"}, true},
		{central.Fact{Holder: "ZJ:3", Kind: central.FactWhitelist, At: hz.Add(-100 * day), Until: hz.Add(-time.Hour), Area: "ZJ", Value: "nurses"}, false},
		// A later manual status replaces an earlier one, open or not.
		{central.Fact{Holder: "ZJ:4", Kind: central.FactManual, At: hz.Add(-100 * day), Value: "red"}, false},
		{central.Fact{Holder: "ZJ:4", Kind: central.FactManual, At: hz.Add(-50 * day), Value: "green"}, true},
		{central.Fact{Holder: "ZJ:8", Kind: central.FactManual, At: hz.Add(-100 * day), Until: hz.Add(time.Hour), Value: "yellow"}, true},
		// One that takes effect after the horizon replaces nothing yet.
		{central.Fact{Holder: "ZJ:9", Kind: central.FactManual, At: hz.Add(-10 * day), Value: "red"}, true},
		{central.Fact{Holder: "ZJ:9", Kind: central.FactManual, At: hz.Add(2 * time.Hour), Value: "green"}, true},
		{central.Fact{Holder: "ZJ:5", Kind: central.FactHome, At: hz.Add(-100 * day), Area: "ZJ"}, false},
		{central.Fact{Holder: "ZJ:5", Kind: central.FactHome, At: hz.Add(-50 * day), Area: "ZJ"}, true},
		{central.Fact{Holder: "ZJ:6", Kind: central.FactHome, At: hz.Add(-10 * day), Area: "ZJ"}, true},
		{central.Fact{Holder: "ZJ:6", Kind: central.FactHome, At: hz.Add(time.Hour), Area: "ZJ"}, true},
		{central.Fact{Holder: "ZJ:7", Kind: central.FactTestNegative, At: hz}, true},
	}
	var keep []uint64
	mustUpdate(t, s, func(tx central.EngineTx) error {
		if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, old); err != nil {
			return err
		}
		for i, c := range facts {
			c.f.Source = "ops:test"
			b := old
			if i == len(facts)-1 {
				b.Time = hz.Add(time.Hour) // the one change after the audit horizon
			}
			f, err := tx.AddFact(ctx, c.f, b)
			if err != nil {
				return err
			}
			if c.keep {
				keep = append(keep, f.Seq)
			}
		}
		return nil
	})
	mustStatus(t, s, func(tx central.StatusTx) error {
		for _, e := range []central.StatusEntry{
			{Holder: Holder(t, "ZJ:1"), Status: status.Red, Effective: hz.Add(-20 * day), Until: hz.Add(-time.Hour), Source: "engine"},
			{Holder: Holder(t, "ZJ:2"), Status: status.Yellow, Effective: hz.Add(-20 * day), Until: hz.Add(time.Hour), Source: "engine"},
			{Holder: Holder(t, "ZJ:3"), Status: status.Red, Effective: hz.Add(-20 * day), Source: "ops:olga"},
			{Holder: Holder(t, "ZJ:4"), Status: status.Green, Effective: hz.Add(-200 * day), Until: hz.Add(-100 * day), Source: "ops:olga"},
		} {
			e.SetAt = e.Effective
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return err
			}
		}
		for _, r := range []central.Revocation{
			{UCI: "URN:UVCI:01:GONE", RevokedAt: hz.Add(-20 * day), Until: hz.Add(-time.Hour)},
			{UCI: "URN:UVCI:01:OPEN", RevokedAt: hz.Add(-20 * day)},
			{UCI: "URN:UVCI:01:LATER", RevokedAt: hz.Add(-20 * day), Until: hz.Add(time.Hour)},
		} {
			if _, err := tx.Revoke(ctx, r.UCI, r.RevokedAt, r.Until); err != nil {
				return err
			}
		}
		return tx.SetVersion(ctx, 7)
	})
	for _, at := range []time.Duration{-time.Hour, -time.Minute, time.Minute} {
		e := AuditEntries(1)[0]
		e.Time = hz.Add(at)
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	if n, err := s.Expire(ctx, central.Horizons{}); err != nil || n.Total() != 0 {
		t.Fatalf("Expire with no horizon: removed %+v, %v; want nothing", n, err)
	}
	n, err := s.Expire(ctx, central.Horizons{Facts: hz, Statuses: hz, Audit: hz})
	if err != nil {
		t.Fatal(err)
	}
	if want := (central.Expired{Facts: 5, Statuses: 2, Revocations: 1, Audit: 2, Changes: len(facts)}); n != want {
		t.Errorf("Expire removed %+v, want %+v", n, want)
	}

	var got []uint64
	var changes []central.EngineChange
	err = s.ViewEngine(ctx, func(r central.EngineReader) error {
		fs, err := r.AllFacts(ctx)
		for _, f := range fs {
			got = append(got, f.Seq)
		}
		if err == nil {
			changes, err = r.Changes(ctx, 1, 0)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, keep) {
		t.Errorf("facts left: %v, want %v", got, keep)
	}
	if len(changes) != 1 || !changes[0].Time.Equal(hz.Add(time.Hour)) {
		t.Errorf("engine changes left: %+v, want the one at %s", changes, hz.Add(time.Hour))
	}

	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		var holders []string
		for e, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			holders = append(holders, e.Holder.String())
		}
		if !slices.Equal(holders, []string{"ZJ:2", "ZJ:3"}) {
			t.Errorf("status entries left: %v, want ZJ:2 and ZJ:3", holders)
		}
		var held []string
		for e, err := range r.HeldBy(ctx, "engine", hz.Add(-300*day)) {
			if err != nil {
				return err
			}
			held = append(held, e.Holder.String())
		}
		if !slices.Equal(held, []string{"ZJ:2"}) {
			t.Errorf("HeldBy engine after expiry: %v, want ZJ:2 alone", held)
		}
		var ucis []string
		for rv, err := range r.Revocations(ctx) {
			if err != nil {
				return err
			}
			ucis = append(ucis, rv.UCI)
		}
		if !slices.Equal(ucis, []string{"URN:UVCI:01:LATER", "URN:UVCI:01:OPEN"}) {
			t.Errorf("revocations left: %v", ucis)
		}
		if v, err := r.Version(ctx); err != nil || v != 7 {
			t.Errorf("status version after expiry: %d, %v; want 7 unchanged", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	es, err := s.Audit(ctx, central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || !es[0].Time.Equal(hz.Add(time.Minute)) {
		t.Errorf("audit entries left: %+v, want the one at %s", es, hz.Add(time.Minute))
	}
	// The log still takes entries after an expiry.
	e := AuditEntries(1)[0]
	e.Time = hz.Add(time.Hour)
	if err := s.AppendAudit(ctx, e); err != nil {
		t.Fatalf("append after expiry: %v", err)
	}

	// The change log goes on after an expiry: a new change comes after
	// the one kept, and reading from just past that one finds it (a
	// sequence number is never given twice).
	mustUpdate(t, s, func(tx central.EngineTx) error {
		_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:10", Kind: central.FactConfirmed, At: hz.Add(time.Hour), Source: "ops:test"},
			central.ChangeBy{Time: hz.Add(2 * time.Hour), By: "ops:test"})
		return err
	})
	if len(changes) == 1 {
		var after []central.EngineChange
		err := s.ViewEngine(ctx, func(r central.EngineReader) (err error) {
			after, err = r.Changes(ctx, changes[0].Seq+1, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 1 || after[0].Subject != "ZJ:10" || after[0].Seq <= changes[0].Seq {
			t.Errorf("changes after the kept one (seq %d) once a new fact is added: %+v, want the new fact's change alone, with a higher seq", changes[0].Seq, after)
		}
	}

	if n, err := s.Expire(ctx, central.Horizons{Facts: hz, Statuses: hz, Audit: hz}); err != nil || n.Total() != 0 {
		t.Fatalf("second Expire: removed %+v, %v; want nothing", n, err)
	}
}

func mustStatus(t *testing.T, s central.Store, fn func(tx central.StatusTx) error) {
	t.Helper()
	if err := s.UpdateStatus(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// Expire runs the conformance case of central.Expirer on s, an empty
// store, for stores whose harness Run does not fit (a cluster set).
func Expire(t *testing.T, s central.Store) { testExpire(t, s) }
