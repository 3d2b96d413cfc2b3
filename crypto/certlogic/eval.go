package certlogic

import (
	"math"
	"strings"
	"time"
)

// Eval evaluates the expression on a data context in the value form of
// value.go. It returns an *EvalError when an operand has the wrong type
// and a *LimitError when the evaluation exceeds the limits.
func (x *Expr) Eval(data any) (any, error) {
	e := evaluator{lim: &x.limits}
	return x.root.eval(&e, data)
}

// Evaluate compiles and evaluates an expression in one call.
func Evaluate(raw, data any) (any, error) {
	x, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	return x.Eval(data)
}

type evaluator struct {
	lim   *Limits
	steps int
}

// step counts n units of work against MaxSteps.
func (e *evaluator) step(n int) error {
	e.steps += n
	if e.steps > e.lim.MaxSteps {
		return &LimitError{Limit: "MaxSteps", Max: e.lim.MaxSteps}
	}
	return nil
}

type node interface {
	eval(e *evaluator, data any) (any, error)
}

type literal struct{ v any }

func (n literal) eval(*evaluator, any) (any, error) { return n.v, nil }

type arrayNode struct{ items []node }

func (n arrayNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1 + len(n.items)); err != nil {
		return nil, err
	}
	out := make([]any, len(n.items))
	for i, it := range n.items {
		v, err := it.eval(e, data)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// varNode drills into the data context. A fragment of digits indexes an
// array; on an object every fragment is a key. Anything that cannot be
// drilled into (null, a missing key or index, a string) gives null.
type varNode struct {
	path  []string
	index []int // the fragment as an array index, or -1
}

func (n *varNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	cur := data
	for i, f := range n.path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[f]
		case []any:
			if k := n.index[i]; k >= 0 && k < len(c) {
				cur = c[k]
			} else {
				return nil, nil
			}
		default:
			return nil, nil
		}
	}
	return cur, nil
}

type ifNode struct{ guard, then, els node }

func (n *ifNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	g, err := n.guard.eval(e, data)
	if err != nil {
		return nil, err
	}
	switch truth(g) {
	case truthy:
		return n.then.eval(e, data)
	case falsy:
		return n.els.eval(e, data)
	}
	return nil, evalErrorf("if", "the guard is %s, neither truthy nor falsy", describe(g))
}

type andNode struct{ ops []node }

// eval returns the first falsy operand or else the last one, evaluating
// lazily; an operand before the last that is neither truthy nor falsy is
// an error (the last one is returned as it is, as the reference
// implementation does).
func (n *andNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	last := len(n.ops) - 1
	for _, op := range n.ops[:last] {
		v, err := op.eval(e, data)
		if err != nil {
			return nil, err
		}
		switch truth(v) {
		case falsy:
			return v, nil
		case neither:
			return nil, evalErrorf("and", "an operand is %s, neither truthy nor falsy", describe(v))
		}
	}
	return n.ops[last].eval(e, data)
}

type notNode struct{ op node }

func (n *notNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	v, err := n.op.eval(e, data)
	if err != nil {
		return nil, err
	}
	switch truth(v) {
	case falsy:
		return true, nil
	case truthy:
		return false, nil
	}
	return nil, evalErrorf("!", "the operand is %s, neither truthy nor falsy", describe(v))
}

// eval2 evaluates two operands after counting a step.
func eval2(e *evaluator, data any, a, b node) (any, any, error) {
	if err := e.step(1); err != nil {
		return nil, nil, err
	}
	l, err := a.eval(e, data)
	if err != nil {
		return nil, nil, err
	}
	r, err := b.eval(e, data)
	if err != nil {
		return nil, nil, err
	}
	return l, r, nil
}

type eqNode struct{ l, r node }

func (n *eqNode) eval(e *evaluator, data any) (any, error) {
	l, r, err := eval2(e, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	return strictEqual(l, r), nil
}

type inNode struct{ l, r node }

func (n *inNode) eval(e *evaluator, data any) (any, error) {
	l, r, err := eval2(e, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	arr, ok := r.([]any)
	if !ok {
		return nil, evalErrorf("in", "the right-hand side is %s, not an array", describe(r))
	}
	if err := e.step(len(arr)); err != nil {
		return nil, err
	}
	for _, item := range arr {
		if strictEqual(l, item) {
			return true, nil
		}
	}
	return false, nil
}

type plusNode struct{ l, r node }

func (n *plusNode) eval(e *evaluator, data any) (any, error) {
	l, r, err := eval2(e, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	a, ok1 := asInt(l)
	b, ok2 := asInt(r)
	if !ok1 || !ok2 {
		return nil, evalErrorf("+", "operands must both be integers, not %s and %s", describe(l), describe(r))
	}
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) || s > maxSafeInt || s < -maxSafeInt {
		return nil, evalErrorf("+", "sum out of range")
	}
	return s, nil
}

// compareNode is an integer comparison (<, >, <=, >=) or a date-time one
// (before, after, not-after, not-before), binary or ternary: a op b op c
// means (a op b) and (b op c).
type compareNode struct {
	op    string
	cmp   func(int) bool
	ops   []node
	dates bool
}

func (n *compareNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	var vals [3]any
	for i, op := range n.ops {
		v, err := op.eval(e, data)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if n.dates {
		var ts [3]time.Time
		for i := range n.ops {
			d, ok := vals[i].(DateTime)
			if !ok {
				return nil, evalErrorf(n.op, "operand #%d is %s: every operand must be a date-time (made by plusTime or dccDateOfBirth)", i+1, describe(vals[i]))
			}
			ts[i] = d.t
		}
		for i := 0; i+1 < len(n.ops); i++ {
			if !n.cmp(ts[i].Compare(ts[i+1])) {
				return false, nil
			}
		}
		return true, nil
	}
	var is [3]int64
	for i := range n.ops {
		v, ok := asInt(vals[i])
		if !ok {
			return nil, evalErrorf(n.op, "operand #%d is %s: every operand must be an integer", i+1, describe(vals[i]))
		}
		is[i] = v
	}
	for i := 0; i+1 < len(n.ops); i++ {
		c := 0
		switch {
		case is[i] < is[i+1]:
			c = -1
		case is[i] > is[i+1]:
			c = 1
		}
		if !n.cmp(c) {
			return false, nil
		}
	}
	return true, nil
}

type plusTimeNode struct {
	date   node
	amount int64
	unit   timeUnit
	// A literal date is parsed and offset once, at compile time.
	cached bool
	value  any
	err    error
}

func (n *plusTimeNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	if n.cached {
		return n.value, n.err
	}
	v, err := n.date.eval(e, data)
	if err != nil {
		return nil, err
	}
	return n.apply(v)
}

func (n *plusTimeNode) apply(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, evalErrorf("plusTime", "the date is %s, not a string", describe(v))
	}
	t, err := parseDateTime(s)
	if err != nil {
		return nil, &EvalError{Op: "plusTime", Msg: err.Error()}
	}
	return DateTime{plusTime(t, n.amount, n.unit)}, nil
}

type dobNode struct{ op node }

func (n *dobNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	v, err := n.op.eval(e, data)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, evalErrorf("dccDateOfBirth", "the date of birth is %s, not a string", describe(v))
	}
	t, err := parseDateOfBirth(s)
	if err != nil {
		return nil, &EvalError{Op: "dccDateOfBirth", Msg: err.Error()}
	}
	return DateTime{t}, nil
}

// reduceNode folds an array from the left: the lambda sees
// {"accumulator", "current", "data"}, data being the outer context (the
// specification's "patched" reduce). A null operand folds to the initial
// value.
type reduceNode struct{ operand, lambda, initial node }

func (n *reduceNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	v, err := n.operand.eval(e, data)
	if err != nil {
		return nil, err
	}
	acc, err := n.initial.eval(e, data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return acc, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, evalErrorf("reduce", "the operand is %s, neither an array nor null", describe(v))
	}
	if len(arr) > e.lim.MaxReduceItems {
		return nil, &LimitError{Limit: "MaxReduceItems", Max: e.lim.MaxReduceItems}
	}
	for _, cur := range arr {
		if err := e.step(1); err != nil {
			return nil, err
		}
		ctx := map[string]any{"accumulator": acc, "current": cur, "data": data}
		if acc, err = n.lambda.eval(e, ctx); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// uvciNode extracts a fragment of a unique certificate identifier: the
// string, without an optional "URN:UVCI:" prefix, split on "/", "#" and
// ":"; null for null or for an index beyond the fragments.
type uvciNode struct {
	op    node
	index int64
}

func (n *uvciNode) eval(e *evaluator, data any) (any, error) {
	if err := e.step(1); err != nil {
		return nil, err
	}
	v, err := n.op.eval(e, data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, evalErrorf("extractFromUVCI", "the identifier is %s, neither a string nor null", describe(v))
	}
	if n.index < 0 || n.index > math.MaxInt32 {
		return nil, nil
	}
	s = strings.TrimPrefix(s, "URN:UVCI:")
	i := int(n.index)
	for {
		end := strings.IndexAny(s, "/#:")
		if i == 0 {
			if end < 0 {
				return s, nil
			}
			return s[:end], nil
		}
		if end < 0 {
			return nil, nil
		}
		s = s[end+1:]
		i--
	}
}
