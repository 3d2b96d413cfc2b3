// Package certlogic evaluates CertLogic, the restricted JsonLogic with
// date-time extensions in which the EU member states published their
// business rules for EU Digital COVID Certificates, and reads those
// rules in the EU's rule format.
//
// It is written from the specification (version 1.3.3, kept with the
// test corpus as certlogic/SPEC.md) and passes its evaluation and
// validation test suites. It is a leaf: it imports nothing of Sentinel.
//
// # Expressions
//
// Compile validates an expression decoded from JSON and returns an *Expr,
// or an *InvalidError listing every issue (in the wording of the
// specification's validation suite), or a *LimitError. Validate returns
// the issues alone. Expr.Eval evaluates on a data context built by
// DecodeJSON, FromJSON or Data; a wrongly typed operand is an *EvalError.
// An invalid expression is never evaluated.
//
// Operations: var, if, ===, and, !, in, +, <, >, <=, >= (binary or
// ternary), after, before, not-after, not-before (on date-times, binary
// or ternary), plusTime, dccDateOfBirth, reduce, extractFromUVCI.
//
// Where the specification leaves room, this package decides so:
//   - reduce's lambda sees {"accumulator", "current", "data"}, data being
//     the outer context (the "patched" reduce of the suite);
//   - "and" checks the truthiness of every operand but the last, which it
//     returns as it is, as the reference implementation does;
//   - === compares null, booleans, numbers and strings; arrays, objects
//     and date-times are never equal (JavaScript compares them by
//     reference);
//   - a date string plusTime cannot read (a form not in the
//     specification's list, or a day that does not exist) is an
//     *EvalError, where the specification says "undefined";
//   - a var path fragment of digits indexes an array; on an object it is a
//     key; drilling into anything else gives null.
//
// # Bounds
//
// A rule comes from outside, so its work is bounded (Limits, by default
// DefaultLimits): the nesting and the size of an expression at Compile,
// and at Eval the number of steps (each operation, each item "in"
// compares and "reduce" folds) and the length of an array "reduce" folds.
// The amount of a plusTime lies within ±10,000,000. Exceeding a bound is
// a *LimitError, and a rule that hits one fails. Nothing is recursive but
// the walk of the expression, whose depth is bounded.
//
// # Rules
//
// ParseRule reads one rule of the EU format strictly (a *RuleError names
// the field); Select picks the rules of a country, type and certificate
// type valid at a time, the highest version of each identifier; Rule.Eval
// passes when the logic evaluates to true. Data builds the context
// {"payload", "external"} a rule reads. FindRuleFolders and LoadRuleFolder
// read the layout of the EU's rule test data (rule.json beside
// tests/*.json).
package certlogic
