package certlogic

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Issue is one reason why an expression is not valid CertLogic: the
// offending (sub-)expression as JSON and what is wrong with it.
type Issue struct {
	Expr    any    // the offending sub-expression, as decoded JSON
	Message string // what is wrong, in the wording of the specification's validation suite
}

func (i Issue) String() string {
	b, err := json.Marshal(i.Expr)
	if err != nil || len(b) > 120 {
		return i.Message
	}
	return fmt.Sprintf("%s: %s", i.Message, b)
}

// InvalidError is returned by Compile for an expression that is not valid
// CertLogic. Such an expression is never evaluated.
type InvalidError struct {
	Issues []Issue // at least one
}

func (e *InvalidError) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for i, is := range e.Issues {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Issues)-3))
			break
		}
		parts = append(parts, is.String())
	}
	return "certlogic: invalid expression: " + strings.Join(parts, "; ")
}

// EvalError is a failure while evaluating a valid expression on some data:
// an operand of the wrong type (a date where an integer belongs, a
// non-array on the right of "in") or a string that is no date-time. The
// specification makes these errors, not undefined behaviour; a rule that
// hits one fails.
type EvalError struct {
	Op  string // the operation, as "plusTime"
	Msg string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("certlogic: %s: %s", e.Op, e.Msg)
}

func evalErrorf(op, format string, args ...any) error {
	return &EvalError{Op: op, Msg: fmt.Sprintf(format, args...)}
}

// LimitError says that an expression or one evaluation exceeded one of
// the Limits, so that a hostile or broken rule cannot stall a lane. The
// expression is refused (at Compile) or its evaluation stopped (at Eval).
type LimitError struct {
	Limit string // the name of the field of Limits, as "MaxSteps"
	Max   int    // its value
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "MaxDepth":
		return fmt.Sprintf("certlogic: expression nested deeper than %d levels: refuse the rule or raise Limits.MaxDepth", e.Max)
	case "MaxNodes":
		return fmt.Sprintf("certlogic: expression larger than %d nodes: refuse the rule or raise Limits.MaxNodes", e.Max)
	case "MaxReduceItems":
		return fmt.Sprintf("certlogic: reduce over an array longer than %d items: stopped", e.Max)
	default:
		return fmt.Sprintf("certlogic: evaluation took more than %d steps: stopped", e.Max)
	}
}
