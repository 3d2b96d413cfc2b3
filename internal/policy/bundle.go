package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/cose"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// Limits on a policy bundle's payload.
const (
	// MaxPayload is the largest policy bundle payload, in bytes.
	MaxPayload = 4 << 20
	// MaxResidents is the longest access list.
	MaxResidents = 200_000
	// maxHolderID bounds one access-list entry ("p:" and 32 hex digits is 34).
	maxHolderID = 80
	// maxVersion bounds the version label.
	maxVersion = 64
)

// DefaultFever is the temperature at or above which the default policies
// refer a person to the guard for a retake: 37.3 °C, from the seed.
const DefaultFever = physic.ZeroCelsius + 3730*centiCelsius

// centiCelsius is 0.01 °C.
const centiCelsius = physic.Celsius / 100

// Errors of policy bundles.
var (
	// ErrBundle: a policy bundle payload is malformed or out of bounds.
	ErrBundle = errors.New("policy: invalid policy bundle")
	// ErrSiteMismatch: the policy bundle is for another type of site.
	ErrSiteMismatch = errors.New("policy: the policy bundle is for another type of site")
)

// Bundle is the payload of a policy bundle (trust.KindPolicy): a site
// type's rules with the settings they read and the site's access list.
type Bundle struct {
	// Site is the type of site the policy is for.
	Site siteconfig.SiteType
	// Version labels the policy for ops and the journal ("2026-11-29.1").
	Version string
	// Rules is the policy's source (see the package comment and
	// docs/policy.md).
	Rules string
	// Fever is the temperature at or above which the rules refer a person
	// for a retake (settings.fever). 35 to 42 °C.
	Fever physic.Temperature
	// ThermometerUnavailable is the verdict when the thermometer has a
	// fault (settings.thermometer_unavailable); Admit ignores the fault.
	ThermometerUnavailable passage.Verdict
	// Yellow is the verdict for a yellow code (settings.yellow).
	Yellow passage.Verdict
	// PaperAccepted says whether paper codes are accepted
	// (settings.paper_accepted).
	PaperAccepted bool
	// Residents is the site's access list: holder ids as
	// credential.Holder.String gives them ("ZJ:42", "p:HEX"). The rules
	// see only whether the holder is on it (resident).
	Residents []string
	// EUCountry names the country whose EU business rules for arrivals
	// (acceptance rules) the site enforces on EU DCCs, and EURules holds
	// the rules, each a JSON object in the EU rule format (eurules.go);
	// both empty when the site enforces none.
	EUCountry string
	EURules   []json.RawMessage
}

// bundleWire is the payload: a deterministic CBOR map with integer keys.
//
//	1 site_type                text
//	2 version                  text
//	3 rules                    text
//	4 fever                    uint: hundredths of a degree Celsius (3730)
//	5 thermometer_unavailable  text: admit, deny or refer
//	6 yellow                   text: admit, deny or refer
//	7 paper_accepted           bool
//	8 residents                text: sorted holder ids, one a line
//	9 eu_country               text: the country whose EU acceptance rules apply (optional)
//	10 eu_rules                text: the EU business rules, a JSON array of rules (optional)
//
// The access list is one text rather than an array so that a compound of
// any size stays within the CBOR decoder's bound on array lengths.
type bundleWire struct {
	Site      string `cbor:"1,keyasint"`
	Version   string `cbor:"2,keyasint"`
	Rules     string `cbor:"3,keyasint"`
	Fever     uint64 `cbor:"4,keyasint"`
	Thermo    string `cbor:"5,keyasint"`
	Yellow    string `cbor:"6,keyasint"`
	Paper     bool   `cbor:"7,keyasint"`
	Residents string `cbor:"8,keyasint,omitempty"`
	EUCountry string `cbor:"9,keyasint,omitempty"`
	EURules   string `cbor:"10,keyasint,omitempty"`
}

// Marshal encodes b as a policy bundle payload, after checking its fields
// (not its rules: Compile does that). The access list is sorted and
// duplicates dropped, so equal bundles give equal bytes.
func (b *Bundle) Marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	res := slices.Clone(b.Residents)
	slices.Sort(res)
	res = slices.Compact(res)
	w := bundleWire{
		Site: string(b.Site), Version: b.Version, Rules: b.Rules,
		Fever:  uint64((b.Fever - physic.ZeroCelsius + centiCelsius/2) / centiCelsius),
		Thermo: string(b.ThermometerUnavailable), Yellow: string(b.Yellow),
		Paper: b.PaperAccepted, Residents: strings.Join(res, "\n"),
		EUCountry: b.EUCountry,
	}
	if len(b.EURules) > 0 {
		rules, err := compactRules(b.EURules)
		if err != nil {
			return nil, fmt.Errorf("marshal policy bundle: eu_rules: %w", err)
		}
		w.EURules = string(rules)
	}
	out, err := cose.EncMode().Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("marshal policy bundle: %w", err)
	}
	return out, nil
}

// ParseBundle decodes and checks a policy bundle payload. It does not
// compile the rules: New and Compile do.
func ParseBundle(payload []byte) (*Bundle, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBundle, len(payload), MaxPayload)
	}
	var w bundleWire
	if err := cose.DecMode().Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if w.Fever > 100_00 {
		return nil, fmt.Errorf("%w: fever: %d hundredths of a degree is out of range", ErrBundle, w.Fever)
	}
	b := &Bundle{
		Site: siteconfig.SiteType(w.Site), Version: w.Version, Rules: w.Rules,
		Fever:                  physic.ZeroCelsius + physic.Temperature(w.Fever)*centiCelsius,
		ThermometerUnavailable: passage.Verdict(w.Thermo), Yellow: passage.Verdict(w.Yellow),
		PaperAccepted: w.Paper,
	}
	if w.Residents != "" {
		b.Residents = strings.Split(w.Residents, "\n")
	}
	b.EUCountry = w.EUCountry
	if w.EURules != "" {
		if err := json.Unmarshal([]byte(w.EURules), &b.EURules); err != nil {
			return nil, fmt.Errorf("%w: eu_rules: not a JSON array of rules: %w", ErrBundle, err)
		}
		for i, raw := range b.EURules {
			var c bytes.Buffer
			if err := json.Compact(&c, raw); err != nil {
				return nil, fmt.Errorf("%w: eu_rules[%d]: %w", ErrBundle, i, err)
			}
			b.EURules[i] = c.Bytes()
		}
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// compactRules writes rules as one JSON array, each rule compacted and
// nothing escaped, so that equal bundles give equal bytes.
func compactRules(rules []json.RawMessage) ([]byte, error) {
	var out bytes.Buffer
	out.WriteByte('[')
	for i, raw := range rules {
		if i > 0 {
			out.WriteByte(',')
		}
		if err := json.Compact(&out, raw); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
	}
	out.WriteByte(']')
	return out.Bytes(), nil
}

// validate checks the fields of b and names the one that is wrong.
func (b *Bundle) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBundle, field, fmt.Sprintf(format, args...))
	}
	switch {
	case !b.Site.Valid():
		return bad("site_type", "%q is not one of supermarket, pharmacy, intersection, compound, custom", b.Site)
	case len(b.Version) > maxVersion:
		return bad("version", "%d characters, at most %d", len(b.Version), maxVersion)
	case strings.TrimSpace(b.Rules) == "":
		return bad("rules", "empty")
	case len(b.Rules) > MaxSource:
		return bad("rules", "%d bytes, at most %d", len(b.Rules), MaxSource)
	case b.Fever < physic.ZeroCelsius+35*physic.Celsius || b.Fever > physic.ZeroCelsius+42*physic.Celsius:
		return bad("fever", "%s is outside 35 to 42 °C", b.Fever)
	case !b.ThermometerUnavailable.Valid():
		return bad("thermometer_unavailable", "%q: want admit, deny or refer", b.ThermometerUnavailable)
	case !b.Yellow.Valid():
		return bad("yellow", "%q: want admit, deny or refer", b.Yellow)
	case len(b.Residents) > MaxResidents:
		return bad("residents", "%d entries, at most %d", len(b.Residents), MaxResidents)
	}
	for i, id := range b.Residents {
		if id == "" || len(id) > maxHolderID || strings.ContainsAny(id, " \t\r\n") {
			return bad(fmt.Sprintf("residents[%d]", i), "%q is not a holder id such as ZJ:42 or p:HEX", id)
		}
	}
	_, err := parseEURules(b.EUCountry, b.EURules)
	return err
}

// defaults holds the default policies, one file per site type.
//
//go:embed defaults/*.policy
var defaults embed.FS

// DefaultRules returns the source of the default policy for site type t.
func DefaultRules(t siteconfig.SiteType) (string, error) {
	if !t.Valid() {
		return "", fmt.Errorf("default policy: unknown site type %q", t)
	}
	b, err := defaults.ReadFile("defaults/" + string(t) + ".policy")
	if err != nil {
		return "", fmt.Errorf("default policy: %w", err)
	}
	return string(b), nil
}

// DefaultBundle returns the policy a terminal at a site of type t runs
// before it receives a policy bundle: the seed's rules (defaults/), a fever
// threshold of 37.3 °C, thermometer faults referred to the guard, yellow
// codes refused (referred at a pharmacy), paper codes accepted, and an
// empty access list (a compound then refers everyone as not resident).
func DefaultBundle(t siteconfig.SiteType) (*Bundle, error) {
	src, err := DefaultRules(t)
	if err != nil {
		return nil, err
	}
	b := &Bundle{
		Site: t, Version: "default", Rules: src, Fever: DefaultFever,
		ThermometerUnavailable: passage.Refer, Yellow: passage.Deny, PaperAccepted: true,
	}
	if t == siteconfig.Pharmacy {
		b.Yellow = passage.Refer
	}
	return b, nil
}
