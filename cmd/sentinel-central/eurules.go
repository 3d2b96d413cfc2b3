package main

import (
	"encoding/json"
	"regexp"

	"sentinel/crypto/certlogic"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/cli"
)

var euCountryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// euRulesOptions reads --eu-rules DIR and --eu-country CC into the
// policy's options: the EU business rules the site enforces on EU DCCs
// travel in its policy bundle (docs/eu-rules.md).
func euRulesOptions(o *bundles.PolicyOptions, kind trust.Kind, dir, country string) error {
	if dir == "" && country == "" {
		return nil
	}
	if kind != trust.KindPolicy {
		return cli.Usagef("--eu-rules and --eu-country belong to a policy; the %s bundle does not take them", kind)
	}
	if dir == "" || !euCountryRE.MatchString(country) {
		return cli.Usagef("give both --eu-rules DIR and --eu-country CC (two capital letters, as AT): the rules and the country whose acceptance rules apply")
	}
	rules, err := certlogic.LoadRules(dir)
	if err != nil {
		return cli.Usagef("--eu-rules %s: %v", dir, err)
	}
	if len(rules) == 0 {
		return cli.Usagef("--eu-rules %s: no rule found (rule.json files, or one rule per *.json)", dir)
	}
	o.EUCountry = country
	for _, r := range rules {
		o.EURules = append(o.EURules, json.RawMessage(r.Raw()))
	}
	return nil
}
