package journal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
)

// sampleRecord returns the stored bytes of a real record.
func sampleRecord(t testing.TB, i int) []byte {
	t.Helper()
	k, err := newDataKey(Epoch{1, 2, 3}, testCentre(t).PublicKey(), t0)
	if err != nil {
		t.Fatal(err)
	}
	p := testPassage(i, t0)
	s, err := k.seal(Epoch{1, 2, 3}, Seq(i+1), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeRecord(Epoch{1, 2, 3}, Seq(i+1), Genesis(Epoch{1, 2, 3}), p, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit decodes a record into a generic map, changes it and re-encodes it.
func edit(t testing.TB, b []byte, fn func(m map[int]any)) []byte {
	t.Helper()
	var m map[int]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := cose.EncMode().Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeRecord(t *testing.T) {
	good := sampleRecord(t, 11) // with an override and reasons
	if _, err := DecodeRecord(good); err != nil {
		t.Fatalf("a real record: %v", err)
	}
	nonCanonical, _ := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
	var generic map[int]any
	cbor.Unmarshal(good, &generic)
	unsorted, _ := nonCanonical.Marshal(generic)

	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not a map", []byte{0x01}},
		{"truncated", good[:len(good)-3]},
		{"trailing bytes", append(bytes.Clone(good), 0x00)},
		{"version 0", edit(t, good, func(m map[int]any) { m[1] = 0 })},
		{"future version", edit(t, good, func(m map[int]any) { m[1] = RecordVersion + 1 })},
		{"unknown key", edit(t, good, func(m map[int]any) { m[99] = 1 })},
		{"short epoch", edit(t, good, func(m map[int]any) { m[2] = []byte{1} })},
		{"short prev", edit(t, good, func(m map[int]any) { m[4] = []byte{1} })},
		{"seq 0", edit(t, good, func(m map[int]any) { m[3] = 0 })},
		{"no sealed", edit(t, good, func(m map[int]any) { delete(m, 18) })},
		{"bad decision", edit(t, good, func(m map[int]any) { m[13] = "open" })},
		{"explicit false", edit(t, good, func(m map[int]any) { m[6] = false })},
		{"empty bundle map", edit(t, good, func(m map[int]any) { m[16] = map[string]uint64{} })},
		{"tag", append([]byte{0xd8, 0x18}, good...)},
		{"indefinite map", append([]byte{0xbf}, append(good[1:], 0xff)...)},
		{"too large", make([]byte, MaxRecordSize+1)},
	}
	if !bytes.Equal(unsorted, good) {
		tests = append(tests, struct {
			name string
			in   []byte
		}{"keys unsorted", unsorted})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRecord(tc.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want %v", r, err, ErrMalformed)
			}
		})
	}
}

func TestDecodeWrappedKey(t *testing.T) {
	k, err := newDataKey(Epoch{9}, testCentre(t).PublicKey(), t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWrappedKey(k.stored)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.entry.ID || got.Epoch != k.entry.Epoch || !got.Created.Equal(k.entry.Created) || !bytes.Equal(got.Wrapped, k.entry.Wrapped) {
		t.Fatalf("got %+v, want %+v", got, k.entry)
	}
	for _, bad := range [][]byte{nil, {0xa0}, k.stored[:10]} {
		if _, err := DecodeWrappedKey(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeWrappedKey(%x): got %v, want %v", bad, err, ErrMalformed)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for i := range 12 {
		f.Add(sampleRecord(f, i))
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if r.Seq == 0 || r.Version == 0 || r.Version > RecordVersion {
			t.Fatalf("accepted a record with seq %d, version %d", r.Seq, r.Version)
		}
		switch r.Decision {
		case Admit, Deny, Refer:
		default:
			t.Fatalf("accepted decision %q", r.Decision)
		}
		// A decoded record re-encodes to the same bytes: the chain hashes
		// exactly what a reader sees.
		p := &Passage{Time: r.Time, ClockTrusted: r.ClockTrusted, Lane: r.Lane, Format: r.Format, Issuer: r.Issuer,
			KeyID: r.KeyID, CodeColour: r.CodeColour, StatusColour: r.StatusColour, Decision: r.Decision,
			Reasons: r.Reasons, PolicyVersion: r.PolicyVersion, Bundles: r.Bundles, Override: r.Override}
		again, err := encodeRecord(r.Epoch, r.Seq, r.Prev, p, r.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded record differs:\n got %x\nwant %x", again, b)
		}
	})
}
