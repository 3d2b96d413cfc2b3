package protocol

import (
	"bytes"
	"compress/zlib"
	"errors"
	"reflect"
	"strings"
	"testing"

	"sentinel/crypto/cose"
	"sentinel/sync/journal"
)

func sample() *Upload {
	u := &Upload{Version: Version, Device: "gate-7", First: 11, Records: [][]byte{{0xa1, 1, 1}, {0xa1, 1, 2}}, Keys: [][]byte{{1, 2, 3}}}
	for i := range u.Epoch {
		u.Epoch[i] = byte(i)
	}
	u.Prev = journal.Genesis(u.Epoch)
	return u
}

func zlibOf(t testing.TB, raw []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(raw)
	w.Close()
	return b.Bytes()
}

func TestUploadRoundTrip(t *testing.T) {
	u := sample()
	body, err := EncodeUpload(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeUpload(body, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("got %+v, want %+v", got, u)
	}
	if got.Last() != 12 {
		t.Fatalf("got last %d, want 12", got.Last())
	}
	u.Salvaged = true
	body, err = EncodeUpload(u)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeUpload(body, 0); err != nil || !got.Salvaged {
		t.Fatalf("salvaged upload: got %+v (%v), want Salvaged", got, err)
	}
}

func TestDecodeUploadRefuses(t *testing.T) {
	enc := func(w wireUpload) []byte {
		raw, err := cose.EncMode().Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		return zlibOf(t, raw)
	}
	good := func() wireUpload {
		u := sample()
		return wireUpload{Version: Version, Device: u.Device, Epoch: u.Epoch[:], First: 1, Prev: u.Prev[:], Records: u.Records}
	}
	type extra struct {
		wireUpload
		X int `cbor:"9,keyasint"`
	}
	rawExtra, _ := cose.EncMode().Marshal(&extra{wireUpload: good(), X: 1})
	goodRaw, _ := cose.EncMode().Marshal(ptr(good()))
	tests := []struct {
		name string
		body []byte
		max  int
		want error
	}{
		{"not zlib", []byte("hello"), 0, ErrMalformed},
		{"not cbor", zlibOf(t, []byte{0xff, 0xff}), 0, ErrMalformed},
		{"trailing bytes", zlibOf(t, append(append([]byte{}, goodRaw...), 0)), 0, ErrMalformed},
		{"unknown field", zlibOf(t, rawExtra), 0, ErrMalformed},
		{"version 0", enc(with(good(), func(w *wireUpload) { w.Version = 0 })), 0, ErrVersion},
		{"version next", enc(with(good(), func(w *wireUpload) { w.Version = Version + 1 })), 0, ErrVersion},
		{"no device", enc(with(good(), func(w *wireUpload) { w.Device = "" })), 0, ErrMalformed},
		{"long device", enc(with(good(), func(w *wireUpload) { w.Device = strings.Repeat("d", MaxDeviceLen+1) })), 0, ErrMalformed},
		{"short epoch", enc(with(good(), func(w *wireUpload) { w.Epoch = w.Epoch[:15] })), 0, ErrMalformed},
		{"long prev", enc(with(good(), func(w *wireUpload) { w.Prev = append(w.Prev, 0) })), 0, ErrMalformed},
		{"first 0", enc(with(good(), func(w *wireUpload) { w.First = 0 })), 0, ErrMalformed},
		{"no records", enc(with(good(), func(w *wireUpload) { w.Records = nil })), 0, ErrMalformed},
		{"empty record", enc(with(good(), func(w *wireUpload) { w.Records = [][]byte{{1}, {}} })), 0, ErrMalformed},
		{"huge record", enc(with(good(), func(w *wireUpload) { w.Records = [][]byte{make([]byte, journal.MaxRecordSize+1)} })), 0, ErrMalformed},
		{"seq overflow", enc(with(good(), func(w *wireUpload) { w.First = ^uint64(0) })), 0, ErrMalformed},
		{"inflated too large", enc(good()), 20, ErrTooLarge},
		{"short branch", enc(with(good(), func(w *wireUpload) { w.Branch = make([]byte, 15) })), 0, ErrMalformed},
		{"zero branch", enc(with(good(), func(w *wireUpload) { w.Branch = make([]byte, 16) })), 0, ErrMalformed},
		{"branch is the epoch", enc(with(good(), func(w *wireUpload) { w.Branch = w.Epoch })), 0, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := DecodeUpload(tc.body, tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (%+v), want %v", err, u, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Detail == "" {
				t.Fatalf("got %T %v, want *Error with a detail", err, err)
			}
		})
	}
}

func TestTooManyRecords(t *testing.T) {
	u := sample()
	u.Records = make([][]byte, MaxRecords+1)
	for i := range u.Records {
		u.Records[i] = []byte{1}
	}
	if _, err := EncodeUpload(u); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("encode: got %v, want ErrTooLarge", err)
	}
	w := wireUpload{Version: Version, Device: "d", Epoch: u.Epoch[:], First: 1, Prev: u.Prev[:], Records: u.Records}
	raw, _ := cose.EncMode().Marshal(&w)
	if _, err := DecodeUpload(zlibOf(t, raw), 0); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decode: got %v, want a refusal", err)
	}
}

func forkAnswer() *Response {
	r := &Response{Version: Version, HighWater: 4556, Fork: 4100, Code: CodeFork, Message: "send from 4100 under the branch"}
	r.MarkHash[0], r.MarkHash[31] = 0xaa, 0x55
	r.Branch[3] = 0xbb
	return r
}

func TestUploadBranchRoundTrip(t *testing.T) {
	u := sample()
	u.Branch[0] = 0xf0
	body, err := EncodeUpload(u)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeUpload(body, 0); err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("got %+v (%v), want %+v", got, err, u)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []*Response{
		forkAnswer(),
		{Version: Version, HighWater: 42},
		{Version: Version, HighWater: 7, Gap: true},
		{Version: Version, HighWater: 9, Breaks: 2},
		{Version: Version, Code: CodeTooLarge, Message: "send fewer records"},
	} {
		b, err := EncodeResponse(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *r {
			t.Errorf("got %+v, want %+v", got, r)
		}
	}
}

func TestDecodeResponseRefuses(t *testing.T) {
	non := []byte{0xa1, 0x01, 0x18, 0x01} // version 1 encoded on two bytes
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"non canonical", non, ErrMalformed},
		{"version 0", []byte{0xa2, 0x01, 0x00, 0x02, 0x01}, ErrVersion},
		{"too large", make([]byte, MaxResponse+1), ErrTooLarge},
		{"array", []byte{0x80}, ErrMalformed},
		{"fork without branch", wireResp(t, func(w *wireResponse) { w.Branch = nil }), ErrMalformed},
		{"branch without fork", wireResp(t, func(w *wireResponse) { w.Fork = 0 }), ErrMalformed},
		{"fork past the mark", wireResp(t, func(w *wireResponse) { w.Fork = w.HighWater + 1 }), ErrMalformed},
		{"short mark hash", wireResp(t, func(w *wireResponse) { w.MarkHash = w.MarkHash[:31] }), ErrMalformed},
		{"zero mark hash", wireResp(t, func(w *wireResponse) { w.MarkHash = make([]byte, 32) }), ErrMalformed},
		{"long branch", wireResp(t, func(w *wireResponse) { w.Branch = append(w.Branch, 0) }), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeResponse(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// wireResp returns the canonical encoding of forkAnswer changed by f.
func wireResp(t testing.TB, f func(*wireResponse)) []byte {
	r := forkAnswer()
	w := wireResponse{Version: Version, HighWater: uint64(r.HighWater), Code: r.Code, Message: r.Message,
		MarkHash: r.MarkHash[:], Fork: uint64(r.Fork), Branch: r.Branch[:]}
	f(&w)
	b, err := cose.EncMode().Marshal(&w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func with(w wireUpload, f func(*wireUpload)) wireUpload { f(&w); return w }

func FuzzDecodeUpload(f *testing.F) {
	body, _ := EncodeUpload(sample())
	f.Add(body)
	branched := sample()
	branched.Branch[15] = 1
	body, _ = EncodeUpload(branched)
	f.Add(body)
	f.Add([]byte{})
	f.Add(zlibOf(f, []byte{0xa0}))
	f.Add(zlibOf(f, []byte{0xbf, 0x01, 0x01, 0xff}))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUpload(b, 1<<20)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		again, err := EncodeUpload(u)
		if err != nil {
			t.Fatalf("decoded upload does not encode: %v", err)
		}
		u2, err := DecodeUpload(again, 1<<20)
		if err != nil || !reflect.DeepEqual(u, u2) {
			t.Fatalf("round trip: %v, %+v != %+v", err, u2, u)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, r := range []*Response{{HighWater: 42}, {HighWater: 7, Gap: true}, {Code: CodeRate, Message: "wait"}} {
		b, _ := EncodeResponse(r)
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0x18, 0x01})
	fork, _ := EncodeResponse(forkAnswer())
	f.Add(fork)
	f.Add(wireResp(f, func(w *wireResponse) { w.Branch = nil }))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		again, err := EncodeResponse(r)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding: %v, % x != % x", err, again, b)
		}
	})
}
