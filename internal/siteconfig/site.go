package siteconfig

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"sentinel/crypto/cose"
)

// SiteType is the kind of site a terminal stands at.
type SiteType string

// Site types. Each has a default policy (internal/policy, defaults/).
const (
	Supermarket  SiteType = "supermarket"
	Pharmacy     SiteType = "pharmacy"
	Intersection SiteType = "intersection"
	Compound     SiteType = "compound"
	Custom       SiteType = "custom"
)

// SiteTypes returns every site type.
func SiteTypes() []SiteType {
	return []SiteType{Supermarket, Pharmacy, Intersection, Compound, Custom}
}

// Valid reports whether t is a known site type.
func (t SiteType) Valid() bool { return slices.Contains(SiteTypes(), t) }

// Defaults of the site settings, from the seed: records are kept 14 days
// after the centre acknowledged them.
const (
	DefaultRetentionDays = 14
	DefaultLanguage      = "zh"
	DefaultTimeZone      = "Asia/Shanghai"
)

// Limits of the config bundle's content.
const (
	MaxGuards      = 256
	MaxSiteText    = 64
	MaxSitePayload = 64 << 10
	MaxRetention   = 366
)

// Guard is a guard who may override a verdict, with the hash of their PIN.
type Guard struct {
	ID      string // shown in the journal, e.g. "guard-07"
	PINHash string // from HashPIN
}

// SiteSettings are the settings that ops manage for a site: they come in
// the signed config bundle (trust.KindConfig), never from the terminal's
// TOML file.
//
// The thresholds the admission rules read (the fever limit, the verdict
// for a yellow code) travel with the rules in the policy bundle
// (internal/policy's Bundle), so that a key lives in one place only.
type SiteSettings struct {
	// Type selects the default policy when no policy bundle is installed;
	// a policy bundle must be for the same type.
	Type SiteType
	// RetentionDays is how long acknowledged records are kept.
	RetentionDays int
	// Language is the display's language: "zh" or "en".
	Language string
	// TimeZone is the site's IANA time zone, for the display and the
	// day's counters.
	TimeZone string
	// Guards may override a verdict with their PIN.
	Guards []Guard
}

// Default returns the settings a site of type t has before ops send any:
// the seed's.
func Default(t SiteType) *SiteSettings {
	return &SiteSettings{
		Type:          t,
		RetentionDays: DefaultRetentionDays,
		Language:      DefaultLanguage,
		TimeZone:      DefaultTimeZone,
	}
}

// Errors about site settings and guard PINs.
var (
	// ErrSiteSettings: a config bundle's content is malformed or invalid.
	ErrSiteSettings = errors.New("invalid site settings in the config bundle")
	// ErrPINHash: a guard's PIN hash is not one HashPIN writes.
	ErrPINHash = errors.New("invalid guard PIN hash")
)

// FieldError is a site setting that is not valid. It wraps
// ErrSiteSettings. Field is the key as the site settings file spells it:
// "retention_days", "guard[2].pin_hash".
type FieldError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrSiteSettings, e.Field, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSiteSettings) true.
func (e *FieldError) Unwrap() error { return ErrSiteSettings }

// Validate checks s and says which field is wrong and what to write.
func (s *SiteSettings) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !s.Type.Valid() {
		return bad("site_type", "%q is not a site type: write supermarket, pharmacy, intersection, compound or custom", s.Type)
	}
	if s.RetentionDays < 1 || s.RetentionDays > MaxRetention {
		return bad("retention_days", "%d: write a number of days from 1 to %d", s.RetentionDays, MaxRetention)
	}
	if s.Language != "zh" && s.Language != "en" {
		return bad("language", "%q: write \"zh\" (Chinese) or \"en\" (English)", s.Language)
	}
	if s.TimeZone == "" || len(s.TimeZone) > MaxSiteText {
		return bad("time_zone", "%q: write an IANA time zone such as \"Asia/Shanghai\"", s.TimeZone)
	}
	if len(s.Guards) > MaxGuards {
		return bad("guard", "%d guards: at most %d", len(s.Guards), MaxGuards)
	}
	seen := make(map[string]int, len(s.Guards))
	for i, g := range s.Guards {
		if g.ID == "" || len(g.ID) > MaxSiteText {
			return bad(fmt.Sprintf("guard[%d].id", i), "%q: write a name of 1 to %d characters, such as \"guard-07\"", g.ID, MaxSiteText)
		}
		if j, ok := seen[g.ID]; ok {
			return bad(fmt.Sprintf("guard[%d].id", i), "%q is also guard[%d]: give each guard an id of their own", g.ID, j)
		}
		seen[g.ID] = i
		if _, _, _, err := parsePINHash(g.PINHash); err != nil {
			return bad(fmt.Sprintf("guard[%d].pin_hash", i), "%v: paste the line `sentinel-central config pin` prints", err)
		}
	}
	return nil
}

// Location returns the site's time zone, or UTC when the terminal does not
// know it.
func (s *SiteSettings) Location() *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// GuardFor returns the id of the guard whose PIN is pin, or "". Every
// guard's hash is checked, so that the time taken does not say which one
// matched.
func (s *SiteSettings) GuardFor(pin string) string {
	id := ""
	for _, g := range s.Guards {
		if CheckPIN(g.PINHash, pin) && id == "" {
			id = g.ID
		}
	}
	return id
}

// siteWire is the config bundle payload: a deterministic CBOR map with
// integer keys.
//
//	1 site_type       text
//	4 retention_days  uint
//	5 language        text: "zh" or "en"
//	6 time_zone       text: IANA zone
//	7 guards          [ {1 id text, 2 pin_hash text} ]
type siteWire struct {
	Type      string      `cbor:"1,keyasint"`
	Retention uint64      `cbor:"4,keyasint"`
	Language  string      `cbor:"5,keyasint"`
	TimeZone  string      `cbor:"6,keyasint"`
	Guards    []guardWire `cbor:"7,keyasint,omitempty"`
}

type guardWire struct {
	ID      string `cbor:"1,keyasint"`
	PINHash string `cbor:"2,keyasint"`
}

// Marshal encodes s as a config bundle payload, after checking it.
func Marshal(s *SiteSettings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	w := siteWire{
		Type: string(s.Type), Retention: uint64(s.RetentionDays), Language: s.Language, TimeZone: s.TimeZone,
	}
	for _, g := range s.Guards {
		w.Guards = append(w.Guards, guardWire(g))
	}
	return cose.EncMode().Marshal(w)
}

// Parse decodes and checks a config bundle payload.
func Parse(payload []byte) (*SiteSettings, error) {
	if len(payload) > MaxSitePayload {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrSiteSettings, len(payload), MaxSitePayload)
	}
	var w siteWire
	if err := cose.DecMode().Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSiteSettings, err)
	}
	if w.Retention > 10000 {
		return nil, fmt.Errorf("%w: retention out of range", ErrSiteSettings)
	}
	s := &SiteSettings{
		Type: SiteType(w.Type), RetentionDays: int(w.Retention), Language: w.Language, TimeZone: w.TimeZone,
	}
	for _, g := range w.Guards {
		s.Guards = append(s.Guards, Guard(g))
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
