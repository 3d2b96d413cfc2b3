package base45

import (
	"bytes"
	"errors"
	"testing"
)

// Vectors from RFC 9285 section 4.
var vectors = []struct{ raw, enc string }{
	{"AB", "BB8"},
	{"Hello!!", "%69 VD92EX0"},
	{"base-45", "UJCLQE7W581"},
	{"ietf!", "QED8WEX0"},
	{"", ""},
}

func TestRFCVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.raw, func(t *testing.T) {
			if got := EncodeToString([]byte(v.raw)); got != v.enc {
				t.Errorf("encode: got %q, want %q", got, v.enc)
			}
			got, err := DecodeString(v.enc)
			if err != nil || string(got) != v.raw {
				t.Errorf("decode: got %q, %v, want %q", got, err, v.raw)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in      string
		offset  int
		length  bool
		overflo bool
	}{
		{in: "GGW", offset: 0, overflo: true}, // 65535+1
		{in: "ZZZ", offset: 0, overflo: true},
		{in: "BB8a", length: true},
		{in: "BB8ab", offset: 3},
		{in: "B#8", offset: 1},
		{in: "BB8:Z", offset: 3, overflo: true}, // 2-char group > 255
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := DecodeString(tt.in)
			if tt.length {
				if !errors.Is(err, ErrLength) {
					t.Fatalf("got %v, want ErrLength", err)
				}
				return
			}
			var ce *CorruptInputError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want *CorruptInputError", err)
			}
			if ce.Offset != tt.offset || ce.Overflow != tt.overflo {
				t.Errorf("got offset %d overflow %v, want %d %v", ce.Offset, ce.Overflow, tt.offset, tt.overflo)
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.raw))
	}
	f.Add([]byte{0xff, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		enc := EncodeToString(raw)
		got, err := DecodeString(enc)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip of %x: got %x, %v", raw, got, err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.enc)
	}
	f.Add("GGW")
	f.Add("6BFOXN*TS0BI$ZD")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeString(s)
		if err != nil {
			return
		}
		if re := EncodeToString(got); re != s {
			t.Fatalf("decode(%q) = %x re-encodes to %q", s, got, re)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	raw := bytes.Repeat([]byte{0x78, 0xda, 0x01, 0xff, 0x42}, 100)
	enc := []byte(EncodeToString(raw))
	buf := make([]byte, 0, len(raw))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		buf, _ = AppendDecode(buf[:0], enc)
	}
}
