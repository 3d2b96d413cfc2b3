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

	"sentinel/crypto/cose"
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

// TestSortBlock: the block the counting sort writes straight into a
// block's data is the block makeBlock makes of the same entries sorted by
// a comparison sort; a holder listed twice is refused, and effective times
// wider than a block keeps are left to makeBlock.
func TestSortBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	var tmp []nent
	for _, n := range []int{1, 2, 3, indexMin, indexMin + 1, 255, 256, 257, 5000, 1 << 16} {
		perm := r.Perm(1 << 16)[:n]
		ents := make([]nent, n)
		base := int64(1_700_000_000 + r.IntN(1000))
		for i, lo := range perm {
			ents[i] = nent{idx: 9<<16 | uint32(lo), cls: uint16(r.IntN(MaxClasses)), eff: base + r.Int64N(maxSpan+1)}
		}
		sorted := slices.Clone(ents)
		slices.SortFunc(sorted, func(a, b nent) int { return cmp.Compare(a.idx, b.idx) })
		want := makeBlock(sorted)
		got, ok, err := sortBlock(ents, &tmp)
		if err != nil || !ok {
			t.Fatalf("%d entries: ok %v, %v", n, ok, err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("%d entries: the block differs from makeBlock's", n)
		}
		if n > 1 {
			i, j := r.IntN(n-1), n-1 // two places
			dup := slices.Clone(ents)
			dup[i].idx = dup[j].idx
			if _, _, err := sortBlock(dup, &tmp); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d entries, a holder twice: got %v, want ErrMalformed", n, err)
			}
			wide := slices.Clone(ents)
			wide[i].eff, wide[j].eff = base-1, base+maxSpan
			if _, ok, err := sortBlock(wide, &tmp); ok || err != nil {
				t.Fatalf("%d entries over %d s: ok %v, %v; want left to makeBlock", n, maxSpan+1, ok, err)
			}
		}
	}
}

// TestApplyBaseContents applies bases of many entries per block, from
// several groups per issuer and from one, with effective times both within
// a block's span and wider (the oldest then dropped), and checks every
// entry of the list against the entries given to the Builder.
func TestApplyBaseContents(t *testing.T) {
	type key struct {
		iss string
		idx uint32
	}
	r := rand.New(rand.NewPCG(11, 11))
	for round := range 12 {
		b := NewBuilder()
		model := map[key]Entry{}
		span := 7 * 24 * time.Hour
		if round%3 == 2 {
			span = 60 * 24 * time.Hour // wider than a block keeps
		}
		for range 20_000 + r.IntN(20_000) {
			k := key{"ZJ", uint32(r.IntN(1 << 18))} // about 150 entries a block
			if r.IntN(4) == 0 {
				k.iss = "GD" // one class only: one group, entries already sorted
			}
			e := randomEntry(r, t0, span)
			if k.iss == "GD" {
				e = Entry{Status: Withheld, Effective: e.Effective, Reason: 6}
			}
			mustSet(t, b, k.iss, k.idx, e)
			model[k] = e
		}
		data, err := b.MarshalBase()
		if err != nil {
			t.Fatal(err)
		}
		l, err := applyNew(1, data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// What a block keeps: entries no older than its newest minus maxSpan.
		newest := map[key]int64{}
		for k, e := range model {
			bk := key{k.iss, k.idx >> 16}
			newest[bk] = max(newest[bk], e.Effective.Unix())
		}
		want := map[key]Entry{}
		for k, e := range model {
			if e.Effective.Unix() >= newest[key{k.iss, k.idx >> 16}]-maxSpan {
				want[k] = e
			}
		}
		if span <= maxSpan*time.Second && len(want) != len(model) {
			t.Fatalf("round %d: the model drops entries within a block's span", round)
		}
		if len(want) == len(model) && span > maxSpan*time.Second {
			t.Fatalf("round %d: no entry old enough to drop", round)
		}
		s := l.cur.Load()
		got := 0
		for name, is := range s.native {
			for bi := range is.blocks {
				blk := &is.blocks[bi]
				for _, e := range blk.entries(nil, is.keys[bi]) {
					k := key{name, e.idx}
					w, ok := want[k]
					c := is.classes[e.cls]
					if !ok || e.eff != w.Effective.Unix() || c.status != w.Status || c.reason != w.Reason || c.untilFor(e.eff) != unixOrZero(w.Until) {
						t.Fatalf("round %d: %v: got eff %d class %+v; want %+v (listed %v)", round, k, e.eff, c, w, ok)
					}
					if j, ok := blk.find(uint16(e.idx)); !ok || blk.low(j) != uint16(e.idx) {
						t.Fatalf("round %d: %v not found in its block", round, k)
					}
					got++
				}
			}
		}
		if got != len(want) || l.Counts().Native != len(want) {
			t.Fatalf("round %d: %d entries (counted %d), want %d", round, got, l.Counts().Native, len(want))
		}
	}
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// FuzzBitReader: the one-load paths of readRice and readBitsAt read what
// the byte-at-a-time ones read, whatever the bytes, parameter and limit.
func FuzzBitReader(f *testing.F) {
	f.Add([]byte{0x5a, 0xff, 0x00, 0x81, 0x42, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01}, uint8(3), uint32(1000), uint16(2))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00}, uint8(0), uint32(1<<31), uint16(0))
	f.Add([]byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, uint8(31), uint32(1<<32-1), uint16(7))
	data, _ := riceEncode([]uint32{1, 70, 71, 5000, 1 << 20})
	f.Add(data, uint8(4), uint32(1<<32-1), uint16(0))
	// A code of 58 bits (a quotient of 30, k 27) at bit 7: one load
	// from its byte holds only 57 of them.
	var w bitWriter
	w.write(0, 7)
	w.writeRice(30<<27|(1<<27-1), 27)
	f.Add(w.bytes(), uint8(27), uint32(1<<32-1), uint16(7))
	f.Fuzz(func(t *testing.T, buf []byte, k uint8, limit uint32, start uint16) {
		k %= 32
		if int(start) > 8*len(buf) {
			start = uint16(8 * len(buf))
		}
		fast := bitReader{buf: buf, pos: uint64(start)}
		slow := fast
		for range 64 {
			v, ok := fast.readRice(uint(k), uint64(limit))
			sv, sok := slow.readRiceSlow(uint(k), uint64(limit))
			if ok != sok || ok && (v != sv || fast.pos != slow.pos) {
				t.Fatalf("at bit %d: readRice %d, %v (pos %d); byte at a time %d, %v (pos %d)", slow.pos, v, ok, fast.pos, sv, sok, slow.pos)
			}
			if !ok {
				break
			}
		}
		for n := uint(0); n <= 32; n++ {
			for pos := uint64(start); pos+uint64(n) <= uint64(8*len(buf)) && pos < uint64(start)+16; pos++ {
				if got, want := readBitsAt(buf, pos, n), readBitsAtSlow(buf, pos, n); got != want {
					t.Fatalf("%d bits at %d: %#x, byte at a time %#x", n, pos, got, want)
				}
			}
		}
	})
}

// TestApplyBaseRefusesDamagedGroup: damage that only the entries past a
// group's first show, where ApplyBase decodes a block's entries in one
// loop (cursor.fill), is refused as the parsed path refuses it.
func TestApplyBaseRefusesDamagedGroup(t *testing.T) {
	const n = 320
	b := NewBuilder()
	for i := range uint32(n) {
		e := Entry{Status: Yellow, Effective: t0.Add(time.Duration(i) * time.Minute), Until: t0.Add(48 * time.Hour), Reason: 2}
		if i == 200 {
			e.Effective = t0.Add(24 * time.Hour) // the latest, far from the end
		}
		if err := b.SetNative("ZJ", i*7919, e); err != nil {
			t.Fatal(err)
		}
	}
	data, err := b.MarshalBase()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applyNew(1, data); err != nil {
		t.Fatalf("the undamaged base: %v", err)
	}
	tests := []struct {
		name string
		edit func(g *wireGroup)
	}{
		{"until at a later entry's effective time", func(g *wireGroup) {
			// Entry 200, alone, takes effect when it lapses.
			g.Until = g.T0 + int64(readBitsAt(g.Times, 200*uint64(g.Width), uint(g.Width)))
			g.Lapse = 0
		}},
		{"members past the count", func(g *wireGroup) {
			// The codes of the last 40 entries are left over, well over
			// the 8 bytes one load reads.
			g.Count -= 40
			g.Times = g.Times[:packedLen(g.Count, uint(g.Width))]
			if g.Count*uint64(g.Width)%8 != 0 {
				t.Fatalf("times of width %d do not end on a byte", g.Width)
			}
		}},
		{"the last index past 2^32-1, in a code of 57 bits", func(g *wireGroup) {
			// Index 0, then a gap of 25<<31 (a quotient of 25 ones, a
			// zero and 31 low bits: 57 bits, followed by 7 bits of
			// padding).
			var w bitWriter
			w.writeRice(0, 31)
			w.writeRice(25<<31, 31)
			g.Count, g.K, g.Members = 2, 31, w.bytes()
			g.Width, g.Times, g.Until = 0, nil, 0
			if len(g.Members) != 12 {
				t.Fatalf("members of %d bytes, want 12", len(g.Members))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w wirePayload
			if err := cose.DecMode().Unmarshal(data, &w); err != nil {
				t.Fatal(err)
			}
			if len(w.Native) != 1 || w.Native[0].Count != n || w.Native[0].Enc != encRice {
				t.Fatalf("want one Rice group of %d entries, got %d groups", n, len(w.Native))
			}
			tt.edit(&w.Native[0])
			bad := encode(t, &w)
			if _, err := applyOld(1, bad); !errors.Is(err, ErrMalformed) {
				t.Fatalf("parsed path: got %v, want ErrMalformed", err)
			}
			if _, err := applyNew(1, bad); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ApplyBase: got %v, want ErrMalformed", err)
			}
		})
	}
}
