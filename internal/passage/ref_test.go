package passage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"sentinel/internal/passage"
)

var (
	refEpoch = [16]byte{0xa, 0xb, 0xc}
	refAt    = time.Date(2026, 12, 7, 13, 4, 59, 999e6, time.UTC)
)

func TestRefRoundTrip(t *testing.T) {
	r := passage.NewRef("T-0042", refEpoch, 17, refAt)
	s := r.String()
	if len(s) != 14 || s[4] != '-' || s[9] != '-' || strings.ContainsAny(s, "01IO") {
		t.Fatalf("reference %q: want XXXX-XXXX-XXXX without 0, 1, I, O", s)
	}
	for _, typed := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", ""), " " + strings.ReplaceAll(s, "-", " ") + " "} {
		got, err := passage.ParseRef(typed)
		if err != nil || got != r {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", typed, got, err, r)
		}
	}
	if !r.Matches("T-0042", refEpoch, 17, refAt.Add(-59*time.Second)) {
		t.Error("the reference does not match its passage within the same minute")
	}
	for _, other := range []passage.Ref{
		passage.NewRef("T-0043", refEpoch, 17, refAt),
		passage.NewRef("T-0042", [16]byte{0xa}, 17, refAt),
		passage.NewRef("T-0042", refEpoch, 18, refAt),
		passage.NewRef("T-0042", refEpoch, 17, refAt.Add(time.Second)),
	} {
		if other == r {
			t.Errorf("%v: another passage has the same reference", other)
		}
	}
	from, to := r.Window()
	if !from.Equal(time.Date(2026, 12, 7, 13, 4, 0, 0, time.UTC)) || to.Sub(from) != time.Minute {
		t.Errorf("window %v .. %v, want the minute 13:04", from, to)
	}
	// A clock never set names the first minute, whose window is open
	// before; the far future the last.
	if f, _ := passage.NewRef("T", refEpoch, 1, time.Unix(0, 0)).Window(); !f.IsZero() {
		t.Errorf("a time before 2020: window from %v, want open", f)
	}
	if _, to := passage.NewRef("T", refEpoch, 1, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)).Window(); !to.IsZero() {
		t.Errorf("a time after 2051: window to %v, want open", to)
	}
}

// Every mistyped character and every two neighbours swapped is caught by
// the check characters, at every position, for many references.
func TestRefCatchesTypos(t *testing.T) {
	for seq := uint64(1); seq <= 200; seq++ {
		s := strings.ReplaceAll(passage.NewRef("T-0042", refEpoch, seq, refAt.Add(time.Duration(seq)*time.Hour)).String(), "-", "")
		for i := range len(s) {
			for _, c := range passage.RefAlphabet {
				if byte(c) == s[i] {
					continue
				}
				typo := s[:i] + string(c) + s[i+1:]
				if _, err := passage.ParseRef(typo); !errors.Is(err, passage.ErrRef) {
					t.Fatalf("%s misread as %s: got %v, want a check error", s, typo, err)
				}
			}
			if i+1 < len(s) && s[i] != s[i+1] {
				swapped := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
				if _, err := passage.ParseRef(swapped); !errors.Is(err, passage.ErrRef) {
					t.Fatalf("%s with %d and %d swapped: got %v, want a check error", s, i, i+1, err)
				}
			}
		}
	}
}

func TestParseRefRefuses(t *testing.T) {
	good := passage.NewRef("T-0042", refEpoch, 17, refAt).String()
	for _, tc := range []struct{ in, want string }{
		{"", "0 characters"},
		{good[:13], "11 characters"},
		{good + "2", "more than 12"},
		{"0" + good[1:], "no 0, 1, I or O"},
		{good[:5] + "O" + good[6:], "no 0, 1, I or O"},
		{good[:5] + "#" + good[6:], "not one of its characters"},
		{good[:5] + "é" + good[7:], "not one of its characters"},
	} {
		_, err := passage.ParseRef(tc.in)
		var re *passage.RefError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRef(%q) = %v, want a RefError saying %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		passage.NewRef("T-0042", refEpoch, 17, refAt).String(), "k7m2 q9xr 4htb", "", "----", "0000-0000-0000",
		"ZZZZ-ZZZZ-ZZZZ", "2222-2222-2222", "ABCD-EFGH-JKLM-NPQR", "\xff\xfe", "é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := passage.ParseRef(s)
		if err != nil {
			if !errors.Is(err, passage.ErrRef) {
				t.Fatalf("ParseRef(%q): untyped error %v", s, err)
			}
			return
		}
		// What parses prints back in its own form, which parses the same.
		again, err := passage.ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRef(%q) = %+v, whose form %q parses as %+v, %v", s, r, r.String(), again, err)
		}
		if norm := strings.ToUpper(strings.NewReplacer("-", "", " ", "", "\t", "").Replace(s)); norm != strings.ReplaceAll(r.String(), "-", "") {
			t.Fatalf("ParseRef(%q) = %s: not what was typed", s, r)
		}
	})
}
