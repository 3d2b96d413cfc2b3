package journal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
	"sentinel/internal/passage"
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
		{"version 1 naming the overridden passage", edit(t, good, func(m map[int]any) {
			m[17].(map[any]any)[uint64(3)] = 4
		})},
		{"version 2 without a version 2 field", edit(t, good, func(m map[int]any) { m[1] = 2 })},
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
	f.Add(edit(f, sampleRecord(f, 11), func(m map[int]any) { m[1] = 2; m[17].(map[any]any)[uint64(3)] = 4 }))
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
		case passage.Admit, passage.Deny, passage.Refer:
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

func TestDecodeRecordOverrideOf(t *testing.T) {
	k, err := newDataKey(Epoch{1, 2, 3}, testCentre(t).PublicKey(), t0)
	if err != nil {
		t.Fatal(err)
	}
	p := testPassage(11, t0)
	p.Override.Of = 7
	s, err := k.seal(Epoch{1, 2, 3}, 8, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeRecord(Epoch{1, 2, 3}, 8, Genesis(Epoch{1, 2, 3}), p, s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 || r.Override == nil || r.Override.Of != 7 {
		t.Fatalf("got version %d, override %+v; want version 2 naming passage 7", r.Version, r.Override)
	}
	// A record without the new field keeps version 1, byte for byte what
	// an older build writes and reads.
	if r := mustDecode(t, sampleRecord(t, 11)); r.Version != 1 {
		t.Errorf("an override without of: got version %d, want 1", r.Version)
	}
}

func mustDecode(t *testing.T, b []byte) *Record {
	t.Helper()
	r, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestJournalOfVersion1 reads and verifies testdata/v1-journal/journal.db,
// written by the build before record version 2 (12 passages of
// testPassage from 2026-12-01T08:00:01Z, the centre's X25519 key made from
// the seed below), then appends an override of version 2 to it: the
// chain holds across the versions.
func TestJournalOfVersion1(t *testing.T) {
	x, err := ecdh.X25519().NewPrivateKey([]byte("sentinel-journal-v1-fixture-key!"))
	if err != nil {
		t.Fatal(err)
	}
	centre, err := hpke.NewDHKEMPrivateKey(x)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "v1-journal", FileName))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}

	check := func(wantRecords int) []*Record {
		t.Helper()
		rd, err := OpenReader(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		res, err := rd.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if res.Break != nil || res.Records != wantRecords {
			t.Fatalf("verify: got %d records, break %+v; want %d records, no break", res.Records, res.Break, wantRecords)
		}
		keys, err := rd.Keys()
		if err != nil {
			t.Fatal(err)
		}
		op := NewOpener(centre)
		for _, k := range keys {
			if err := op.AddKey(k); err != nil {
				t.Fatal(err)
			}
		}
		var recs []*Record
		err = rd.Range(1, 0, func(s Seq, b []byte) error {
			r, err := DecodeRecord(b)
			if err != nil {
				return err
			}
			c, err := op.Open(r)
			if err != nil {
				return err
			}
			if want := testPassage(int(s), time.Time{}).Holder; s <= 12 && c.Holder != want {
				t.Errorf("record %d: holder %+v, want %+v", s, c.Holder, want)
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	recs := check(12)
	for _, r := range recs {
		if r.Version != 1 {
			t.Errorf("record %d: version %d, want 1", r.Seq, r.Version)
		}
	}
	if o := recs[10].Override; o == nil || o.Who != "guard-2" || o.Why != "retake" || o.Of != 0 {
		t.Errorf("record 11: override %+v, want guard-2/retake naming no passage", o)
	}

	j, err := Open(path, Options{CentreKey: centre.PublicKey(), PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if a := j.Alarms(); len(a) != 0 {
		t.Fatalf("opening the version 1 journal raised %+v", a)
	}
	p := testPassage(11, time.Date(2026, 12, 1, 8, 1, 0, 0, time.UTC))
	p.Decision, p.Override = passage.Admit, &Override{Who: "guard-1", Why: "retake-normal", Of: 10}
	seq, err := j.Append(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	recs = check(13)
	if r := recs[12]; seq != 13 || r.Version != 2 || r.Override == nil || r.Override.Of != 10 {
		t.Fatalf("appended override: seq %d, version %d, override %+v; want 13, 2, naming passage 10", seq, r.Version, r.Override)
	}
}
