package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"sentinel/crypto/certlogic"
	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/trust"
	"sentinel/internal/cli"
)

// verifyRulesFlags are verify's flags for the EU business rules.
type verifyRulesFlags struct {
	dirs    cli.Strings
	country *string
}

func addVerifyRulesFlags(fs *flag.FlagSet) *verifyRulesFlags {
	f := &verifyRulesFlags{}
	fs.Var(&f.dirs, "rules", "check EU DCC codes against the EU business rules (CertLogic) in `DIR` (rule.json files or one rule per *.json; repeatable); needs --country")
	f.country = fs.String("country", "", "the country of arrival whose acceptance rules apply (`CC`, as AT); the issuing country's invalidation rules apply too")
	return f
}

var countryCodeRE = regexp.MustCompile(`^[A-Z]{2}$`)

// load reads the rules, with the value sets of the trust store for the
// rules that read them; nil when --rules was not given.
func (f *verifyRulesFlags) load(store *trust.Store, now time.Time, stderr io.Writer) (*dcc.Rules, error) {
	if len(f.dirs) == 0 {
		if *f.country != "" {
			return nil, cli.Usagef("--country names whose rules apply: give the rules with --rules DIR")
		}
		return nil, nil
	}
	if !countryCodeRE.MatchString(*f.country) {
		return nil, cli.Usagef("--rules needs --country CC, the two capital letters of the country of arrival (as AT), not %q", *f.country)
	}
	var all []*certlogic.Rule
	for _, dir := range f.dirs {
		rules, err := certlogic.LoadRules(dir)
		if err != nil {
			return nil, cli.Usagef("--rules %s: %v", dir, err)
		}
		all = append(all, rules...)
	}
	n := 0
	for _, r := range all {
		if r.Country == *f.country && r.Type == certlogic.Acceptance && r.ValidAt(now) {
			n++
		}
	}
	fmt.Fprintf(stderr, "sentinelctl verify: %d rules read, %d acceptance rules of %s valid at %s\n", len(all), n, *f.country, now.UTC().Format(time.RFC3339))
	if n == 0 {
		fmt.Fprintf(stderr, "sentinelctl verify: warning: no acceptance rule of %s applies: EU DCC codes are checked without entry rules\n", *f.country)
	}
	if store.ValueSets().Len() == 0 {
		fmt.Fprintln(stderr, "sentinelctl verify: warning: no value sets loaded: rules that read external.valueSets will fail")
	}
	return dcc.NewRules(all), nil
}

// check applies the rules to an accepted credential.
func (f *verifyRulesFlags) check(rules *dcc.Rules, c *credential.Credential, now time.Time) error {
	if rules == nil || c == nil {
		return nil
	}
	_, err := rules.Check(c, *f.country, now)
	return err
}
