package dcc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"sentinel/crypto/certlogic"
	"sentinel/crypto/credential"
	"sentinel/crypto/valueset"
)

// Content is what a verified EU DCC credential carries for the EU
// business rules (credential.Credential.Content): the health certificate
// and the value sets it was verified against, which the rules read under
// external.valueSets. It holds the full name and the birth date: never
// log, journal or display it.
type Content struct {
	HCert     *HCert
	ValueSets *valueset.Sets // nil when none were loaded
}

// Rules are EU business rules (CertLogic, in the EU rule format), ready
// to check verified certificates. They are read-only once made and safe
// for concurrent use.
type Rules struct {
	rules []*certlogic.Rule

	mu      sync.Mutex
	setsOf  *valueset.Sets // the value sets last converted
	setsFor certlogic.ValueSets
}

// NewRules holds rules.
func NewRules(rules []*certlogic.Rule) *Rules {
	return &Rules{rules: rules}
}

// Rules returns the rules held.
func (r *Rules) Rules() []*certlogic.Rule {
	if r == nil {
		return nil
	}
	return r.rules
}

// valueSets converts value sets for the rules once per trust bundle.
func (r *Rules) valueSets(vs *valueset.Sets) certlogic.ValueSets {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.setsOf != vs || vs == nil {
		m := map[string][]string{}
		for _, s := range vs.All() {
			m[s.ID] = s.Sorted()
		}
		r.setsOf, r.setsFor = vs, certlogic.NewValueSets(m)
	}
	return r.setsFor
}

// Len returns the number of rules held.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// RulesOutcome is what Check found: the country of arrival and the rules
// evaluated (identifier and version).
type RulesOutcome struct {
	Country   string
	Evaluated []string // as "VR-AT-0001 1.0.2"
}

// Check evaluates on a verified EU DCC credential, as EU verifiers do,
// the acceptance rules of the country of arrival and the invalidation
// rules of the issuing country, those valid at `at` for the
// certificate's type, General rules included. It returns the rules
// evaluated and nil when every one passed, or a *credential.Rejection
// with ReasonBusinessRule that names the first failing rule (by
// identifier) and carries its descriptions. A credential that is no EU
// DCC is outside these rules: nothing is evaluated.
func (r *Rules) Check(c *credential.Credential, arrival string, at time.Time) (RulesOutcome, error) {
	out := RulesOutcome{Country: arrival}
	content, ok := c.Content.(*Content)
	if !ok || content.HCert == nil || r.Len() == 0 {
		return out, nil
	}
	h := content.HCert
	payload, err := rulesPayload(h)
	if err != nil {
		return out, credential.Reject(credential.FormatDCC, credential.ReasonBusinessRule, "the certificate cannot be given to the rules: %w", err)
	}
	ct, ok := certlogic.CertificateTypeOf(payload)
	if !ok {
		return out, credential.Reject(credential.FormatDCC, credential.ReasonSchema, "the certificate holds no single vaccination, test or recovery")
	}
	// The issuing country is the CWT's issuer (iss); the entry's country
	// (co, where the dose was given or the test taken) stands in only
	// when iss is no country code.
	issuer := c.Issuer
	if !isCountryCode(issuer) {
		issuer = h.country()
	}
	sel := certlogic.Select(r.rules, certlogic.Selection{Country: arrival, Type: certlogic.Acceptance, CertificateType: ct, At: at})
	sel = append(sel, certlogic.Select(r.rules, certlogic.Selection{Country: issuer, Type: certlogic.Invalidation, CertificateType: ct, At: at})...)
	data := certlogic.Data(payload, certlogic.External{
		ValidationClock:   at,
		ValueSets:         r.valueSets(content.ValueSets),
		CountryCode:       arrival,
		IssuerCountryCode: issuer,
		Exp:               c.Expires,
		Iat:               c.IssuedAt,
		Kid:               base64.StdEncoding.EncodeToString(c.KeyID),
	})
	for _, rule := range sel {
		out.Evaluated = append(out.Evaluated, rule.Identifier+" "+rule.Version.String())
		passed, err := rule.Eval(data)
		if passed {
			continue
		}
		rej := credential.Reject(credential.FormatDCC, credential.ReasonBusinessRule,
			"%s rule %s %s of %s failed", rule.Type, rule.Identifier, rule.Version, rule.Country)
		if err != nil {
			rej = credential.Reject(credential.FormatDCC, credential.ReasonBusinessRule,
				"%s rule %s %s of %s could not be evaluated: %w", rule.Type, rule.Identifier, rule.Version, rule.Country, err)
		}
		rej.Rule = rule.Identifier
		rej.RuleText = make(map[string]string, len(rule.Descriptions))
		for _, d := range rule.Descriptions {
			rej.RuleText[d.Lang] = d.Desc
		}
		return out, rej
	}
	return out, nil
}

// rulesPayload gives the health certificate to the rules as the JSON the
// EU's rules were written for (the schema's field names), after the
// verifier's leniencies (null groups absent, 1.0.x date-times as dates).
func rulesPayload(h *HCert) (any, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode the health certificate: %w", err)
	}
	return certlogic.DecodeJSON(b)
}

// isCountryCode reports whether s is two capital letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
