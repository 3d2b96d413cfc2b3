package credential

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHolderID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ZJ:1024", "ZJ:1024"},
		{"HB-WH:0", "HB-WH:0"},
		{"ZJ:0012", "ZJ:12"},
		{"ABCDEFGHIJKLMNOP:4294967295", "ABCDEFGHIJKLMNOP:4294967295"},
		{"p:00112233445566778899AABBCCDDEEFF", "p:00112233445566778899aabbccddeeff"},
	} {
		h, err := ParseHolderID(tc.in)
		if err != nil {
			t.Errorf("ParseHolderID(%q): %v", tc.in, err)
			continue
		}
		if got := h.String(); got != tc.want {
			t.Errorf("ParseHolderID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{
		"", "Zhang San", "zj:12", "ZJ", "ZJ:", ":12", "ZJ:12:3", "ZJ: 12", "ZJ:+12", "ZJ:-1",
		"ZJ:4294967296", "ZJ:1e3", "ABCDEFGHIJKLMNOPQ:1", "110101199003077777", "Zhang San:12",
		"p:", "p:0011", "p:zz112233445566778899aabbccddeeff", "p:00112233445566778899aabbccddeeff00",
		"ZJ:12\n", "张三",
	} {
		h, err := ParseHolderID(in)
		if err == nil {
			t.Errorf("ParseHolderID(%q) = %v, want an error", in, h)
			continue
		}
		if !errors.Is(err, ErrHolderID) {
			t.Errorf("ParseHolderID(%q): %v does not wrap ErrHolderID", in, err)
		}
		if strings.Contains(err.Error(), "Zhang") || strings.Contains(err.Error(), "1101011990") {
			t.Errorf("ParseHolderID(%q): the error repeats what was typed: %v", in, err)
		}
	}
}

// FuzzParseHolderID checks that whatever is typed either fails or gives a
// holder whose canonical form parses back to itself with both parsers.
func FuzzParseHolderID(f *testing.F) {
	for _, s := range []string{"ZJ:1024", "HB-WH:0", "p:00112233445566778899aabbccddeeff", "Zhang San", "", "ZJ:0012", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHolderID(s)
		if err != nil {
			return
		}
		if h.Kind != HolderNative && h.Kind != HolderPseudonym {
			t.Fatalf("ParseHolderID(%q) kind %v", s, h.Kind)
		}
		back, err := ParseHolderID(h.String())
		if err != nil || back != h {
			t.Fatalf("ParseHolderID(%q).String() = %q does not parse back: %v, %v", s, h.String(), back, err)
		}
		if back, err := ParseHolder(h.String()); err != nil || back != h {
			t.Fatalf("ParseHolder(%q) = %v, %v", h.String(), back, err)
		}
	})
}
