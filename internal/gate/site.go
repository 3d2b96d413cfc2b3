package gate

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"sentinel/crypto/cose"
)

// SiteType is the kind of site a terminal stands at.
type SiteType string

// Site types.
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

// Defaults of the site settings, from the seed: records are kept 14 days
// after the centre acknowledged them.
const (
	DefaultRetentionDays = 14
	DefaultLanguage      = "zh"
	DefaultTimeZone      = "Asia/Shanghai"
)

// Limits of the config bundle's content.
const (
	MaxGuards        = 256
	MaxSiteText      = 64
	MaxSitePayload   = 64 << 10
	minPINIterations = 1000
	maxPINIterations = 10_000_000
	// DefaultPINIterations is the PBKDF2-SHA-256 work factor HashPIN uses.
	DefaultPINIterations = 200_000
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
	// Type selects the default policy when no policy bundle is installed.
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

// DefaultSiteSettings returns the settings a site of type t has before ops
// send any: the seed's rules.
func DefaultSiteSettings(t SiteType) *SiteSettings {
	s := &SiteSettings{
		Type:          t,
		RetentionDays: DefaultRetentionDays,
		Language:      DefaultLanguage,
		TimeZone:      DefaultTimeZone,
	}
	return s
}

// Errors about site settings and guard PINs.
var (
	// ErrSiteSettings: a config bundle's content is malformed or invalid.
	ErrSiteSettings = errors.New("gate: invalid site settings in the config bundle")
	// ErrPINHash: a guard's PIN hash is not one HashPIN writes.
	ErrPINHash = errors.New("gate: invalid guard PIN hash")
)

// Validate checks s and says which field is wrong.
func (s *SiteSettings) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrSiteSettings, field, fmt.Sprintf(format, args...))
	}
	if !slices.Contains(SiteTypes(), s.Type) {
		return bad("site_type", "%q is not one of supermarket, pharmacy, intersection, compound, custom", s.Type)
	}
	if s.RetentionDays < 1 || s.RetentionDays > 366 {
		return bad("retention_days", "%d: want 1 to 366", s.RetentionDays)
	}
	if s.Language != "zh" && s.Language != "en" {
		return bad("language", "%q: want zh or en", s.Language)
	}
	if s.TimeZone == "" || len(s.TimeZone) > MaxSiteText {
		return bad("time_zone", "%q: want an IANA time zone such as Asia/Shanghai", s.TimeZone)
	}
	if len(s.Guards) > MaxGuards {
		return bad("guards", "%d guards: at most %d", len(s.Guards), MaxGuards)
	}
	seen := make(map[string]bool, len(s.Guards))
	for i, g := range s.Guards {
		if g.ID == "" || len(g.ID) > MaxSiteText {
			return bad(fmt.Sprintf("guards[%d].id", i), "%q: want 1 to %d characters", g.ID, MaxSiteText)
		}
		if seen[g.ID] {
			return bad(fmt.Sprintf("guards[%d].id", i), "%q listed twice", g.ID)
		}
		seen[g.ID] = true
		if _, _, _, err := parsePINHash(g.PINHash); err != nil {
			return bad(fmt.Sprintf("guards[%d].pin_hash", i), "%v", err)
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

// MarshalSiteSettings encodes s as a config bundle payload, after checking
// it.
func MarshalSiteSettings(s *SiteSettings) ([]byte, error) {
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

// ParseSiteSettings decodes and checks a config bundle payload.
func ParseSiteSettings(payload []byte) (*SiteSettings, error) {
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

// HashPIN hashes a guard's PIN for the site settings: PBKDF2-SHA-256 with a
// random salt, written "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64). Zero
// iterations means DefaultPINIterations.
func HashPIN(pin string, iterations int) (string, error) {
	if iterations == 0 {
		iterations = DefaultPINIterations
	}
	if iterations < minPINIterations || iterations > maxPINIterations {
		return "", fmt.Errorf("hash pin: %d iterations: want %d to %d", iterations, minPINIterations, maxPINIterations)
	}
	if len(pin) < 4 {
		return "", errors.New("hash pin: a PIN has at least 4 digits")
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	sum, err := pbkdf2.Key(sha256.New, pin, salt, iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash pin: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(sum), nil
}

// parsePINHash splits a hash written by HashPIN.
func parsePINHash(h string) (iter int, salt, sum []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return 0, nil, nil, fmt.Errorf("%w: want pbkdf2-sha256$ITERATIONS$SALT$HASH", ErrPINHash)
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < minPINIterations || iter > maxPINIterations {
		return 0, nil, nil, fmt.Errorf("%w: iterations %q", ErrPINHash, parts[1])
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[2]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return 0, nil, nil, fmt.Errorf("%w: salt", ErrPINHash)
	}
	if sum, err = enc.DecodeString(parts[3]); err != nil || len(sum) != 32 {
		return 0, nil, nil, fmt.Errorf("%w: hash", ErrPINHash)
	}
	return iter, salt, sum, nil
}

// checkPIN reports whether pin matches hash.
func checkPIN(hash, pin string) bool {
	iter, salt, sum, err := parsePINHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pin, salt, iter, len(sum))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, sum) == 1
}

// guardFor returns the guard whose PIN is pin, or "".
func (s *SiteSettings) guardFor(pin string) string {
	id := ""
	for _, g := range s.Guards {
		// Check every guard, so the time taken does not say which matched.
		if checkPIN(g.PINHash, pin) && id == "" {
			id = g.ID
		}
	}
	return id
}
