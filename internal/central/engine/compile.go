package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"

	"sentinel/internal/celpos"
	"sentinel/internal/status"
)

// RuleSet is a compiled rule set, ready to judge holders. It is safe for
// concurrent use.
type RuleSet struct {
	src   *Source
	rules []rule
	env   *cel.Env // the holder env, for its type adapter
}

// rule is a compiled rule.
type rule struct {
	RuleSource
	match cel.Program
	when  cel.Program // nil when the rule has none
	from  cel.Program // nil: f.at
	per   time.Duration
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
		c.match, e = compileExpr(factEnv, s.File, &r, "match", &r.Match, cel.BoolType)
		errs = append(errs, e...)
		if r.When != nil {
			c.when, e = compileExpr(holderEnv, s.File, &r, "when", r.When, cel.BoolType)
			errs = append(errs, e...)
		}
		if r.From != nil {
			c.from, e = compileExpr(factEnv, s.File, &r, "from", r.From, cel.TimestampType)
			errs = append(errs, e...)
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
func compileExpr(env *cel.Env, file string, r *RuleSource, clause string, x *Expr, want *cel.Type) (cel.Program, []error) {
	ast, iss := env.CompileSource(common.NewStringSource(x.Text, r.Name))
	if iss.Err() != nil {
		var errs []error
		for _, ce := range iss.Errors() {
			errs = append(errs, locate(file, r, clause, x, ce.Location, ce.Message))
			if len(errs) == maxErrors {
				break
			}
		}
		return nil, errs
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, []error{&Error{File: file, Line: x.Line, Column: x.Col, Rule: r.Name, Clause: clause,
			Msg: fmt.Sprintf("the expression gives %s, want %s", typeWords(ast.OutputType()), typeWords(want))}}
	}
	prg, err := env.Program(ast, cel.CostLimit(ExprCostLimit))
	if err != nil {
		return nil, []error{&Error{File: file, Line: x.Line, Column: x.Col, Rule: r.Name, Clause: clause, Msg: err.Error()}}
	}
	return prg, nil
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
