package certlogic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits bound the work of one expression, so that a hostile or broken
// rule cannot stall a lane. Compile enforces MaxDepth and MaxNodes; Eval
// enforces MaxSteps and MaxReduceItems. Exceeding one is a *LimitError.
type Limits struct {
	MaxDepth       int // nesting of operations and arrays
	MaxNodes       int // operations, literals and array items of the expression
	MaxSteps       int // operations evaluated plus items compared by "in" and folded by "reduce", per evaluation
	MaxReduceItems int // length of an array that "reduce" folds
}

// DefaultLimits are generous for the EU's published rules (in the
// corpus's eight countries the largest has 42 nodes, nests 8 levels and
// evaluates in at most 80 steps) and keep the worst case to a few
// milliseconds.
var DefaultLimits = Limits{
	MaxDepth:       64,
	MaxNodes:       10_000,
	MaxSteps:       200_000,
	MaxReduceItems: 10_000,
}

// Expr is a compiled, valid CertLogic expression. It is safe for
// concurrent use.
type Expr struct {
	root   node
	limits Limits
	nodes  int
}

// Nodes returns the size of the expression (see Limits.MaxNodes).
func (x *Expr) Nodes() int { return x.nodes }

// Compile validates an expression decoded from JSON (numbers as float64
// or json.Number) and compiles it for evaluation, under DefaultLimits. An
// invalid expression is an *InvalidError listing every issue; one beyond
// the limits a *LimitError.
func Compile(raw any) (*Expr, error) { return CompileWith(raw, DefaultLimits) }

// CompileWith is Compile under the given limits; a zero field of lim
// takes the default's value.
func CompileWith(raw any, lim Limits) (*Expr, error) {
	lim = lim.withDefaults()
	c := &compiler{lim: lim}
	root := c.compile(raw, 1)
	if c.limitErr != nil {
		return nil, c.limitErr
	}
	if len(c.issues) > 0 {
		return nil, &InvalidError{Issues: c.issues}
	}
	return &Expr{root: root, limits: lim, nodes: c.nodes}, nil
}

// CompileJSON decodes and compiles an expression.
func CompileJSON(b []byte) (*Expr, error) {
	raw, err := decodeExpr(b)
	if err != nil {
		return nil, err
	}
	return Compile(raw)
}

// Validate returns the issues of an expression, none for a valid one. A
// limit exceeded is one issue.
func Validate(raw any) []Issue {
	_, err := Compile(raw)
	var inv *InvalidError
	var lim *LimitError
	switch {
	case errors.As(err, &inv):
		return inv.Issues
	case errors.As(err, &lim):
		return []Issue{{Expr: raw, Message: lim.Error()}}
	}
	return nil
}

func decodeExpr(b []byte) (any, error) {
	if len(b) > MaxDataBytes {
		return nil, ErrDataTooLarge
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("certlogic: decode expression: %w", err)
	}
	if dec.More() {
		return nil, errors.New("certlogic: decode expression: more than one JSON value")
	}
	return raw, nil
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = d.MaxSteps
	}
	if l.MaxReduceItems <= 0 {
		l.MaxReduceItems = d.MaxReduceItems
	}
	return l
}

type compiler struct {
	lim      Limits
	nodes    int
	issues   []Issue
	limitErr *LimitError
}

func (c *compiler) issue(expr any, format string, args ...any) node {
	c.issues = append(c.issues, Issue{Expr: expr, Message: fmt.Sprintf(format, args...)})
	return nil
}

// compile validates expr and returns its node; with issues it records
// them and returns nil.
func (c *compiler) compile(expr any, depth int) node {
	if c.limitErr != nil {
		return nil
	}
	c.nodes++
	if c.nodes > c.lim.MaxNodes {
		c.limitErr = &LimitError{Limit: "MaxNodes", Max: c.lim.MaxNodes}
		return nil
	}
	if depth > c.lim.MaxDepth {
		c.limitErr = &LimitError{Limit: "MaxDepth", Max: c.lim.MaxDepth}
		return nil
	}
	switch x := expr.(type) {
	case string:
		return literal{x}
	case bool:
		return literal{x}
	case json.Number, float64, int, int64:
		if n, ok := asInt(x); ok {
			return literal{n}
		}
		return c.issue(expr, "%v is a non-integer number", x)
	case []any:
		items := make([]node, len(x))
		for i, e := range x {
			items[i] = c.compile(e, depth+1)
		}
		return arrayNode{items}
	case map[string]any:
		return c.compileOperation(x, depth)
	}
	return c.issue(expr, "invalid CertLogic expression")
}

// operandCount says how many operands an operation takes.
var operandCount = map[string][2]int{ // min, max (0: no maximum)
	"if":              {3, 3},
	"===":             {2, 2},
	"in":              {2, 2},
	"+":               {2, 2},
	"and":             {2, 0},
	"<":               {2, 3},
	">":               {2, 3},
	"<=":              {2, 3},
	">=":              {2, 3},
	"after":           {2, 3},
	"before":          {2, 3},
	"not-after":       {2, 3},
	"not-before":      {2, 3},
	"!":               {1, 1},
	"plusTime":        {3, 3},
	"reduce":          {3, 3},
	"extractFromUVCI": {2, 2},
	"dccDateOfBirth":  {1, 1},
}

func (c *compiler) compileOperation(expr map[string]any, depth int) node {
	if len(expr) != 1 {
		return c.issue(expr, "expression object must have exactly one key, but it has %d", len(expr))
	}
	var op string
	var arg any
	for k, v := range expr {
		op, arg = k, v
	}
	if op == "var" {
		path, ok := arg.(string)
		if !ok {
			return c.issue(expr, `not of the form { "var": "<path>" }`)
		}
		v, ok := newVarNode(path)
		if !ok {
			return c.issue(expr, "data access path doesn't have a valid format: %s", path)
		}
		return v
	}
	args, ok := arg.([]any)
	if !ok {
		return c.issue(expr, `operation not of the form { "<operator>": [ <values...> ] }`)
	}
	count, known := operandCount[op]
	if !known {
		return c.issue(expr, "unrecognised operator: %q", op)
	}
	if len(args) < count[0] || (count[1] > 0 && len(args) > count[1]) {
		want := strconv.Itoa(count[0])
		switch {
		case count[1] == 0:
			want = "at least " + want
		case count[1] != count[0]:
			want = fmt.Sprintf("%d or %d", count[0], count[1])
		}
		return c.issue(expr, "an %q operation must have %s operands, but it has %d", op, want, len(args))
	}
	before := len(c.issues)
	// Operands that must be literals are checked here; the others compile.
	ops := make([]node, len(args))
	for i, a := range args {
		switch {
		case op == "plusTime" && i == 1, op == "extractFromUVCI" && i == 1:
			c.nodes++
			if _, ok := asInt(a); !ok {
				c.issue(expr, "operand #%d of %q must be an integer literal", i+1, op)
			}
		case op == "plusTime" && i == 2:
			c.nodes++
			s, _ := a.(string)
			if _, ok := timeUnits[s]; !ok {
				c.issue(expr, `operand #3 of "plusTime" must be one of the time units "year", "month", "day", "hour"`)
			}
		default:
			ops[i] = c.compile(a, depth+1)
		}
	}
	if len(c.issues) > before || c.limitErr != nil {
		return nil
	}
	switch op {
	case "if":
		return &ifNode{ops[0], ops[1], ops[2]}
	case "===":
		return &eqNode{ops[0], ops[1]}
	case "in":
		return &inNode{ops[0], ops[1]}
	case "+":
		return &plusNode{ops[0], ops[1]}
	case "and":
		return &andNode{ops}
	case "<", ">", "<=", ">=":
		return &compareNode{op: op, cmp: comparators[op], ops: ops}
	case "after", "before", "not-after", "not-before":
		return &compareNode{op: op, cmp: comparators[op], ops: ops, dates: true}
	case "!":
		return &notNode{ops[0]}
	case "plusTime":
		amount, _ := asInt(args[1])
		n := &plusTimeNode{date: ops[0], amount: amount, unit: timeUnits[args[2].(string)]}
		if amount > maxOffset || amount < -maxOffset {
			c.issue(expr, "the amount of a plusTime must lie within ±%d", maxOffset)
			return nil
		}
		if lit, ok := ops[0].(literal); ok {
			n.cached = true
			n.value, n.err = n.apply(lit.v)
		}
		return n
	case "reduce":
		return &reduceNode{ops[0], ops[1], ops[2]}
	case "extractFromUVCI":
		index, _ := asInt(args[1])
		return &uvciNode{ops[0], index}
	case "dccDateOfBirth":
		return &dobNode{ops[0]}
	}
	panic("certlogic: operation " + op + " in operandCount but not compiled")
}

// comparators hold the integer and date-time comparisons; the date-time
// ones are after (>), before (<), not-after (<=) and not-before (>=).
var comparators = map[string]func(c int) bool{
	">": func(c int) bool { return c > 0 }, "after": func(c int) bool { return c > 0 },
	"<": func(c int) bool { return c < 0 }, "before": func(c int) bool { return c < 0 },
	"<=": func(c int) bool { return c <= 0 }, "not-after": func(c int) bool { return c <= 0 },
	">=": func(c int) bool { return c >= 0 }, "not-before": func(c int) bool { return c >= 0 },
}

// newVarNode parses a data access path: "" (the whole context) or
// non-empty fragments separated by periods.
func newVarNode(path string) (*varNode, bool) {
	if path == "" {
		return &varNode{}, true
	}
	frags := strings.Split(path, ".")
	v := &varNode{path: frags, index: make([]int, len(frags))}
	for i, f := range frags {
		if f == "" {
			return nil, false
		}
		v.index[i] = -1
		if n, ok := digits(f); ok && len(f) <= 9 {
			v.index[i] = n
		}
	}
	return v, true
}
