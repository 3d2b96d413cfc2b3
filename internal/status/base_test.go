package status

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// randomBase makes a base of random native entries (scattered indexes,
// dense ranges that travel as roaring runs, several issuers and classes,
// absolute and relative untils), pseudonyms and revocations.
func randomBase(t testing.TB, r *rand.Rand) []byte {
	t.Helper()
	b := NewBuilder()
	issuers := []string{"ZJ", "HB-WH", "GD"}
	for range r.IntN(3000) {
		e := randomEntry(r, t0, 3*24*time.Hour)
		if r.IntN(10) == 0 && e.Until.IsZero() {
			e.Until = t0.Add(10 * 24 * time.Hour) // an absolute until many share
		}
		if err := b.SetNative(issuers[r.IntN(len(issuers))], uint32(r.IntN(1<<(10+r.IntN(20)))), e); err != nil {
			t.Fatal(err)
		}
	}
	if r.IntN(2) == 0 { // a withheld range: roaring runs
		start := uint32(r.IntN(1 << 24))
		for i := range uint32(r.IntN(5000)) {
			if err := b.SetNative("GD", start+i, Entry{Status: Withheld, Effective: t0, Reason: 6}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range r.IntN(50) {
		var p Pseudonym
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		if err := b.SetPseudonym(p, randomEntry(r, t0, 24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for range r.IntN(50) {
		b.Revoke(fmt.Sprintf("URN:UVCI:01:XX:%d", r.Uint64()))
	}
	data, err := b.MarshalBase()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// applyOld applies a base the way ApplyBase did before it streamed:
// parsed in full, then built.
func applyOld(version uint64, data []byte) (*List, error) {
	l, err := New(Options{})
	if err != nil {
		return nil, err
	}
	p, err := ParseBase(data)
	if err != nil {
		return nil, err
	}
	return l, l.ApplyBasePayload(version, p)
}

func applyNew(version uint64, data []byte) (*List, error) {
	l, err := New(Options{})
	if err != nil {
		return nil, err
	}
	return l, l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: version, Payload: data})
}

// TestApplyBaseSameAsParsed: the list ApplyBase builds in one pass is the
// list the parsed payload builds, over random bases.
func TestApplyBaseSameAsParsed(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	for i := range 200 {
		data := randomBase(t, r)
		want, err := applyOld(3, data)
		if err != nil {
			t.Fatalf("base %d: parsed path: %v", i, err)
		}
		got, err := applyNew(3, data)
		if err != nil {
			t.Fatalf("base %d: %v", i, err)
		}
		if !reflect.DeepEqual(got.cur.Load(), want.cur.Load()) {
			t.Fatalf("base %d: the lists differ (counts %+v, want %+v)", i, got.Counts(), want.Counts())
		}
		if c := got.Counts(); i < 5 && c.Native+c.Pseudonyms+c.Revoked == 0 {
			t.Logf("base %d is empty", i)
		}
	}
}

// TestApplyBaseRefusesDamage: a truncated or corrupted base is refused
// with a typed error, and the list keeps the base it had, entries and all.
func TestApplyBaseRefusesDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 4))
	good := randomBase(t, r)
	l, err := applyNew(1, good)
	if err != nil {
		t.Fatal(err)
	}
	before := l.cur.Load()
	var probe credential.Holder
	for name, is := range before.native {
		probe = credential.Holder{Kind: credential.HolderNative, Issuer: name, Index: uint32(is.keys[0])<<16 | uint32(is.blocks[0].low(0))}
		break
	}
	want := l.Lookup(probe, time.Unix(0, 0), t0)
	if !want.Overridden {
		t.Fatal("probe not listed")
	}
	refused := 0
	try := func(what string, data []byte) {
		t.Helper()
		// Parsed path first: a change that leaves a valid base (a bit of
		// a time) is not damage to refuse.
		if _, err := applyOld(2, data); err == nil {
			return
		}
		err := l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: 2, Payload: data})
		if err == nil {
			t.Fatalf("%s: applied", what)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidStatus) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%s: untyped error %v", what, err)
		}
		if l.cur.Load() != before {
			t.Fatalf("%s: the list changed", what)
		}
		if v, _ := l.Version(); v != 1 || l.Lookup(probe, time.Unix(0, 0), t0) != want {
			t.Fatalf("%s: version %d, lookup changed", what, v)
		}
		refused++
	}
	for _, n := range []int{0, 1, len(good) / 3, len(good) / 2, len(good) - 1} {
		try(fmt.Sprintf("truncated to %d bytes", n), good[:n])
	}
	for range 1000 {
		bad := append([]byte(nil), good...)
		i := r.IntN(len(bad))
		bad[i] ^= byte(1 << r.IntN(8))
		try(fmt.Sprintf("bit flipped at %d", i), bad)
	}
	if refused < 50 {
		t.Fatalf("only %d damaged bases refused", refused)
	}
}

// FuzzApplyBase: whatever the bytes, ApplyBase accepts exactly what the
// parsed path accepts, and builds the same list.
func FuzzApplyBase(f *testing.F) {
	fuzzSeeds(f, true)
	r := rand.New(rand.NewPCG(2, 2))
	for range 4 {
		f.Add(randomBase(f, r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := applyOld(1, data)
		got, gerr := applyNew(1, data)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("parsed path: %v; ApplyBase: %v", werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got.cur.Load(), want.cur.Load()) {
			t.Fatal("the lists differ")
		}
	})
}

// TestParsedPayloadOwnsItsBytes: the wire form aliases the payload, but a
// parsed Payload keeps copies: changing the bytes afterwards changes
// nothing it says.
func TestParsedPayloadOwnsItsBytes(t *testing.T) {
	data := randomBase(t, rand.New(rand.NewPCG(5, 5)))
	want, err := applyOld(1, data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseBase(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = ^data[i]
	}
	got, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := got.ApplyBasePayload(1, p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.cur.Load(), want.cur.Load()) {
		t.Fatal("the parsed payload changed with the bytes it was parsed from")
	}
}

// TestSortLow: the counting sort orders a block's entries as a comparison
// sort does, carrying each entry whole.
func TestSortLow(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var tmp []nent
	for _, n := range []int{0, 1, 2, 255, 256, 257, 5000, 1 << 16} {
		perm := r.Perm(1 << 16)[:n]
		ents := make([]nent, n)
		for i, lo := range perm {
			ents[i] = nent{idx: 7<<16 | uint32(lo), cls: uint16(r.IntN(MaxClasses)), eff: r.Int64()}
		}
		want := slices.Clone(ents)
		slices.SortFunc(want, func(a, b nent) int { return cmp.Compare(a.idx, b.idx) })
		tmp = sortLow(ents, tmp)
		if !slices.Equal(ents, want) {
			t.Fatalf("%d entries: not sorted as a comparison sort sorts", n)
		}
	}
}
