package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"sentinel/crypto/certlogic"
	"sentinel/crypto/credential"
	eudcc "sentinel/crypto/dcc"
)

// The EU business rules a site enforces travel in its policy bundle: the
// rules (Bundle.EURules, in the EU rule format) and the country whose
// acceptance rules apply (Bundle.EUCountry). They travel with the policy
// rather than in a bundle of their own so that a policy that requires a
// country's rules never runs without them: the centre checks the two
// together before it signs.
//
// The rules see the variable eu_rules (euRulesVar). For a verified EU DCC
// at a site whose policy bundle carries rules, the engine evaluates, as EU
// verifiers do, the acceptance rules of EUCountry and the invalidation
// rules of the issuing country valid at the passage's time for the
// certificate's type (dcc.Rules.Check); the default policies refuse a
// certificate that fails one with "verification:business-rule", and the
// Decision's Refusal names the rule and carries its descriptions for the
// guard.

// euRulesVar is what rules see of the EU business rules.
type euRulesVar struct {
	Checked bool   `cel:"checked"` // an EU DCC, and the policy bundle carries rules
	Passed  bool   `cel:"passed"`  // every rule applied passed (false when not checked)
	Country string `cel:"country"` // the country whose acceptance rules apply, "" when none
	Rule    string `cel:"rule"`    // the identifier of the first rule that failed, or ""
	Count   int    `cel:"count"`   // the rules applied
}

// ReasonBusinessRule is the reason of the default policies for an EU DCC
// that fails a business rule: the verifier's reason, as verifier reasons
// appear in decisions.
const ReasonBusinessRule = VerificationPrefix + string(credential.ReasonBusinessRule)

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// parseEURules reads the rules of a bundle strictly and checks that the
// country has acceptance rules among them.
func parseEURules(country string, raws []json.RawMessage) ([]*certlogic.Rule, error) {
	if len(raws) == 0 && country == "" {
		return nil, nil
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBundle, field, fmt.Sprintf(format, args...))
	}
	if !countryRE.MatchString(country) {
		return nil, bad("eu_country", "%q is not the two capital letters of a country (as AT); it names whose acceptance rules apply", country)
	}
	if len(raws) > maxEURules {
		return nil, bad("eu_rules", "%d rules, at most %d", len(raws), maxEURules)
	}
	rules := make([]*certlogic.Rule, 0, len(raws))
	acceptance := 0
	for i, raw := range raws {
		r, err := certlogic.ParseRule(raw)
		if err != nil {
			return nil, bad(fmt.Sprintf("eu_rules[%d]", i), "%v", err)
		}
		if r.Country == country && r.Type == certlogic.Acceptance {
			acceptance++
		}
		rules = append(rules, r)
	}
	if acceptance == 0 {
		return nil, bad("eu_rules", "no acceptance rule of %s among the %d rules: give %s's rules or another country", country, len(rules), country)
	}
	return rules, nil
}

// maxEURules bounds the rules of one bundle: every country of the EU's
// gateway published a few dozen.
const maxEURules = 2000

// euRules evaluates the EU business rules on the credential, when there
// are any and it is an EU DCC.
func (e *Engine) euRules(c *credential.Credential, now time.Time) (euRulesVar, *credential.Rejection) {
	v := euRulesVar{Country: e.euCountry}
	if e.eu == nil || c == nil {
		return v, nil
	}
	if _, ok := c.Content.(*eudcc.Content); !ok {
		return v, nil
	}
	out, err := e.eu.Check(c, e.euCountry, now)
	v.Checked, v.Count = true, len(out.Evaluated)
	if err == nil {
		v.Passed = true
		return v, nil
	}
	var rej *credential.Rejection
	if errors.As(err, &rej) {
		v.Rule = rej.Rule
		return v, rej
	}
	return v, credential.Reject(credential.FormatDCC, credential.ReasonBusinessRule, "%w", err)
}

// EURules returns the country whose EU acceptance rules the engine
// enforces and how many rules it holds ("" and 0 for none), for the
// terminal's log and status.
func (e *Engine) EURules() (country string, n int) {
	if e.eu == nil {
		return "", 0
	}
	return e.euCountry, e.eu.Len()
}

// EURulesSummary says which EU business rules a policy bundle carries,
// for selftest and the display's bundle line: the country whose
// acceptance rules apply, how many rules, and which are valid when.
type EURulesSummary struct {
	Country string
	windows [][2]time.Time
}

// Len returns the number of rules.
func (s EURulesSummary) Len() int { return len(s.windows) }

// ValidAt returns how many of the rules are valid at t (ValidFrom ≤ t ≤
// ValidTo): a rule published ahead of its date, or expired, counts in Len
// but not here.
func (s EURulesSummary) ValidAt(t time.Time) int {
	n := 0
	for _, w := range s.windows {
		if !t.Before(w[0]) && !t.After(w[1]) {
			n++
		}
	}
	return n
}

// EURulesSummary returns the summary of the bundle's EU business rules (Len 0
// when it carries none), or why they do not parse.
func (b *Bundle) EURulesSummary() (EURulesSummary, error) {
	rules, err := parseEURules(b.EUCountry, b.EURules)
	if err != nil {
		return EURulesSummary{}, err
	}
	return summarize(b.EUCountry, rules), nil
}

func summarize(country string, rules []*certlogic.Rule) EURulesSummary {
	s := EURulesSummary{Country: country}
	for _, r := range rules {
		s.windows = append(s.windows, [2]time.Time{r.ValidFrom, r.ValidTo})
	}
	return s
}

// EURulesSummary is the summary of the rules the engine enforces.
func (e *Engine) EURulesSummary() EURulesSummary {
	if e == nil || e.eu == nil {
		return EURulesSummary{}
	}
	return summarize(e.euCountry, e.eu.Rules())
}
