package credential

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormaliseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Di Caprio", "DI<CAPRIO"},
		{"DI<CAPRIO", "DI<CAPRIO"},
		{"  Müller-Lüdenscheidt ", "MULLER<LUDENSCHEIDT"},
		{"Ærø", "ÆRØ"},
		{"张", "张"},
		{"o'Neil", "O<NEIL"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormaliseName(tt.in); got != tt.want {
				t.Errorf("NormaliseName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPseudonym(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := Pseudonym(key, "Di Caprio", "Marisa Maria", "1964-08-01")
	b := Pseudonym(key, "DI<CAPRIO", "MARISA<MARIA", "1964-08-01")
	if a != b {
		t.Errorf("transliterations differ: %x vs %x", a, b)
	}
	if c := Pseudonym(key, "DI<CAPRIO", "MARISA<MARIA", "1964-08-02"); c == a {
		t.Error("different birth dates give the same pseudonym")
	}
	if c := Pseudonym([]byte("another key"), "Di Caprio", "Marisa Maria", "1964-08-01"); c == a {
		t.Error("different keys give the same pseudonym")
	}
	// Field boundaries matter: moving a letter between fields changes it.
	if Pseudonym(key, "AB", "C", "") == Pseudonym(key, "A", "BC", "") {
		t.Error("field boundary not separated")
	}
}

func TestMaskName(t *testing.T) {
	tests := []struct{ family, given, want string }{
		{"Zhang", "San", "Zhang *"},
		{"", "Wei", "W *"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := MaskName(tt.family, tt.given); got != tt.want {
			t.Errorf("MaskName(%q, %q) = %q, want %q", tt.family, tt.given, got, tt.want)
		}
	}
}

func TestReasonsHaveMessages(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
		if _, ok := messages[r]; !ok {
			t.Errorf("reason %q has no message", r)
		}
		for _, lang := range []string{"en", "zh"} {
			if m := r.Message(lang); m == "" || strings.Contains(m, "cannot be checked") {
				t.Errorf("reason %q: message in %s is the fallback", r, lang)
			}
		}
	}
	if len(seen) != len(messages) {
		t.Errorf("Reasons() lists %d codes, messages has %d", len(seen), len(messages))
	}
}

func TestRejection(t *testing.T) {
	r := Reject(FormatDCC, ReasonBadCompression, "inflate: %w", io.ErrUnexpectedEOF)
	if got, want := r.Error(), "bad-compression: inflate: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(r, io.ErrUnexpectedEOF) {
		t.Error("cause not wrapped")
	}
	wrapped := errors.Join(errors.New("outer"), r)
	if got := ReasonOf(wrapped); got != ReasonBadCompression {
		t.Errorf("ReasonOf = %q, want %q", got, ReasonBadCompression)
	}
	if got := ReasonOf(io.EOF); got != "" {
		t.Errorf("ReasonOf(io.EOF) = %q, want empty", got)
	}
}

func TestColour(t *testing.T) {
	for _, c := range []Colour{ColourGreen, ColourYellow, ColourRed} {
		got, err := ParseColour(c.String())
		if err != nil || got != c {
			t.Errorf("ParseColour(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := ParseColour("blue"); err == nil {
		t.Error("ParseColour(blue) succeeded")
	}
}

// TestReasonsDocumented keeps docs/reasons.md in step with Reasons().
func TestReasonsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "reasons.md"))
	if err != nil {
		t.Fatalf("read the reason table: %v", err)
	}
	for _, r := range Reasons() {
		if !strings.Contains(string(doc), "| `"+string(r)+"` |") {
			t.Errorf("docs/reasons.md has no row for %q", r)
		}
		if en := r.Message("en"); !strings.Contains(string(doc), en) {
			t.Errorf("docs/reasons.md does not quote the message of %q: %q", r, en)
		}
	}
}

func TestParseHolder(t *testing.T) {
	var p Holder
	p.Kind = HolderPseudonym
	p.Pseudonym[0], p.Pseudonym[15] = 0xab, 0x01
	for _, h := range []Holder{{Kind: HolderNative, Issuer: "HB-WH", Index: 4294967295}, p, {}} {
		got, err := ParseHolder(h.String())
		if err != nil || got != h {
			t.Errorf("ParseHolder(%q) = %+v, %v, want %+v", h.String(), got, err, h)
		}
	}
	for _, bad := range []string{"ZJ", ":12", "ZJ:-1", "ZJ:4294967296", "p:00", "p:zz"} {
		if _, err := ParseHolder(bad); err == nil {
			t.Errorf("ParseHolder(%q) succeeded", bad)
		}
	}
}
