package certlogic

// ruleDisagreements is the one table of the country-rule tests
// (eu-dcc-rules) on which this evaluator and the test's "expected"
// differ, by test path, with the reason. TestCountryRules checks that
// each still disagrees.
var ruleDisagreements = map[string]string{}
