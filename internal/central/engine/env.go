package engine

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/functions"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// The variables rules see are these Go structs, exposed to CEL as native
// object types with declared fields, so that a misspelt field is an error
// when the rule set is compiled, not when it runs. docs/rules/README.md
// lists them.

// factVar is a fact as rules see it (f, and each element of facts).
type factVar struct {
	Kind    string    `cel:"kind"`
	At      time.Time `cel:"at"`
	Area    string    `cel:"area"`
	Site    string    `cel:"site"`
	Value   string    `cel:"value"`
	Celsius float64   `cel:"celsius"` // a fever's reading, 0 otherwise
	Until   time.Time `cel:"until"`   // the zero time (1970) when open
	Source  string    `cel:"source"`
	// Risk is the risk level of the fact's area at the fact's time, as
	// the grades stand when the rules run: low, medium or high.
	Risk string `cel:"risk"`
	// InForce is false for a whitelist membership or a manual status
	// whose until has passed.
	InForce bool `cel:"in_force"`
}

// holderVar is the holder being judged.
type holderVar struct {
	ID     string `cel:"id"`
	Home   string `cel:"home"`   // the home area, "" when unknown
	Region string `cel:"region"` // the region of the rule set judging
}

// Limits on what a rule set may ask of the centre.
const (
	// MaxExpr is the longest expression, in code points.
	MaxExpr = 4096
	// maxRecursion bounds the parser's nesting.
	maxRecursion = 64
	// ExprCostLimit bounds one evaluation of one expression, in CEL's
	// cost units (a comparison costs about 1).
	ExprCostLimit = 100_000
	// HolderCostLimit bounds the work of judging one holder: every
	// expression evaluated for every fact, together. A holder whose
	// judgement costs more is not judged (*EvalError) and keeps the
	// status they have.
	HolderCostLimit = 5_000_000
	// MaxFacts is the most facts of one holder the rules see: the newest.
	MaxFacts = 4096
)

// Late-bound functions: their implementation comes with each evaluation
// (it reads the areas and the cases of the World being judged against).
var functionDecls = []cel.EnvOption{
	cel.Function("within",
		cel.Overload("within_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType, cel.LateFunctionBinding())),
	cel.Function("risk",
		cel.Overload("risk_string", []*cel.Type{cel.StringType}, cel.StringType, cel.LateFunctionBinding()),
		cel.Overload("risk_string_timestamp", []*cel.Type{cel.StringType, cel.TimestampType}, cel.StringType, cel.LateFunctionBinding())),
	cel.Function("area_kind",
		cel.Overload("area_kind_string", []*cel.Type{cel.StringType}, cel.StringType, cel.LateFunctionBinding())),
	cel.Function("cases_in",
		cel.Overload("cases_in_string_timestamp", []*cel.Type{cel.StringType, cel.TimestampType}, cel.IntType, cel.LateFunctionBinding())),
	cel.Function("last_case_in",
		cel.Overload("last_case_in_string", []*cel.Type{cel.StringType}, cel.TimestampType, cel.LateFunctionBinding())),
	cel.Function("latest",
		cel.Overload("latest_string", []*cel.Type{cel.StringType}, cel.TimestampType, cel.LateFunctionBinding())),
	cel.Function("facts_of",
		cel.Overload("facts_of_string", []*cel.Type{cel.StringType}, cel.ListType(cel.ObjectType("engine.factVar")), cel.LateFunctionBinding())),
}

// newEnvs returns the environment of when clauses (facts, holder, now and
// the functions) and the one of match and from clauses (the same and f,
// the fact being matched).
func newEnvs() (holderEnv, factEnv *cel.Env, err error) {
	opts := []cel.EnvOption{
		nativeTypes(),
		ext.Strings(),
		cel.ParserExpressionSizeLimit(MaxExpr),
		cel.ParserRecursionLimit(maxRecursion),
		cel.CrossTypeNumericComparisons(true),
		cel.Variable("facts", cel.ListType(cel.ObjectType("engine.factVar"))),
		cel.Variable("holder", cel.ObjectType("engine.holderVar")),
		cel.Variable("now", cel.TimestampType),
	}
	opts = append(opts, functionDecls...)
	holderEnv, err = cel.NewEnv(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("rules environment: %w", err)
	}
	factEnv, err = holderEnv.Extend(cel.Variable("f", cel.ObjectType("engine.factVar")))
	if err != nil {
		return nil, nil, fmt.Errorf("rules environment: %w", err)
	}
	return holderEnv, factEnv, nil
}

// nativeTypes registers the view structs as native CEL object types.
func nativeTypes() cel.EnvOption {
	return func(env *cel.Env) (*cel.Env, error) {
		p, a, err := types.ComposeTypes(env.CELTypeProvider(), env.CELTypeAdapter(),
			types.ParseStructTags(true),
			reflect.TypeOf(factVar{}), reflect.TypeOf(holderVar{}))
		if err != nil {
			return nil, err
		}
		env, err = cel.CustomTypeAdapter(a)(env)
		if err != nil {
			return nil, err
		}
		return cel.CustomTypeProvider(p)(env)
	}
}

// activation holds one holder's variables and the functions bound to the
// world, shared by every evaluation for that holder; f changes per fact.
type activation struct {
	facts  ref.Val
	holder ref.Val
	now    ref.Val
	f      ref.Val
	w      *World
	t      time.Time // now

	// The holder's facts by kind, for latest and facts_of: all are the
	// facts, views their values, byKind the indexes of each kind's facts in
	// views, oldest first; lists caches facts_of's lists.
	ad     types.Adapter
	all    []Fact
	views  []ref.Val
	byKind map[Kind][]int
	lists  map[Kind]ref.Val
}

var _ interpreter.FunctionActivation = (*activation)(nil)

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "facts":
		return a.facts, true
	case "holder":
		return a.holder, true
	case "now":
		return a.now, true
	case "f":
		if a.f != nil {
			return a.f, true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveFunction implements interpreter.FunctionActivation.
func (a *activation) ResolveFunction(name string) (functions.LateBoundOp, bool) {
	switch name {
	case "within":
		return a.within, true
	case "risk":
		return a.risk, true
	case "area_kind":
		return a.areaKind, true
	case "cases_in":
		return a.casesIn, true
	case "last_case_in":
		return a.lastCaseIn, true
	case "latest":
		return a.latest, true
	case "facts_of":
		return a.factsOf, true
	}
	return nil, false
}

// within(area, ancestor): area lies in ancestor (or is it).
func (a *activation) within(_ string, args ...ref.Val) ref.Val {
	area, ok1 := args[0].(types.String)
	anc, ok2 := args[1].(types.String)
	if !ok1 || !ok2 {
		return types.NewErr("within takes two area ids")
	}
	return types.Bool(a.w.areas().Within(string(area), string(anc)))
}

// risk(area) and risk(area, at): the area's risk level now, or at at.
func (a *activation) risk(_ string, args ...ref.Val) ref.Val {
	area, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("risk takes an area id")
	}
	at := a.t
	if len(args) == 2 {
		ts, ok := args[1].(types.Timestamp)
		if !ok {
			return types.NewErr("risk takes an area id and a time")
		}
		at = ts.Time
	}
	return types.String(a.w.areas().Level(string(area), at))
}

// area_kind(area): province, city, district or compound; "" when unknown.
func (a *activation) areaKind(_ string, args ...ref.Val) ref.Val {
	area, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("area_kind takes an area id")
	}
	ar, _ := a.w.areas().Area(string(area))
	return types.String(ar.Kind)
}

// cases_in(area, since): confirmed cases living in area confirmed from
// since until now.
func (a *activation) casesIn(_ string, args ...ref.Val) ref.Val {
	area, ok1 := args[0].(types.String)
	since, ok2 := args[1].(types.Timestamp)
	if !ok1 || !ok2 {
		return types.NewErr("cases_in takes an area id and a time")
	}
	return types.Int(a.w.Cases.Count(string(area), since.Time, a.t))
}

// last_case_in(area): when the latest confirmed case living in area was
// confirmed, up to now; timestamp(0) when none.
func (a *activation) lastCaseIn(_ string, args ...ref.Val) ref.Val {
	area, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("last_case_in takes an area id")
	}
	t, ok := a.w.Cases.Last(string(area), a.t)
	if !ok {
		t = time.Unix(0, 0).UTC()
	}
	return types.Timestamp{Time: t}
}

// latest(kind): when the holder's latest fact of kind happened (at or
// before now); timestamp(0) when the holder has none. Facts are sorted
// oldest first, so it is the last of the kind's facts: no rule needs to
// search every fact for each fact it matches.
func (a *activation) latest(_ string, args ...ref.Val) ref.Val {
	kind, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("latest takes a kind of fact")
	}
	idx := a.byKind[Kind(kind)]
	if len(idx) == 0 {
		return types.Timestamp{Time: time.Unix(0, 0).UTC()}
	}
	return types.Timestamp{Time: a.all[idx[len(idx)-1]].At}
}

// facts_of(kind): the holder's facts of kind, oldest first: what
// facts.filter(t, t.kind == kind) gives, without looking at the others.
func (a *activation) factsOf(_ string, args ...ref.Val) ref.Val {
	kind, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("facts_of takes a kind of fact")
	}
	if l, ok := a.lists[Kind(kind)]; ok {
		return l
	}
	idx := a.byKind[Kind(kind)]
	vals := make([]ref.Val, len(idx))
	for i, j := range idx {
		vals[i] = a.views[j]
	}
	if a.lists == nil {
		a.lists = map[Kind]ref.Val{}
	}
	l := types.NewRefValList(a.ad, vals)
	a.lists[Kind(kind)] = l
	return l
}
