package status

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func native(iss string, idx uint32) credential.Holder {
	return credential.Holder{Kind: credential.HolderNative, Issuer: iss, Index: idx}
}

func pseud(b byte) credential.Holder {
	h := credential.Holder{Kind: credential.HolderPseudonym}
	h.Pseudonym[0], h.Pseudonym[15] = b, b
	return h
}

func newList(t *testing.T) *List {
	t.Helper()
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func applyBase(t *testing.T, l *List, b *Builder, version uint64) {
	t.Helper()
	p, err := b.MarshalBase()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: version, Payload: p}); err != nil {
		t.Fatal(err)
	}
}

func deltaBundle(t *testing.T, b *Builder, base, version uint64) *trust.Bundle {
	t.Helper()
	p, err := b.MarshalDelta()
	if err != nil {
		t.Fatal(err)
	}
	return &trust.Bundle{Kind: trust.KindStatusDelta, Version: version, Base: base, Payload: p}
}

func mustSet(t *testing.T, b *Builder, iss string, idx uint32, e Entry) {
	t.Helper()
	if err := b.SetNative(iss, idx, e); err != nil {
		t.Fatal(err)
	}
}

func TestLookupRule(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	mustSet(t, b, "ZJ", 7, Entry{Status: Red, Effective: t0, Until: t0.Add(time.Hour), Reason: 4})
	mustSet(t, b, "ZJ", 8, Entry{Status: Yellow, Effective: t0.Add(500 * time.Millisecond), Reason: 2})
	if err := b.SetPseudonym(pseud(1).Pseudonym, Entry{Status: Red, Effective: t0, Until: t0.Add(time.Hour), Reason: 9}); err != nil {
		t.Fatal(err)
	}
	applyBase(t, l, b, 1)
	now := t0.Add(time.Minute)
	tests := []struct {
		name     string
		h        credential.Holder
		issuedAt time.Time
		now      time.Time
		want     bool
	}{
		{"issued a second before", native("ZJ", 7), t0.Add(-time.Second), now, true},
		{"issued a nanosecond before", native("ZJ", 7), t0.Add(-time.Nanosecond), now, true},
		{"issued at the same second", native("ZJ", 7), t0, now, false},
		{"issued half a second after", native("ZJ", 7), t0.Add(500 * time.Millisecond), now, false},
		{"issued after", native("ZJ", 7), t0.Add(time.Second), now, false},
		{"lapsed at until", native("ZJ", 7), t0.Add(-time.Second), t0.Add(time.Hour), false},
		{"a second before until", native("ZJ", 7), t0.Add(-time.Second), t0.Add(time.Hour - time.Second), true},
		{"sub-second effective, code at the second before", native("ZJ", 8), t0, now, true},
		{"sub-second effective, code at the next second", native("ZJ", 8), t0.Add(time.Second), now, false},
		{"other index", native("ZJ", 9), t0.Add(-time.Hour), now, false},
		{"other issuer", native("HB-WH", 7), t0.Add(-time.Hour), now, false},
		{"unknown holder kind", credential.Holder{Issuer: "ZJ", Index: 7}, t0.Add(-time.Hour), now, false},
		{"pseudonym before", pseud(1), t0.Add(-time.Second), now, true},
		{"pseudonym after", pseud(1), t0, now, false},
		{"pseudonym lapsed", pseud(1), t0.Add(-time.Second), t0.Add(2 * time.Hour), false},
		{"other pseudonym", pseud(2), t0.Add(-time.Hour), now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.Lookup(tt.h, tt.issuedAt, tt.now)
			if r.Overridden != tt.want {
				t.Fatalf("got overridden %v, want %v (%+v)", r.Overridden, tt.want, r)
			}
		})
	}
	r := l.Lookup(native("ZJ", 7), t0.Add(-time.Second), now)
	want := Result{Overridden: true, Status: Red, Effective: t0, Until: t0.Add(time.Hour), Reason: 4}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if r := l.Lookup(native("ZJ", 8), t0, now); !r.Effective.Equal(t0.Add(time.Second)) || !r.Until.IsZero() || r.Status != Yellow {
		t.Errorf("got %+v, want yellow effective %v (rounded up), open", r, t0.Add(time.Second))
	}
}

func TestRedThenGreen(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	mustSet(t, b, "ZJ", 1, Entry{Status: Red, Effective: t0, Until: t0.Add(14 * 24 * time.Hour), Reason: 4})
	applyBase(t, l, b, 10)
	now := t0.Add(2 * 24 * time.Hour)
	if r := l.Lookup(native("ZJ", 1), t0.Add(-time.Hour), now); !r.Overridden || r.Status != Red {
		t.Fatalf("green code from before the red: got %+v, want overridden red", r)
	}
	d := NewBuilder()
	mustSet(t, d, "ZJ", 1, Entry{Status: Green, Effective: t0.Add(24 * time.Hour)})
	if err := l.ApplyDelta(deltaBundle(t, d, 10, 11)); err != nil {
		t.Fatal(err)
	}
	if v, ok := l.Version(); v != 11 || !ok {
		t.Fatalf("got version %d %v, want 11 true", v, ok)
	}
	tests := []struct {
		name     string
		issuedAt time.Time
		want     Result
	}{
		{"red code from during the red", t0.Add(time.Hour), Result{Overridden: true, Status: Green, Effective: t0.Add(24 * time.Hour)}},
		{"fresh green code", t0.Add(25 * time.Hour), Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Lookup(native("ZJ", 1), tt.issuedAt, now); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestApplyDeltaErrors(t *testing.T) {
	empty := NewBuilder()
	l := newList(t)
	if err := l.ApplyDelta(deltaBundle(t, empty, 0, 1)); !errors.Is(err, ErrNoBase) {
		t.Fatalf("delta before base: got %v, want ErrNoBase", err)
	}
	applyBase(t, l, empty, 5)
	var gap *GapError
	for _, tc := range []struct{ base, version uint64 }{{4, 6}, {6, 7}, {5, 5}} {
		err := l.ApplyDelta(deltaBundle(t, empty, tc.base, tc.version))
		if !errors.As(err, &gap) || gap.Have != 5 || gap.Base != tc.base {
			t.Errorf("delta %d→%d: got %v, want a GapError have 5 base %d", tc.base, tc.version, err, tc.base)
		}
	}
	base, _ := empty.MarshalBase()
	if err := l.ApplyDelta(&trust.Bundle{Kind: trust.KindStatusBase, Base: 5, Version: 6, Payload: base}); !errors.Is(err, ErrWrongKind) {
		t.Errorf("base as delta: got %v, want ErrWrongKind", err)
	}
	if err := l.ApplyBase(&trust.Bundle{Kind: trust.KindPolicy, Version: 6, Payload: base}); !errors.Is(err, ErrWrongKind) {
		t.Errorf("policy as base: got %v, want ErrWrongKind", err)
	}
	if err := l.ApplyBase(deltaBundle(t, empty, 5, 6)); !errors.Is(err, ErrWrongKind) {
		t.Errorf("delta as base: got %v, want ErrWrongKind", err)
	}
	if v, _ := l.Version(); v != 5 {
		t.Errorf("after refused bundles: got version %d, want 5", v)
	}
}

func TestDeltaReplaceRemove(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	for i := range uint32(300) {
		mustSet(t, b, "ZJ", i*1000, Entry{Status: Yellow, Effective: t0, Reason: 1})
	}
	b.Revoke("URN:UVCI:01:DE:A")
	b.Revoke("URN:UVCI:01:DE:B")
	if err := b.SetPseudonym(pseud(1).Pseudonym, Entry{Status: Red, Effective: t0}); err != nil {
		t.Fatal(err)
	}
	applyBase(t, l, b, 1)
	if got := l.Counts(); got != (Counts{Native: 300, Pseudonyms: 1, Revoked: 2}) {
		t.Fatalf("got counts %+v", got)
	}
	d := NewBuilder()
	mustSet(t, d, "ZJ", 0, Entry{Status: Red, Effective: t0.Add(time.Hour), Reason: 5})
	mustSet(t, d, "ZJ", 5, Entry{Status: Green, Effective: t0.Add(time.Hour)})
	mustSet(t, d, "GD", 5, Entry{Status: Green, Effective: t0.Add(time.Hour)})
	if err := d.RemoveNative("ZJ", 1000); err != nil {
		t.Fatal(err)
	}
	mustSet(t, d, "ZJ", 2000, Entry{Status: Red, Effective: t0.Add(time.Hour)})
	if err := d.RemoveNative("ZJ", 2000); err != nil { // the removal comes last: it wins
		t.Fatal(err)
	}
	d.Unrevoke("URN:UVCI:01:DE:A")
	d.Revoke("URN:UVCI:01:DE:C")
	d.RemovePseudonym(pseud(1).Pseudonym)
	if err := d.SetPseudonym(pseud(2).Pseudonym, Entry{Status: Withheld, Effective: t0}); err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyDelta(deltaBundle(t, d, 1, 2)); err != nil {
		t.Fatal(err)
	}
	at, now := t0.Add(-time.Minute), t0.Add(2*time.Hour)
	tests := []struct {
		name string
		h    credential.Holder
		want Status // 0: not overridden
	}{
		{"replaced", native("ZJ", 0), Red},
		{"added", native("ZJ", 5), Green},
		{"new issuer", native("GD", 5), Green},
		{"removed", native("ZJ", 1000), 0},
		{"set then removed", native("ZJ", 2000), 0},
		{"kept", native("ZJ", 3000), Yellow},
		{"pseudonym removed", pseud(1), 0},
		{"pseudonym added", pseud(2), Withheld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.Lookup(tt.h, at, now)
			if r.Status != tt.want || r.Overridden != (tt.want != 0) {
				t.Fatalf("got %+v, want status %v", r, tt.want)
			}
		})
	}
	for id, want := range map[string]bool{"URN:UVCI:01:DE:A": false, "URN:UVCI:01:DE:B": true, "URN:UVCI:01:DE:C": true, "x": false} {
		if got := l.Revoked(id); got != want {
			t.Errorf("Revoked(%q): got %v, want %v", id, got, want)
		}
	}
	if got := l.Counts(); got != (Counts{Native: 300, Pseudonyms: 1, Revoked: 2}) {
		t.Errorf("got counts %+v, want 300 native (−2 +2), 1 pseudonym, 2 revoked", got)
	}
}

func TestPrune(t *testing.T) {
	l, err := New(Options{NativeLifetime: 24 * time.Hour, Tolerance: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	now := t0.Add(10 * 24 * time.Hour)
	window := 24*time.Hour + time.Minute
	mustSet(t, b, "ZJ", 1, Entry{Status: Red, Effective: now.Add(-window)})                // can no longer override
	mustSet(t, b, "ZJ", 2, Entry{Status: Red, Effective: now.Add(-window + time.Second)})  // can
	mustSet(t, b, "ZJ", 3, Entry{Status: Red, Effective: now.Add(-time.Hour), Until: now}) // lapsed
	mustSet(t, b, "ZJ", 4, Entry{Status: Red, Effective: now.Add(-time.Hour), Until: now.Add(time.Second)})
	for _, e := range []struct {
		b     byte
		until time.Time
	}{{1, now}, {2, time.Time{}}, {3, now.Add(time.Second)}} {
		if err := b.SetPseudonym(pseud(e.b).Pseudonym, Entry{Status: Red, Effective: t0, Until: e.until}); err != nil {
			t.Fatal(err)
		}
	}
	applyBase(t, l, b, 1)
	// The oldest valid code was issued at now - window; entry 2 took
	// effect after it.
	oldest := now.Add(-window)
	before := map[uint32]bool{}
	for i := uint32(1); i <= 4; i++ {
		before[i] = l.Lookup(native("ZJ", i), oldest, now).Overridden
	}
	if got := l.Prune(now); got != 3 {
		t.Errorf("Prune: got %d dropped, want 3", got)
	}
	if got := l.Counts(); got != (Counts{Native: 2, Pseudonyms: 2}) {
		t.Errorf("got counts %+v, want 2 native and 2 pseudonyms", got)
	}
	for i := uint32(1); i <= 4; i++ {
		if got := l.Lookup(native("ZJ", i), oldest, now).Overridden; got != before[i] {
			t.Errorf("holder %d: pruning changed the answer for the oldest valid code: got %v, want %v", i, got, before[i])
		}
	}
	if !l.Lookup(native("ZJ", 2), oldest, now).Overridden || !l.Lookup(native("ZJ", 4), oldest, now).Overridden {
		t.Error("entries that can still override were pruned")
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []Options{{NativeLifetime: -time.Second}, {NativeLifetime: MaxWindow}, {Tolerance: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): got no error", o)
		}
	}
}

func TestClasses(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	for i := range uint32(MaxClasses) {
		mustSet(t, b, "ZJ", i, Entry{Status: Yellow, Effective: t0, Until: t0.Add(time.Duration(i+1) * time.Second)})
	}
	applyBase(t, l, b, 1)
	// Replacing every entry with new classes needs compaction.
	d := NewBuilder()
	for i := range uint32(MaxClasses) {
		mustSet(t, d, "ZJ", i, Entry{Status: Red, Effective: t0.Add(time.Minute), Until: t0.Add(time.Hour + time.Duration(i)*time.Second)})
	}
	if err := l.ApplyDelta(deltaBundle(t, d, 1, 2)); err != nil {
		t.Fatalf("delta that needs compaction: %v", err)
	}
	if r := l.Lookup(native("ZJ", 1000), t0, t0.Add(time.Minute)); r.Status != Red || !r.Until.Equal(t0.Add(time.Hour+1000*time.Second)) {
		t.Fatalf("got %+v, want red until %v", r, t0.Add(time.Hour+1000*time.Second))
	}
	d = NewBuilder()
	mustSet(t, d, "ZJ", 1<<20, Entry{Status: Green, Effective: t0.Add(time.Minute)})
	if err := l.ApplyDelta(deltaBundle(t, d, 2, 3)); !errors.Is(err, ErrTooManyClasses) {
		t.Fatalf("1,025th class: got %v, want ErrTooManyClasses", err)
	}
	if v, _ := l.Version(); v != 2 {
		t.Fatalf("after a refused delta: got version %d, want 2", v)
	}
}

// TestModel applies random bases and deltas and compares every lookup with
// a plain map of the latest entry per holder.
func TestModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type key struct {
		iss string
		idx uint32
	}
	issuers := []string{"ZJ", "HB-WH"}
	randKey := func() key {
		// Dense and sparse blocks, and the edges of the index range.
		switch r.IntN(4) {
		case 0:
			return key{issuers[r.IntN(2)], uint32(r.IntN(3000))}
		case 1:
			return key{issuers[r.IntN(2)], 1<<32 - 1 - uint32(r.IntN(10))}
		default:
			return key{issuers[r.IntN(2)], uint32(r.IntN(1 << 22))}
		}
	}
	entry := func() Entry {
		e := randomEntry(r, t0, 48*time.Hour)
		if e.Status != Green && r.IntN(3) == 0 {
			e.Until = t0.Add(49 * time.Hour) // an absolute until many share
		}
		return e
	}
	model := map[key]Entry{}
	l := newList(t)
	b := NewBuilder()
	for range 2000 {
		k := randKey()
		e := entry()
		mustSet(t, b, k.iss, k.idx, e)
		model[k] = e
	}
	applyBase(t, l, b, 1)
	check := func(round int) {
		t.Helper()
		now := t0.Add(40*time.Hour + time.Duration(r.IntN(10*3600))*time.Second)
		keys := make([]key, 0, len(model)+200)
		for k := range model {
			keys = append(keys, k)
		}
		for range 200 {
			keys = append(keys, randKey())
		}
		for _, k := range keys {
			for range 3 {
				at := t0.Add(time.Duration(r.Int64N(int64(50*time.Hour/time.Millisecond))) * time.Millisecond)
				got := l.Lookup(native(k.iss, k.idx), at, now)
				want := Result{}
				if e, ok := model[k]; ok && e.Effective.After(at) && (e.Until.IsZero() || now.Before(e.Until)) {
					want = Result{Overridden: true, Status: e.Status, Effective: e.Effective.UTC(), Until: e.Until, Reason: e.Reason}
				}
				if got != want {
					t.Fatalf("round %d: %v issued %v: got %+v, want %+v", round, k, at, got, want)
				}
			}
		}
		if got := l.Counts().Native; got != len(model) {
			t.Fatalf("round %d: got %d entries, want %d", round, got, len(model))
		}
	}
	check(0)
	for round := 1; round <= 20; round++ {
		d := NewBuilder()
		for range r.IntN(300) {
			k := randKey()
			if r.IntN(5) == 0 {
				if err := d.RemoveNative(k.iss, k.idx); err != nil {
					t.Fatal(err)
				}
				delete(model, k)
				continue
			}
			e := entry()
			mustSet(t, d, k.iss, k.idx, e)
			model[k] = e
		}
		if err := l.ApplyDelta(deltaBundle(t, d, uint64(round), uint64(round+1))); err != nil {
			t.Fatal(err)
		}
		check(round)
	}
}

func TestConcurrentLookup(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	for i := range uint32(1000) {
		mustSet(t, b, "ZJ", i, Entry{Status: Red, Effective: t0})
	}
	applyBase(t, l, b, 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for i := uint32(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Every holder stays listed, red or yellow.
				if r := l.Lookup(native("ZJ", i%1000), t0.Add(-time.Second), t0); !r.Overridden {
					t.Errorf("holder %d not found during a delta", i%1000)
					return
				}
			}
		})
	}
	for v := uint64(1); v < 30; v++ {
		d := NewBuilder()
		for i := range uint32(100) {
			mustSet(t, d, "ZJ", (uint32(v)*100+i)%1000, Entry{Status: Yellow, Effective: t0.Add(time.Duration(v) * time.Second)})
		}
		if err := l.ApplyDelta(deltaBundle(t, d, v, v+1)); err != nil {
			t.Fatal(err)
		}
		l.Prune(t0)
	}
	close(stop)
	wg.Wait()
}

func TestStatusText(t *testing.T) {
	for s := Green; s <= Withheld; s++ {
		got, err := ParseStatus(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q): got %v, %v, want %v", s.String(), got, err, s)
		}
	}
	if _, err := ParseStatus("blue"); !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("ParseStatus(blue): got %v, want ErrInvalidStatus", err)
	}
	if Red.Colour() != credential.ColourRed || Withheld.Colour() != credential.ColourNone {
		t.Error("wrong colours")
	}
	if _, err := Status(0).MarshalText(); err == nil {
		t.Error("MarshalText of status 0: got no error")
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder()
	tests := []struct {
		name string
		iss  string
		e    Entry
	}{
		{"no status", "ZJ", Entry{Effective: t0}},
		{"bad issuer", "zj!", Entry{Status: Red, Effective: t0}},
		{"until before effective", "ZJ", Entry{Status: Red, Effective: t0, Until: t0.Add(-time.Second)}},
		{"before 1970", "ZJ", Entry{Status: Red, Effective: time.Unix(-5, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.SetNative(tt.iss, 1, tt.e); err == nil {
				t.Fatal("got no error")
			}
		})
	}
	if err := b.RemoveNative("ZJ", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.MarshalBase(); !errors.Is(err, ErrMalformed) {
		t.Errorf("base with a removal: got %v, want ErrMalformed", err)
	}
}

// TestClone: a delta applied to a clone changes the clone only; the
// original keeps answering as before, and a clone refused a delta keeps
// its version.
func TestClone(t *testing.T) {
	l := newList(t)
	b := NewBuilder()
	mustSet(t, b, "ZJ", 1, Entry{Status: Red, Effective: t0})
	applyBase(t, l, b, 3)
	d := NewBuilder()
	mustSet(t, d, "ZJ", 2, Entry{Status: Yellow, Effective: t0})
	c := l.Clone()
	if err := c.ApplyDelta(deltaBundle(t, d, 3, 4)); err != nil {
		t.Fatal(err)
	}
	issued, now := t0.Add(-time.Hour), t0.Add(time.Hour)
	if r := c.Lookup(native("ZJ", 2), issued, now); !r.Overridden || r.Status != Yellow {
		t.Errorf("clone after the delta: ZJ:2 got %+v, want yellow", r)
	}
	if r := c.Lookup(native("ZJ", 1), issued, now); !r.Overridden || r.Status != Red {
		t.Errorf("clone after the delta: ZJ:1 got %+v, want red (from the base)", r)
	}
	if r := l.Lookup(native("ZJ", 2), issued, now); r.Overridden {
		t.Errorf("original after the clone's delta: ZJ:2 got %+v, want not listed", r)
	}
	if v, _ := l.Version(); v != 3 {
		t.Errorf("original at v%d, want v3", v)
	}
	c2 := c.Clone()
	if err := c2.ApplyDelta(deltaBundle(t, d, 3, 5)); err == nil {
		t.Error("a delta on the wrong version applied to a clone")
	}
	if v, _ := c2.Version(); v != 4 {
		t.Errorf("clone after a refused delta at v%d, want v4", v)
	}
}
