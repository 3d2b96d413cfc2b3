package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"sentinel/internal/celpos"
	"sentinel/internal/status"
)

// RuleSet is a compiled rule set, ready to judge holders. It is safe for
// concurrent use.
type RuleSet struct {
	src   *Source
	rules []rule
	env   *cel.Env // the holder env, for its type adapter
	// cases is true when an expression calls cases_in or last_case_in.
	cases bool
}

// UsesCases reports whether the rule set's rules read the confirmed cases
// of every holder (cases_in, last_case_in), so that judging one holder
// needs every holder's confirmations.
func (rs *RuleSet) UsesCases() bool { return rs.cases }

// rule is a compiled rule.
type rule struct {
	RuleSource
	match cel.Program
	// kind is the kind of fact match can be true for when match is
	// f.kind == "KIND" && ...: only facts of that kind are tried. ""
	// when match has no such guard (every fact is tried).
	kind Kind
	when cel.Program // nil when the rule has none
	from cel.Program // nil: f.at
	per  time.Duration
}

// maxErrors bounds how many errors a failed compilation reports.
const maxErrors = 10

// Compile parses and compiles a rule set's source: Parse, then every
// expression against the engine's environment with its type checked. A
// rule set that does not compile gives *Error values located in the
// source (several are joined with errors.Join).
func Compile(file string, src []byte) (*RuleSet, error) {
	s, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	return CompileSource(s)
}

// CompileSource compiles a parsed rule set.
func CompileSource(s *Source) (*RuleSet, error) {
	holderEnv, factEnv, err := newEnvs()
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{src: s, env: holderEnv}
	var errs []error
	for _, r := range s.Rules {
		c := rule{RuleSource: r, per: r.For}
		if c.per == 0 {
			c.per = s.period(r.Status)
		}
		var e []error
		var ast *cel.Ast
		ast, c.match, e = compileExpr(factEnv, s.File, &r, "match", &r.Match, cel.BoolType)
		errs = append(errs, e...)
		if ast != nil {
			c.kind = kindGuard(ast.NativeRep().Expr())
			rs.cases = rs.cases || callsCases(ast)
		}
		if r.When != nil {
			ast, c.when, e = compileExpr(holderEnv, s.File, &r, "when", r.When, cel.BoolType)
			errs = append(errs, e...)
			rs.cases = rs.cases || ast != nil && callsCases(ast)
		}
		if r.From != nil {
			ast, c.from, e = compileExpr(factEnv, s.File, &r, "from", r.From, cel.TimestampType)
			errs = append(errs, e...)
			rs.cases = rs.cases || ast != nil && callsCases(ast)
		}
		if len(errs) >= maxErrors {
			break
		}
		rs.rules = append(rs.rules, c)
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			errs = errs[:maxErrors]
		}
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// period is the rule set's default period for a status: its yellow and
// red periods, open for green and withheld.
func (s *Source) period(st status.Status) time.Duration {
	switch st {
	case status.Yellow:
		return s.Yellow
	case status.Red:
		return s.Red
	}
	return Open
}

// Region returns the region the rule set is for.
func (rs *RuleSet) Region() string { return rs.src.Region }

// Version returns the rule set's version label.
func (rs *RuleSet) Version() string { return rs.src.Version }

// Contacts returns the rule set's contact parameters.
func (rs *RuleSet) Contacts() ContactParams { return rs.src.Contacts }

// Source returns the parsed source the rule set was compiled from.
func (rs *RuleSet) Source() *Source { return rs.src }

// compileExpr compiles one expression of rule r, checks its type and turns
// CEL's errors into *Error values located in the rule set's source.
func compileExpr(env *cel.Env, file string, r *RuleSource, clause string, x *Expr, want *cel.Type) (*cel.Ast, cel.Program, []error) {
	ast, iss := env.CompileSource(common.NewStringSource(x.Text, r.Name))
	if iss.Err() != nil {
		var errs []error
		for _, ce := range iss.Errors() {
			errs = append(errs, locate(file, r, clause, x, ce.Location, ce.Message))
			if len(errs) == maxErrors {
				break
			}
		}
		return nil, nil, errs
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, nil, []error{&Error{File: file, Line: x.Line, Column: x.Col, Rule: r.Name, Clause: clause,
			Msg: fmt.Sprintf("the expression gives %s, want %s", typeWords(ast.OutputType()), typeWords(want))}}
	}
	prg, err := env.Program(ast, cel.CostLimit(ExprCostLimit))
	if err != nil {
		return nil, nil, []error{&Error{File: file, Line: x.Line, Column: x.Col, Rule: r.Name, Clause: clause, Msg: err.Error()}}
	}
	return ast, prg, nil
}

// callsCases reports whether a checked expression calls cases_in or
// last_case_in: it then reads the confirmed cases of every holder.
func callsCases(ast *cel.Ast) bool {
	for _, ref := range ast.NativeRep().ReferenceMap() {
		for _, o := range ref.OverloadIDs {
			if strings.HasPrefix(o, "cases_in_") || strings.HasPrefix(o, "last_case_in_") {
				return true
			}
		}
	}
	return false
}

// kindGuard returns the kind K when a match expression is f.kind == "K"
// (or "K" == f.kind), alone or as one operand of a chain of &&: then the
// expression is false for every fact of another kind, whatever its other
// operands give (CEL's && is false when either side is false, even when
// the other is an error), so only the facts of kind K need trying. It
// returns "" otherwise.
func kindGuard(e celast.Expr) Kind {
	if e.Kind() != celast.CallKind {
		return ""
	}
	call := e.AsCall()
	args := call.Args()
	switch {
	case call.FunctionName() == operators.LogicalAnd:
		for _, a := range args {
			if k := kindGuard(a); k != "" {
				return k
			}
		}
	case call.FunctionName() == operators.Equals && len(args) == 2:
		if k, ok := kindLiteral(args[0], args[1]); ok {
			return k
		}
		if k, ok := kindLiteral(args[1], args[0]); ok {
			return k
		}
	}
	return ""
}

// kindLiteral reports whether sel is f.kind and lit a string literal that
// names a kind of fact.
func kindLiteral(sel, lit celast.Expr) (Kind, bool) {
	if sel.Kind() != celast.SelectKind || lit.Kind() != celast.LiteralKind {
		return "", false
	}
	s := sel.AsSelect()
	if s.IsTestOnly() || s.FieldName() != "kind" || s.Operand().Kind() != celast.IdentKind || s.Operand().AsIdent() != "f" {
		return "", false
	}
	v, ok := lit.AsLiteral().(types.String)
	if !ok || !Kind(v).Valid() {
		return "", false
	}
	return Kind(v), true
}

// locate maps a location inside an expression to the rule set's source.
func locate(file string, r *RuleSource, clause string, x *Expr, loc common.Location, msg string) *Error {
	e := &Error{File: file, Line: x.Line, Column: x.Col, Rule: r.Name, Clause: clause, Msg: words(msg)}
	e.Line, e.Column = celpos.Map(x.Line, x.Col, loc)
	return e
}

// words rewrites CEL's messages where they name our Go types or speak
// parser.
func words(msg string) string {
	if strings.HasPrefix(msg, "Syntax error: mismatched input '<EOF>'") {
		return "syntax error: the expression ends too early (an operator or a bracket is missing its other half)"
	}
	r := strings.NewReplacer(
		"engine.factVar", "fact", "engine.holderVar", "holder",
		"Syntax error: ", "syntax error: ")
	return r.Replace(msg)
}

// typeWords names a CEL type for ops.
func typeWords(t *cel.Type) string {
	switch {
	case t.IsExactType(cel.BoolType):
		return "true or false"
	case t.IsExactType(cel.StringType):
		return "a string"
	case t.IsExactType(cel.TimestampType):
		return "a time"
	case t.IsExactType(cel.IntType):
		return "a number"
	}
	return words(t.String())
}
