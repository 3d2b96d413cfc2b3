package status

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"sentinel/crypto/cose"
)

func TestRangeTravelsAsRoaring(t *testing.T) {
	b := NewBuilder()
	// An issuer withholds a range of new indexes, plus scattered reds.
	for i := uint32(100_000); i < 150_000; i++ {
		mustSet(t, b, "ZJ", i, Entry{Status: Withheld, Effective: t0})
	}
	for i := range uint32(100) {
		mustSet(t, b, "ZJ", i*40_009, Entry{Status: Red, Effective: t0.Add(time.Hour), Reason: 3})
	}
	data, err := b.MarshalBase()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 2000 {
		t.Errorf("got %d bytes, want under 2000: 50,000 consecutive indexes are a few runs", len(data))
	}
	var w wirePayload
	if err := cose.DecMode().Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	encs := map[Status]uint8{}
	for _, g := range w.Native {
		encs[Status(g.Status)] = g.Enc
	}
	if encs[Withheld] != encRoaring || encs[Red] != encRice {
		t.Errorf("got encodings %v, want roaring for the range and rice for the scattered", encs)
	}
	l := newList(t)
	applyBase(t, l, b, 1)
	for _, tc := range []struct {
		idx  uint32
		want Status
	}{{99_999, 0}, {100_000, Withheld}, {149_999, Withheld}, {150_000, 0}, {40_009 * 99, Red}} {
		r := l.Lookup(native("ZJ", tc.idx), t0.Add(-time.Second), t0.Add(2*time.Hour))
		if r.Status != tc.want {
			t.Errorf("index %d: got %v, want %v", tc.idx, r.Status, tc.want)
		}
	}
}

func roaringBytes(t testing.TB, runs bool, vals ...uint32) []byte {
	bm := roaring.BitmapOf(vals...)
	if runs {
		bm.RunOptimize()
	}
	b, err := bm.ToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateRoaring(t *testing.T) {
	dense := make([]uint32, 5000) // a bitmap container
	for i := range dense {
		dense[i] = uint32(i * 3)
	}
	valid := []struct {
		name string
		b    []byte
		card uint64
	}{
		{"array", roaringBytes(t, false, 1, 5, 70000), 3},
		{"runs", roaringBytes(t, true, 1, 2, 3, 4, 10, 11, 1<<20), 7},
		{"runs, many containers", roaringBytes(t, true, 1, 2, 1<<16, 1<<16+1, 2<<16, 3<<16, 4<<16), 7},
		{"bitmap", roaringBytes(t, false, dense...), 5000},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			card, err := validateRoaring(tt.b)
			if err != nil || card != tt.card {
				t.Fatalf("got %d, %v, want %d", card, err, tt.card)
			}
			vals, err := decodeRoaring(tt.b, tt.card)
			if err != nil || uint64(len(vals)) != tt.card {
				t.Fatalf("decode: got %d values, %v", len(vals), err)
			}
		})
	}
	edit := func(b []byte, f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), b...))
	}
	arr := roaringBytes(t, false, 1, 5, 70000) // no-runs cookie, 2 containers
	run := roaringBytes(t, true, 1, 2, 3, 4, 10, 11)
	bmp := roaringBytes(t, false, dense...)
	invalid := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad cookie", edit(arr, func(b []byte) []byte { b[0] = 0; return b })},
		{"too many containers", edit(arr, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1<<16+1); return b })},
		{"more containers than bytes", edit(arr, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1000); return b })},
		{"truncated", arr[:len(arr)-1]},
		{"trailing byte", append(append([]byte(nil), arr...), 0)},
		{"keys not increasing", edit(arr, func(b []byte) []byte { b[12] = 0; return b })},
		{"cardinality above the data", edit(arr, func(b []byte) []byte { b[10] = 9; return b })},
		{"offset wrong", edit(arr, func(b []byte) []byte { b[16]++; return b })},
		{"array not increasing", edit(arr, func(b []byte) []byte { b[len(b)-6], b[len(b)-4] = 5, 1; return b })},
		{"bitmap popcount", edit(bmp, func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"run overlap", edit(run, func(b []byte) []byte {
			// 1 container, run flags, header, then nruns=2: (1,len 4) (10, len 2)
			binary.LittleEndian.PutUint16(b[len(b)-4:], 2)
			return b
		})},
		{"run count zero", edit(run, func(b []byte) []byte { binary.LittleEndian.PutUint16(b[len(b)-10:], 0); return b })},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := validateRoaring(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if _, err := decodeMembers(encRoaring, 0, tt.b, 3); !errors.Is(err, ErrMalformed) {
				t.Fatalf("decodeMembers: got %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := decodeMembers(encRoaring, 0, arr, 4); !errors.Is(err, ErrMalformed) {
		t.Errorf("count 4 for 3 values: got %v, want ErrMalformed", err)
	}
	if _, err := decodeMembers(encRoaring, 3, arr, 3); !errors.Is(err, ErrMalformed) {
		t.Errorf("roaring with k 3: got %v, want ErrMalformed", err)
	}
	if _, err := decodeMembers(2, 0, arr, 3); !errors.Is(err, ErrMalformed) {
		t.Errorf("encoding 2: got %v, want ErrMalformed", err)
	}
}

// TestRoaringAgainstLibrary holds the hand-written codec to the roaring
// library it replaced in production (the library stays a test oracle: its
// module is 144 MB, which every fresh machine downloaded to build the
// terminal): on sets of every container kind, encodeRoaring writes the
// library's bytes after RunOptimize, and the iterator and decodeRoaring
// read back what the library reads from them, with and without runs.
func TestRoaringAgainstLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sets := [][]uint32{
		{0},
		{1<<32 - 1},
		{1, 5, 70000},
		{0, 1, 2, 3, 65535, 65536, 65537, 1 << 20},
	}
	for range 200 {
		var s []uint32
		base := uint32(r.IntN(1 << 24))
		for range r.IntN(8) + 1 {
			switch r.IntN(4) {
			case 0: // a range
				n := uint32(r.IntN(70000) + 1)
				for i := range n {
					s = append(s, base+i)
				}
				base += n + uint32(r.IntN(3))
			case 1: // a dense scatter: a bitmap container
				for range r.IntN(9000) {
					base += uint32(r.IntN(8) + 1)
					s = append(s, base)
				}
			default: // a sparse scatter
				for range r.IntN(300) {
					base += uint32(r.IntN(1000) + 1)
					s = append(s, base)
				}
			}
		}
		if len(s) > 0 {
			sets = append(sets, s)
		}
	}
	for i, vals := range sets {
		bm := roaring.BitmapOf(vals...)
		want := bm.ToArray()
		for _, runs := range []bool{false, true} {
			lib := roaringBytes(t, runs, vals...)
			got, err := decodeRoaring(lib, uint64(len(want)))
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("set %d (runs %v): decodeRoaring of the library's bytes: %d values, %v; want %d", i, runs, len(got), err, len(want))
			}
		}
		enc := encodeRoaring(want)
		if lib := roaringBytes(t, true, vals...); !bytes.Equal(enc, lib) {
			t.Fatalf("set %d: encodeRoaring wrote %d bytes, the library %d", i, len(enc), len(lib))
		}
		back := roaring.New()
		if err := back.UnmarshalBinary(enc); err != nil || !slices.Equal(back.ToArray(), want) {
			t.Fatalf("set %d: the library reads encodeRoaring's bytes as %d values, %v", i, back.GetCardinality(), err)
		}
	}
}

// FuzzRoaring: bytes the hand-written decoder accepts, the library reads
// as the same values, and the decoder never panics on any bytes.
func FuzzRoaring(f *testing.F) {
	dense := make([]uint32, 5000)
	for i := range dense {
		dense[i] = uint32(i * 3)
	}
	f.Add(roaringBytes(f, false, 1, 5, 70000))
	f.Add(roaringBytes(f, true, 1, 2, 3, 4, 10, 11, 1<<20))
	f.Add(roaringBytes(f, true, 1, 2, 1<<16, 1<<16+1, 2<<16, 3<<16, 4<<16))
	f.Add(roaringBytes(f, false, dense...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := validateRoaring(b)
		if err != nil {
			return
		}
		got, err := decodeRoaring(b, card)
		if err != nil {
			t.Fatalf("validated, then refused: %v", err)
		}
		lib := roaring.New()
		if err := lib.UnmarshalBinary(b); err != nil {
			t.Fatalf("accepted bytes the library refuses: %v", err)
		}
		if want := lib.ToArray(); !slices.Equal(got, want) {
			t.Fatalf("decoded %d values, the library %d", len(got), len(want))
		}
		if !slices.Equal(encodeRoaring(got), roaringBytes(t, true, got...)) {
			t.Fatal("encodeRoaring of the decoded values differs from the library's")
		}
	})
}
