package certlogic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RuleType is an EU business rule's type.
type RuleType string

// The two types of rule: acceptance rules are a country's entry rules,
// invalidation rules the issuing country's own withdrawals.
const (
	Acceptance   RuleType = "Acceptance"
	Invalidation RuleType = "Invalidation"
)

// CertificateType is the kind of certificate a rule applies to; General
// rules apply to every kind.
type CertificateType string

// Certificate types of the EU rule format.
const (
	General     CertificateType = "General"
	Vaccination CertificateType = "Vaccination"
	Test        CertificateType = "Test"
	Recovery    CertificateType = "Recovery"
)

// Description is a rule's description in one language.
type Description struct {
	Lang string `json:"lang"`
	Desc string `json:"desc"`
}

// Rule is one EU DCC business rule as the EU gateway distributes it.
type Rule struct {
	Identifier      string // as VR-DE-0001: type (GR, VR, TR, RR, IR), country, number
	Type            RuleType
	Country         string // ISO 3166 alpha-2 of the rule's owner ("EU" for the Union's templates)
	Version         Version
	SchemaVersion   string
	Engine          string // always CERTLOGIC
	EngineVersion   string
	CertificateType CertificateType
	Descriptions    []Description // at least one, one of them in English
	ValidFrom       time.Time
	ValidTo         time.Time
	AffectedFields  []string
	Logic           *Expr

	raw json.RawMessage
}

// Raw returns the rule's JSON as it was parsed.
func (r *Rule) Raw() json.RawMessage { return r.raw }

// Description returns the rule's description in lang (as "de" or
// "de-at"; a regional tag falls back to its language), or else in
// English.
func (r *Rule) Description(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	base, _, _ := strings.Cut(lang, "-")
	var en, baseHit string
	for _, d := range r.Descriptions {
		switch d.Lang {
		case lang:
			return d.Desc
		case base:
			baseHit = d.Desc
		case "en":
			en = d.Desc
		}
	}
	if baseHit != "" {
		return baseHit
	}
	return en
}

// ValidAt reports whether t lies within [ValidFrom, ValidTo].
func (r *Rule) ValidAt(t time.Time) bool {
	return !t.Before(r.ValidFrom) && !t.After(r.ValidTo)
}

// AppliesTo reports whether the rule applies to certificates of type ct.
func (r *Rule) AppliesTo(ct CertificateType) bool {
	return r.CertificateType == General || r.CertificateType == ct
}

// Version is a rule's semantic version, as 1.0.2.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or 1 as v is lower than, equal to or higher than w.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
	}
	return 0
}

// RuleError is a rule that does not follow the EU rule format: the field
// and what is wrong with it. Logic that is not valid CertLogic wraps the
// compiler's *InvalidError or *LimitError.
type RuleError struct {
	Rule  string // the rule's Identifier when it was readable
	Field string // as "ValidTo"; empty for the rule as a whole
	Err   error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString("rule")
	if e.Rule != "" {
		b.WriteString(" " + e.Rule)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// MaxRuleBytes bounds one rule's JSON; the EU's largest is about 10 KiB.
const MaxRuleBytes = 256 << 10

var (
	identifierRE = regexp.MustCompile(`^(GR|VR|TR|RR|IR)-[A-Z]{2}-\d{4}$`)
	countryRE    = regexp.MustCompile(`^[A-Z]{2}$`)
	semverRE     = regexp.MustCompile(`^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$`)
	langRE       = regexp.MustCompile(`^[a-z]{2}(-[a-z]{2})?$`)
	// ruleTimeRE is the format of ValidFrom and ValidTo: seconds, no
	// fraction, a zone.
	ruleTimeRE = regexp.MustCompile(`^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([-+][0-2]\d:[0-5]\d|Z)$`)
)

// ruleJSON is the wire form; every field is required.
type ruleJSON struct {
	Identifier      *string          `json:"Identifier"`
	Type            *string          `json:"Type"`
	Country         *string          `json:"Country"`
	Version         *string          `json:"Version"`
	SchemaVersion   *string          `json:"SchemaVersion"`
	Engine          *string          `json:"Engine"`
	EngineVersion   *string          `json:"EngineVersion"`
	CertificateType *string          `json:"CertificateType"`
	Description     *[]Description   `json:"Description"`
	ValidFrom       *string          `json:"ValidFrom"`
	ValidTo         *string          `json:"ValidTo"`
	AffectedFields  *[]string        `json:"AffectedFields"`
	Logic           *json.RawMessage `json:"Logic"`
}

// ParseRule reads one rule strictly: every field of the format present
// and well-formed, no unknown field, an English description, ValidFrom
// before ValidTo, and Logic valid CertLogic within DefaultLimits. Any
// departure is a *RuleError.
func ParseRule(b []byte) (*Rule, error) {
	if len(b) > MaxRuleBytes {
		return nil, &RuleError{Err: fmt.Errorf("%d bytes, more than the %d a rule may have", len(b), MaxRuleBytes)}
	}
	var w ruleJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, &RuleError{Err: fmt.Errorf("not a rule object: %w", err)}
	}
	if dec.More() {
		return nil, &RuleError{Err: errors.New("more than one JSON value")}
	}
	r := &Rule{raw: json.RawMessage(bytes.TrimSpace(b))}
	id := ""
	if w.Identifier != nil {
		id = *w.Identifier
	}
	fail := func(field, format string, args ...any) (*Rule, error) {
		return nil, &RuleError{Rule: id, Field: field, Err: fmt.Errorf(format, args...)}
	}
	// Required fields, in the order of the format.
	for _, f := range []struct {
		name    string
		present bool
	}{
		{"Identifier", w.Identifier != nil}, {"Type", w.Type != nil}, {"Country", w.Country != nil},
		{"Version", w.Version != nil}, {"SchemaVersion", w.SchemaVersion != nil}, {"Engine", w.Engine != nil},
		{"EngineVersion", w.EngineVersion != nil}, {"CertificateType", w.CertificateType != nil},
		{"Description", w.Description != nil}, {"ValidFrom", w.ValidFrom != nil}, {"ValidTo", w.ValidTo != nil},
		{"AffectedFields", w.AffectedFields != nil}, {"Logic", w.Logic != nil},
	} {
		if !f.present {
			return fail(f.name, "missing (or null)")
		}
	}
	if !identifierRE.MatchString(id) {
		return fail("Identifier", "%q is not of the form VR-DE-0001 (GR, VR, TR, RR or IR, a country, four digits)", id)
	}
	r.Identifier = id
	switch t := RuleType(*w.Type); t {
	case Acceptance, Invalidation:
		r.Type = t
	default:
		return fail("Type", "%q is neither Acceptance nor Invalidation", *w.Type)
	}
	if !countryRE.MatchString(*w.Country) {
		return fail("Country", "%q is not a two-letter country code in capitals", *w.Country)
	}
	r.Country = *w.Country
	if id[3:5] != r.Country {
		return fail("Identifier", "%q names country %s, but the rule's Country is %s", id, id[3:5], r.Country)
	}
	var err error
	if r.Version, err = parseVersion(*w.Version); err != nil {
		return fail("Version", "%v", err)
	}
	if _, err := parseVersion(*w.SchemaVersion); err != nil {
		return fail("SchemaVersion", "%v", err)
	}
	r.SchemaVersion = *w.SchemaVersion
	if *w.Engine != "CERTLOGIC" {
		return fail("Engine", "%q: only CERTLOGIC rules can be evaluated", *w.Engine)
	}
	r.Engine = *w.Engine
	if _, err := parseVersion(*w.EngineVersion); err != nil {
		return fail("EngineVersion", "%v", err)
	}
	r.EngineVersion = *w.EngineVersion
	switch ct := CertificateType(*w.CertificateType); ct {
	case General, Vaccination, Test, Recovery:
		r.CertificateType = ct
	default:
		return fail("CertificateType", "%q is not General, Vaccination, Test or Recovery", *w.CertificateType)
	}
	hasEnglish := false
	seen := map[string]bool{}
	for i, d := range *w.Description {
		if !langRE.MatchString(d.Lang) {
			return fail("Description", "entry %d: language %q is not a code as en or de-at", i, d.Lang)
		}
		if seen[d.Lang] {
			return fail("Description", "language %q given twice", d.Lang)
		}
		seen[d.Lang] = true
		if strings.TrimSpace(d.Desc) == "" {
			return fail("Description", "the %s description is empty", d.Lang)
		}
		hasEnglish = hasEnglish || d.Lang == "en"
	}
	if !hasEnglish {
		return fail("Description", "no English (en) description: the fallback for every language")
	}
	r.Descriptions = *w.Description
	if r.ValidFrom, err = parseRuleTime(*w.ValidFrom); err != nil {
		return fail("ValidFrom", "%v", err)
	}
	if r.ValidTo, err = parseRuleTime(*w.ValidTo); err != nil {
		return fail("ValidTo", "%v", err)
	}
	if !r.ValidFrom.Before(r.ValidTo) {
		return fail("ValidTo", "%s is not after ValidFrom %s", *w.ValidTo, *w.ValidFrom)
	}
	r.AffectedFields = *w.AffectedFields
	raw, err := decodeExpr(*w.Logic)
	if err != nil {
		return fail("Logic", "%v", err)
	}
	if m, ok := raw.(map[string]any); !ok || len(m) == 0 {
		return fail("Logic", "not a CertLogic operation (an object with one operator)")
	}
	if r.Logic, err = Compile(raw); err != nil {
		return nil, &RuleError{Rule: id, Field: "Logic", Err: err}
	}
	return r, nil
}

func parseVersion(s string) (Version, error) {
	m := semverRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a version as 1.0.2", s)
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, nil
}

func parseRuleTime(s string) (time.Time, error) {
	if !ruleTimeRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a time as 2021-06-01T00:00:00Z (seconds, a zone, no fraction)", s)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time: %w", s, err)
	}
	return t.UTC(), nil
}

// Selection says which rules apply to a certificate.
type Selection struct {
	Country         string          // the country whose rules apply
	Type            RuleType        // Acceptance or Invalidation
	CertificateType CertificateType // Vaccination, Test or Recovery: General rules always apply
	At              time.Time       // the validation time
}

// Select returns the rules that apply: those of the country and type for
// the certificate type (or General) valid at At, and of each identifier
// only the highest version valid then (a new version supersedes the old
// one from its ValidFrom). They come sorted by identifier.
func Select(rules []*Rule, s Selection) []*Rule {
	best := map[string]*Rule{}
	for _, r := range rules {
		if r.Country != s.Country || r.Type != s.Type || !r.AppliesTo(s.CertificateType) || !r.ValidAt(s.At) {
			continue
		}
		if cur, ok := best[r.Identifier]; !ok || r.Version.Compare(cur.Version) > 0 ||
			(r.Version == cur.Version && r.ValidFrom.After(cur.ValidFrom)) {
			best[r.Identifier] = r
		}
	}
	out := make([]*Rule, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identifier < out[j].Identifier })
	return out
}

// CertificateTypeOf returns the type of a DCC payload (the hcert claim's
// content, as a map): Vaccination for a "v" group, Test for "t",
// Recovery for "r"; ok is false unless exactly one group is present and
// non-empty.
func CertificateTypeOf(payload any) (CertificateType, bool) {
	m, ok := payload.(map[string]any)
	if !ok {
		return "", false
	}
	var ct CertificateType
	n := 0
	for key, t := range map[string]CertificateType{"v": Vaccination, "t": Test, "r": Recovery} {
		if arr, ok := m[key].([]any); ok && len(arr) > 0 {
			ct = t
			n++
		}
	}
	return ct, n == 1
}

// Outcome is the result of one rule on one certificate.
type Outcome struct {
	Rule   *Rule
	Passed bool  // the rule evaluated to true
	Err    error // the rule could not be evaluated (it did not pass)
}

// Eval evaluates the rule on a data context {"payload": ..., "external":
// ...}. It passes when its logic evaluates to true; any other value is a
// failure, and an evaluation error is returned (the rule did not pass).
func (r *Rule) Eval(data any) (bool, error) {
	v, err := r.Logic.Eval(data)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &EvalError{Op: "rule", Msg: fmt.Sprintf("the rule evaluated to %s, not true or false", describe(v))}
	}
	return b, nil
}

// EvalAll evaluates each rule on data, in order.
func EvalAll(rules []*Rule, data any) []Outcome {
	out := make([]Outcome, len(rules))
	for i, r := range rules {
		ok, err := r.Eval(data)
		out[i] = Outcome{Rule: r, Passed: ok, Err: err}
	}
	return out
}
