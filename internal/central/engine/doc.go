// Package engine is the centre's code engine: it judges a holder's colour
// from what the centre knows about them, under the colour rules of their
// region, and says why in words the holder can read.
//
// # The parts
//
//   - Facts ([Fact]): a confirmed case, a close contact, a fever recorded
//     at a checkpoint with its reading, a passage at a site (a visit), the
//     home area, a negative test, a whitelist membership, a manual status;
//     each with its time and its source.
//   - Areas ([Areas]): a tree of regions (province, city, district,
//     compound); sites lie in areas; ops grade areas high, medium or low
//     risk from an effective time, and a grade covers the areas within.
//   - Rule sets ([RuleSet]): one per region, in CEL, in the format of
//     docs/rules/README.md, compiled against this package's environment
//     (apart from internal/policy's, which is the terminal's). A holder
//     is judged by the most specific rule set on the path of their home
//     area ([Set]): a compound's over its district's, city's, province's.
//   - Results ([Result]): green, yellow, red or withheld, with the reason
//     code terminals get, the rule and version, the facts that decided,
//     when it began and until when (yellow 7 days and red 14 days after
//     the last contributing fact by default; green again when nothing
//     extends it). [Explain] writes it in English or Chinese.
//   - Contact derivation ([Contacts]) over a central.Store's passages:
//     the same site within a window, a minimum overlap, a cap, per rule
//     set.
//   - [Simulate]: what a rule set would change, before it goes live.
//
// # Judging
//
// The latest manual status in force decides first. Otherwise every rule
// is tried in order against the facts at or before the time judged; the
// first rule with a matched fact whose period is still running decides,
// and the later ones that hold are listed in [Result].Also. The same
// facts, world, rule set and time always give the same result, so the
// daily sweep, the event path, a dry run and an explanation agree.
//
// # Caveats
//
// Evaluation is bounded: each expression by [ExprCostLimit], each holder
// by [HolderCostLimit] and [MaxFacts]. A holder the rules fail on is an
// [*EvalError] and keeps the status they have.
//
// A result's Effective is when the status began by the facts; a fact that
// reaches the centre late (a passage synced hours after) can make it
// earlier than a code issued meanwhile. Whoever publishes the result must
// make the status entry's effective time no earlier than the moment it
// publishes a change, so that the gate's rule (an entry overrides a code
// issued before it) refuses such codes.
package engine
