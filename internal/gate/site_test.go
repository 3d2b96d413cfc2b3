package gate

import (
	"errors"
	"strings"
	"testing"
)

func TestSiteSettingsRoundTrip(t *testing.T) {
	pin, err := HashPIN("2468", minPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range SiteTypes() {
		t.Run(string(st), func(t *testing.T) {
			s := DefaultSiteSettings(st)
			s.Guards = []Guard{{ID: "guard-1", PINHash: pin}}
			b, err := MarshalSiteSettings(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSiteSettings(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != st || got.RetentionDays != 14 || got.Language != "zh" || got.TimeZone != DefaultTimeZone || len(got.Guards) != 1 {
				t.Errorf("got %+v, want %+v", got, s)
			}
			if got.guardFor("2468") != "guard-1" || got.guardFor("2469") != "" {
				t.Error("the PIN does not survive the round trip")
			}
		})
	}
}

func TestSiteDefaults(t *testing.T) {
	if s := DefaultSiteSettings(Pharmacy); s.Type != Pharmacy || s.RetentionDays != 14 || s.Language != "zh" {
		t.Errorf("got %+v, want a pharmacy keeping 14 days in Chinese", s)
	}
	if loc := DefaultSiteSettings(Custom).Location(); loc == nil {
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
		{"guard id", func(s *SiteSettings) { s.Guards = []Guard{{ID: ""}} }, "guards[0].id"},
		{"guard hash", func(s *SiteSettings) { s.Guards = []Guard{{ID: "g", PINHash: "1234"}} }, "guards[0].pin_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSiteSettings(Supermarket)
			tt.mutate(s)
			err := s.Validate()
			if !errors.Is(err, ErrSiteSettings) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("got %v, want ErrSiteSettings naming %s", err, tt.field)
			}
			if _, err := MarshalSiteSettings(s); err == nil {
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
	h1, _ := HashPIN("1234", minPINIterations)
	h2, _ := HashPIN("1234", minPINIterations)
	if h1 == h2 {
		t.Error("two hashes of one PIN are equal: no salt")
	}
	if !checkPIN(h1, "1234") || checkPIN(h1, "1235") || checkPIN("garbage", "1234") {
		t.Error("checkPIN is wrong")
	}
}

func FuzzParseSiteSettings(f *testing.F) {
	pin, _ := HashPIN("2468", minPINIterations)
	for _, st := range SiteTypes() {
		s := DefaultSiteSettings(st)
		s.Guards = []Guard{{ID: "guard-1", PINHash: pin}}
		b, _ := MarshalSiteSettings(s)
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSiteSettings(b)
		if err != nil {
			if s != nil {
				t.Fatal("settings returned with an error")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed settings do not validate: %v", err)
		}
		again, err := MarshalSiteSettings(s)
		if err != nil {
			t.Fatalf("parsed settings do not marshal: %v", err)
		}
		s2, err := ParseSiteSettings(again)
		if err != nil || s2.Type != s.Type || s2.RetentionDays != s.RetentionDays || len(s2.Guards) != len(s.Guards) {
			t.Fatalf("round trip changed the settings: %v", err)
		}
	})
}
