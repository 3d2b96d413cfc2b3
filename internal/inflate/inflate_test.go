package inflate

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"testing"
)

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func flateOf(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestZlib(t *testing.T) {
	plain := bytes.Repeat([]byte("sentinel "), 100)
	for i := 0; i < 3; i++ { // reuse pooled readers
		got, err := Zlib(nil, zlibOf(plain), 1<<16)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round %d: got %d bytes, %v", i, len(got), err)
		}
	}
	if got, err := Zlib(nil, zlibOf(nil), 10); err != nil || len(got) != 0 {
		t.Errorf("empty: got %q, %v", got, err)
	}
}

func TestZlibLimit(t *testing.T) {
	plain := make([]byte, 1000)
	if _, err := Zlib(nil, zlibOf(plain), 999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 999: got %v, want ErrTooLarge", err)
	}
	if got, err := Zlib(nil, zlibOf(plain), 1000); err != nil || len(got) != 1000 {
		t.Errorf("limit 1000: got %d, %v", len(got), err)
	}
	// A bomb: 10 MiB of zeros compresses to about 10 KiB.
	bomb := zlibOf(make([]byte, 10<<20))
	if _, err := Zlib(nil, bomb, 64<<10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: got %v, want ErrTooLarge", err)
	}
}

func TestZlibBroken(t *testing.T) {
	good := zlibOf([]byte("hello, gate"))
	tests := map[string][]byte{
		"not compressed": []byte("hello, gate"),
		"truncated":      good[:len(good)-6],
		"bad checksum":   append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1),
		"empty":          nil,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := Zlib(nil, in, 1<<16); err == nil {
				t.Errorf("got %q, want an error", got)
			}
		})
	}
	// The pool still works after failures.
	if got, err := Zlib(nil, good, 1<<16); err != nil || string(got) != "hello, gate" {
		t.Errorf("after failures: got %q, %v", got, err)
	}
}

func TestRaw(t *testing.T) {
	plain := []byte(`{"iss":"https://spec.smarthealth.cards/examples/issuer"}`)
	for i := 0; i < 3; i++ {
		got, err := Raw(nil, flateOf(plain), 1<<16)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round %d: got %q, %v", i, got, err)
		}
	}
	if _, err := Raw(nil, flateOf(make([]byte, 1<<20)), 64<<10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: got %v, want ErrTooLarge", err)
	}
	if _, err := Raw(nil, []byte{0xff, 0xff, 0xff}, 1<<16); err == nil {
		t.Error("garbage inflated without error")
	}
}

func FuzzZlib(f *testing.F) {
	f.Add(zlibOf([]byte("hello")))
	f.Add([]byte{0x78, 0xda})
	f.Add(zlibOf(make([]byte, 5000)))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Zlib(nil, in, 4096)
		if err == nil && len(out) > 4096 {
			t.Fatalf("output %d bytes past the limit", len(out))
		}
	})
}

func FuzzRaw(f *testing.F) {
	f.Add(flateOf([]byte("hello")))
	f.Add([]byte{0x03, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Raw(nil, in, 4096)
		if err == nil && len(out) > 4096 {
			t.Fatalf("output %d bytes past the limit", len(out))
		}
	})
}

func BenchmarkZlib(b *testing.B) {
	in := zlibOf(bytes.Repeat([]byte("sentinel gate terminal "), 20))
	var buf []byte
	for b.Loop() {
		buf, _ = Zlib(buf[:0], in, 1<<16)
	}
}
