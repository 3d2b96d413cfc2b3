package policy

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"

	"sentinel/internal/celpos"
	"sentinel/internal/passage"
)

// rule is a compiled rule.
type rule struct {
	name    string
	when    cel.Program
	verdict passage.Verdict // static, or "" when verdX decides
	verdX   cel.Program     // string: admit, deny or refer
	reasons []string        // static, or nil when reasX gives them
	reasX   cel.Program     // list(string)
	colour  int             // -1 for the decision's own colour, else a credential.Colour
}

// maxErrors bounds how many errors a failed compilation reports.
const maxErrors = 10

// compiled is a compiled policy.
type compiled struct {
	rules []rule
	def   rule
	// chain evaluates every rule's when in order in one program and gives
	// the index of the first that holds, or -1: one evaluation (and one
	// cost tracker) per passage instead of one per rule.
	chain cel.Program
}

// compileSource parses and compiles a policy's rules against env.
func compileSource(env *cel.Env, src string) (*compiled, error) {
	srcs, def, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	var errs []error
	rules := make([]rule, 0, len(srcs))
	for _, s := range srcs {
		r := rule{name: s.name, verdict: s.verdict, reasons: s.reasons, colour: -1}
		if s.hasCol {
			r.colour = int(s.colour)
		}
		var e []error
		r.when, e = compileExpr(env, s, "when", s.when, cel.BoolType)
		errs = append(errs, e...)
		if s.verdX != nil {
			r.verdX, e = compileExpr(env, s, "verdict", s.verdX, cel.StringType)
			errs = append(errs, e...)
		}
		if s.reasX != nil {
			r.reasX, e = compileExpr(env, s, "reasons", s.reasX, cel.ListType(cel.StringType))
			errs = append(errs, e...)
		}
		if len(errs) >= maxErrors {
			break
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			errs = errs[:maxErrors]
		}
		return nil, errors.Join(errs...)
	}
	chain, err := compileChain(env, srcs)
	if err != nil {
		return nil, err
	}
	return &compiled{
		rules: rules, chain: chain,
		def: rule{name: def.name, verdict: def.verdict, reasons: def.reasons, colour: -1},
	}, nil
}

// compileChain compiles "(w0) ? 0 : (w1) ? 1 : … : -1" from rules whose
// when expressions each compiled. The newline before each ')' ends any
// '//' comment inside an expression.
func compileChain(env *cel.Env, srcs []*ruleSrc) (cel.Program, error) {
	var b strings.Builder
	for i, r := range srcs {
		fmt.Fprintf(&b, "(%s\n) ? %d : ", r.when.text, i)
	}
	b.WriteString("-1")
	chainEnv, err := env.Extend(
		cel.ParserExpressionSizeLimit(MaxSource+16*MaxRules),
		cel.ParserRecursionLimit(maxRecursion+2*MaxRules))
	if err != nil {
		return nil, fmt.Errorf("policy environment: %w", err)
	}
	ast, iss := chainEnv.Compile(b.String())
	if iss.Err() != nil {
		return nil, &Error{Line: 1, Msg: "the rules together: " + words(iss.Err().Error())}
	}
	prg, err := chainEnv.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &Error{Line: 1, Msg: "the rules together: " + err.Error()}
	}
	return prg, nil
}

// compileExpr compiles one expression of rule r, checks its type and turns
// CEL's errors into *Error values located in the policy source.
func compileExpr(env *cel.Env, r *ruleSrc, clause string, x *exprSrc, want *cel.Type) (cel.Program, []error) {
	ast, iss := env.CompileSource(common.NewStringSource(x.text, r.name))
	if iss.Err() != nil {
		var errs []error
		for _, ce := range iss.Errors() {
			errs = append(errs, locate(r, clause, x, ce.Location, ce.Message))
			if len(errs) == maxErrors {
				break
			}
		}
		return nil, errs
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, []error{&Error{Line: x.line, Column: x.col, Rule: r.name, Clause: clause,
			Msg: fmt.Sprintf("the expression gives %s, want %s", typeWords(ast.OutputType()), typeWords(want))}}
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, []error{&Error{Line: x.line, Column: x.col, Rule: r.name, Clause: clause, Msg: err.Error()}}
	}
	return prg, nil
}

// locate maps a location inside an expression to the policy source.
func locate(r *ruleSrc, clause string, x *exprSrc, loc common.Location, msg string) *Error {
	e := &Error{Line: x.line, Column: x.col, Rule: r.name, Clause: clause, Msg: words(msg)}
	e.Line, e.Column = celpos.Map(x.line, x.col, loc)
	return e
}

// words rewrites CEL's messages where they name our Go types or speak
// parser.
func words(msg string) string {
	if strings.HasPrefix(msg, "Syntax error: mismatched input '<EOF>'") {
		return "syntax error: the expression ends too early (an operator or a bracket is missing its other half)"
	}
	r := strings.NewReplacer(
		"policy.credentialVar", "credential", "policy.factsVar", "credential.facts",
		"policy.statusVar", "status", "policy.temperatureVar", "temperature",
		"policy.clockVar", "clock", "policy.bundlesVar", "bundles",
		"policy.siteVar", "site", "policy.settingsVar", "settings",
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
	case t.IsExactType(cel.ListType(cel.StringType)):
		return "a list of strings"
	}
	return words(t.String())
}
