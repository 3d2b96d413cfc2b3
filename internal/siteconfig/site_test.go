package siteconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestSiteSettingsRoundTrip(t *testing.T) {
	pin, err := HashPIN("246813", MinPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range SiteTypes() {
		t.Run(string(st), func(t *testing.T) {
			s := Default(st)
			s.Guards = []Guard{{ID: "guard-1", PINHash: pin}}
			b, err := Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != st || got.RetentionDays != 14 || got.Language != "zh" || got.TimeZone != DefaultTimeZone || len(got.Guards) != 1 {
				t.Errorf("got %+v, want %+v", got, s)
			}
			if got.GuardFor("246813") != "guard-1" || got.GuardFor("246814") != "" {
				t.Error("the PIN does not survive the round trip")
			}
		})
	}
}

func TestSiteDefaults(t *testing.T) {
	if s := Default(Pharmacy); s.Type != Pharmacy || s.RetentionDays != 14 || s.Language != "zh" {
		t.Errorf("got %+v, want a pharmacy keeping 14 days in Chinese", s)
	}
	if loc := Default(Custom).Location(); loc == nil {
		t.Error("no location")
	}
}

func TestSiteSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*SiteSettings)
		field  string
	}{
		{"site type", func(s *SiteSettings) { s.Type = "bank" }, "site_type"},
		{"retention", func(s *SiteSettings) { s.RetentionDays = 0 }, "retention_days"},
		{"language", func(s *SiteSettings) { s.Language = "fr" }, "language"},
		{"time zone", func(s *SiteSettings) { s.TimeZone = "" }, "time_zone"},
		{"guard id", func(s *SiteSettings) { s.Guards = []Guard{{ID: ""}} }, "guard[0].id"},
		{"guard hash", func(s *SiteSettings) { s.Guards = []Guard{{ID: "g", PINHash: "1234"}} }, "guard[0].pin_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Default(Supermarket)
			tt.mutate(s)
			err := s.Validate()
			var fe *FieldError
			if !errors.Is(err, ErrSiteSettings) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("got %v, want ErrSiteSettings naming %s", err, tt.field)
			}
			if _, err := Marshal(s); err == nil {
				t.Error("Marshal accepted invalid settings")
			}
		})
	}
}

func TestHashPIN(t *testing.T) {
	if _, err := HashPIN("12", 0); err == nil {
		t.Error("a 2-digit PIN was hashed")
	}
	if _, err := HashPIN("1234", 10); err == nil {
		t.Error("10 iterations were accepted")
	}
	h1, _ := HashPIN("1234", MinPINIterations)
	h2, _ := HashPIN("1234", MinPINIterations)
	if h1 == h2 {
		t.Error("two hashes of one PIN are equal: no salt")
	}
	if !CheckPIN(h1, "1234") || CheckPIN(h1, "1235") || CheckPIN("garbage", "1234") {
		t.Error("CheckPIN is wrong")
	}
}

func TestCheckNewPIN(t *testing.T) {
	for _, tc := range []struct {
		pin  string
		want string // "" for accepted
	}{
		{"246813", ""},
		{"135792468024", ""},
		{"", "empty"},
		{"12345", "too short: type at least 6"},
		{"2468", "too short"},
		{"24681a", "digits only"},
		{"２４６８１３", "digits only"},
		{"1234567890123", "at most 12"},
		{"777777", "one digit repeated"},
		{"123456", "a run of digits"},
		{"654321", "a run of digits"},
		{"890123", "a run of digits"},
		{"124578", ""},
	} {
		err := CheckNewPIN(tc.pin)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckNewPIN(%q): %v, want accepted", tc.pin, err)
			}
			continue
		}
		if !errors.Is(err, ErrWeakPIN) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckNewPIN(%q): got %v, want ErrWeakPIN saying %q", tc.pin, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	pin, _ := HashPIN("246813", MinPINIterations)
	for _, st := range SiteTypes() {
		s := Default(st)
		s.Guards = []Guard{{ID: "guard-1", PINHash: pin}}
		b, _ := Marshal(s)
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if s != nil {
				t.Fatal("settings returned with an error")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed settings do not validate: %v", err)
		}
		again, err := Marshal(s)
		if err != nil {
			t.Fatalf("parsed settings do not marshal: %v", err)
		}
		s2, err := Parse(again)
		if err != nil || s2.Type != s.Type || s2.RetentionDays != s.RetentionDays || len(s2.Guards) != len(s.Guards) {
			t.Fatalf("round trip changed the settings: %v", err)
		}
	})
}
