// Package policy decides a passage at the gate: admit, deny or refer to the
// guard, with reason codes, from rules written in CEL (cel.dev/cel-go).
//
// It owns the terminal's CEL environment: the variables a rule sees
// (credential, refusal, status, colour, temperature, clock, bundles, site,
// enrolled, resident, now, settings; docs/policy.md lists their fields)
// built from a typed Go Input. A policy is an ordered list of rules in a
// small text format; the first rule whose `when` holds decides, and a final
// `default` decides when none does:
//
//	rule fever
//	  when temperature.available && temperature.celsius >= settings.fever
//	  refer fever
//
//	default refer no-rule-matched
//
// Policies travel in the signed policy bundle (trust.KindPolicy), whose
// payload is a Bundle: the rules, the site's thresholds and actions, and a
// compound's access list. The centre calls Compile on a payload before it
// signs it, so that a terminal never receives a policy it cannot run. A
// terminal without a policy bundle runs the default policy of its site type
// (DefaultBundle), embedded from defaults/.
//
// New compiles once; (*Engine).Decide evaluates the compiled programs and is
// safe for concurrent use by every lane.
//
// # Caveats
//
// Decide never admits on an error: a rule that fails at run time (a
// division by zero, an index out of range, the cost limit, a verdict that is
// not admit, deny or refer) refers the person to the guard with the reason
// "policy-error", names the rule and keeps the cause in Decision.Err.
//
// Rules see what the policy bundle's settings say (settings.fever,
// settings.yellow…); the gate's config bundle does not reach them.
//
// Holder identities reach the rules only as opaque ids ("ZJ:42", "p:HEX"),
// never as names.
package policy
