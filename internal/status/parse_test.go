package status

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"sentinel/crypto/cose"
)

// validWire returns a small valid delta as its wire struct.
func validWire(t testing.TB) wirePayload {
	t.Helper()
	b := NewBuilder()
	for i := range uint32(50) {
		if err := b.SetNative("ZJ", i*7919, Entry{Status: Yellow, Effective: t0.Add(time.Duration(i) * time.Minute), Until: t0.Add(48 * time.Hour), Reason: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetPseudonym(Pseudonym{1}, Entry{Status: Red, Effective: t0}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPseudonym(Pseudonym{2}, Entry{Status: Red, Effective: t0}); err != nil {
		t.Fatal(err)
	}
	b.Revoke("a")
	b.Revoke("b")
	if err := b.RemoveNative("GD", 3); err != nil {
		t.Fatal(err)
	}
	data, err := b.MarshalDelta()
	if err != nil {
		t.Fatal(err)
	}
	var w wirePayload
	if err := cose.DecMode().Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func encode(t testing.TB, w *wirePayload) []byte {
	t.Helper()
	b, err := cose.EncMode().Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRoundTrip(t *testing.T) {
	w := validWire(t)
	p, err := ParseDelta(encode(t, &w))
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Native: 50, Pseudonyms: 2, Revoked: 2, RemoveNative: 1}
	if got := p.Counts(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i, x := range p.groups[0].idx {
		if x != uint32(i)*7919 || p.groups[0].eff(i) != t0.Add(time.Duration(i)*time.Minute).Unix() {
			t.Fatalf("entry %d: got index %d effective %d", i, x, p.groups[0].eff(i))
		}
	}
	// Marshalling is deterministic.
	again, err := p.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, encode(t, &w)) {
		t.Error("re-marshalled payload differs")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		base bool
		edit func(w *wirePayload)
		raw  []byte
		want error
	}{
		{name: "not CBOR", raw: []byte{0xff, 0x00}, want: ErrMalformed},
		{name: "empty", raw: nil, want: ErrMalformed},
		{name: "format 2", edit: func(w *wirePayload) { w.Format = 2 }, want: ErrMalformed},
		{name: "removal in a base", base: true, edit: func(w *wirePayload) {}, want: ErrMalformed},
		{name: "bad issuer", edit: func(w *wirePayload) { w.Native[0].Issuer = "zj" }, want: ErrMalformed},
		{name: "status 0", edit: func(w *wirePayload) { w.Native[0].Status = 0 }, want: ErrInvalidStatus},
		{name: "status 5", edit: func(w *wirePayload) { w.Native[0].Status = 5 }, want: ErrInvalidStatus},
		{name: "empty group", edit: func(w *wirePayload) { w.Native[0].Count = 0 }, want: ErrMalformed},
		{name: "count above the bytes", edit: func(w *wirePayload) { w.Native[0].Count = 1 << 20 }, want: ErrMalformed},
		{name: "count above MaxEntries", edit: func(w *wirePayload) { w.Native[0].Count = MaxEntries + 1 }, want: ErrTooLarge},
		{name: "count one more", edit: func(w *wirePayload) { w.Native[0].Count++ }, want: ErrMalformed},
		{name: "count one less", edit: func(w *wirePayload) { w.Native[0].Count-- }, want: ErrMalformed},
		{name: "rice k 32", edit: func(w *wirePayload) { w.Native[0].K = 32 }, want: ErrMalformed},
		{name: "members truncated", edit: func(w *wirePayload) { w.Native[0].Members = w.Native[0].Members[:10] }, want: ErrMalformed},
		{name: "members trailing byte", edit: func(w *wirePayload) { w.Native[0].Members = append(w.Native[0].Members, 0) }, want: ErrMalformed},
		{name: "members past 2^32", edit: func(w *wirePayload) {
			w.Native[0].K = 31
			w.Native[0].Count = 3
			w.Native[0].Members = bytes.Repeat([]byte{0x7f}, 12)
		}, want: ErrMalformed},
		{name: "width 33", edit: func(w *wirePayload) { w.Native[0].Width = 33 }, want: ErrMalformed},
		{name: "times short", edit: func(w *wirePayload) { w.Native[0].Times = w.Native[0].Times[1:] }, want: ErrMalformed},
		{name: "times padding", edit: func(w *wirePayload) {
			w.Native[0].Width = 3
			w.Native[0].Times = bytes.Repeat([]byte{0xff}, int(packedLen(50, 3)))
		}, want: ErrMalformed},
		{name: "negative t0", edit: func(w *wirePayload) { w.Native[0].T0 = -1 }, want: ErrMalformed},
		{name: "t0 past 2200", edit: func(w *wirePayload) { w.Native[0].T0 = maxUnix }, want: ErrMalformed},
		{name: "too many groups", edit: func(w *wirePayload) {
			for len(w.Native) <= MaxGroups {
				w.Native = append(w.Native, w.Native[0])
			}
		}, want: ErrMalformed}, // the CBOR decoder bounds arrays first
		{name: "pseudonyms odd size", edit: func(w *wirePayload) { w.Pseudonyms = w.Pseudonyms[1:] }, want: ErrMalformed},
		{name: "pseudonyms unsorted", edit: func(w *wirePayload) {
			w.Pseudonyms = append(w.Pseudonyms[pseudRecordSize:], w.Pseudonyms[:pseudRecordSize]...)
		}, want: ErrMalformed},
		{name: "pseudonym status", edit: func(w *wirePayload) { w.Pseudonyms[32] = 9 }, want: ErrInvalidStatus},
		{name: "pseudonym until before effective", edit: func(w *wirePayload) { w.Pseudonyms[24+7] = 1 }, want: ErrMalformed},
		{name: "revoked repeated", edit: func(w *wirePayload) { copy(w.Revoked[16:], w.Revoked[:16]) }, want: ErrMalformed},
		{name: "revoked odd size", edit: func(w *wirePayload) { w.Revoked = w.Revoked[:15] }, want: ErrMalformed},
		{name: "removal bad issuer", edit: func(w *wirePayload) { w.RemoveNative[0].Issuer = "" }, want: ErrMalformed},
		{name: "removal count", edit: func(w *wirePayload) { w.RemoveNative[0].Count = 1000 }, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.raw
			if tt.edit != nil {
				w := validWire(t)
				tt.edit(&w)
				data = encode(t, &w)
			}
			parse := ParseDelta
			if tt.base {
				parse = ParseBase
			}
			p, err := parse(data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, %v, want %v", p, err, tt.want)
			}
		})
	}
}

func TestApplyDuplicateHolder(t *testing.T) {
	w := validWire(t)
	w.Native = append(w.Native, w.Native[0])
	w.Native[1].Status = uint8(Red)
	l := newList(t)
	applyBase(t, l, NewBuilder(), 1)
	p, err := ParseDelta(encode(t, &w))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyDeltaPayload(1, 2, p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("holder in two groups: got %v, want ErrMalformed", err)
	}
	w.RemoveNative, w.RemovePseudonyms, w.Unrevoke = nil, nil, nil
	p, err = ParseBase(encode(t, &w))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyBasePayload(2, p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("base with a holder in two groups: got %v, want ErrMalformed", err)
	}
}

func TestRice(t *testing.T) {
	cases := [][]uint32{
		{0},
		{1<<32 - 1},
		{0, 1, 2, 3},
		{5, 1 << 20, 1<<32 - 2, 1<<32 - 1},
	}
	for _, vals := range cases {
		data, k := riceEncode(vals)
		got, err := riceDecode(data, uint64(len(vals)), k)
		if err != nil || !slicesEqual(got, vals) {
			t.Errorf("%v: got %v, %v", vals, got, err)
		}
	}
}

func slicesEqual(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
