package policy

import (
	"fmt"
	"strings"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

// Limits on a policy's source.
const (
	// MaxSource is the largest rules source, in bytes.
	MaxSource = 64 << 10
	// MaxRules is the most rules a policy may have.
	MaxRules = 256
	// maxName bounds rule names and reason codes.
	maxName = 64
	// maxReasons bounds a rule's static reason codes.
	maxReasons = 16
)

// Error is a policy that cannot run, located in its source so that ops can
// find it: "policy line 12, column 18, rule fever (when): undeclared
// reference to 'temprature'". Line and Column count from 1; Column is 0
// when the message is about the whole line.
type Error struct {
	Line   int
	Column int
	Rule   string // the rule's name, "" outside a rule
	Clause string // when, verdict or reasons for an expression
	Msg    string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy line ")
	fmt.Fprint(&b, e.Line)
	if e.Column > 0 {
		fmt.Fprintf(&b, ", column %d", e.Column)
	}
	if e.Rule != "" {
		b.WriteString(", rule " + e.Rule)
	}
	if e.Clause != "" {
		b.WriteString(" (" + e.Clause + ")")
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// exprSrc is a CEL expression and where it starts in the policy source.
type exprSrc struct {
	text string
	line int // 1-based line of the expression's first character
	col  int // 1-based column of the first character on that line
}

// ruleSrc is a parsed rule, before compilation.
type ruleSrc struct {
	name    string
	line    int
	when    *exprSrc
	verdict passage.Verdict // static verdict, or "" when verdictX is set
	verdX   *exprSrc        // verdict expression (string)
	reasons []string        // static reason codes
	reasX   *exprSrc        // reasons expression (list(string))
	colour  credential.Colour
	hasCol  bool
}

// keywords start the lines of a policy.
func isKeyword(w string) bool {
	switch w {
	case "rule", "when", "admit", "deny", "refer", "verdict", "reasons", "colour", "default":
		return true
	}
	return false
}

// parseSource splits a policy's source into rules and the final default.
//
// The grammar, one clause a line ('#' starts a comment line):
//
//	rule NAME
//	  when EXPR                  a CEL bool; may continue on further lines
//	                             indented deeper than its first
//	  admit|deny|refer [CODE...] the verdict and its reason codes, or
//	  verdict EXPR               a CEL string: "admit", "deny" or "refer"
//	  reasons EXPR               a CEL list(string) of reason codes
//	  colour green|yellow|red|none   what the display shows (optional)
//	default admit|deny|refer [CODE...]
func parseSource(src string) ([]*ruleSrc, *ruleSrc, error) {
	if len(src) > MaxSource {
		return nil, nil, &Error{Line: 1, Msg: fmt.Sprintf("the policy is %d bytes, at most %d", len(src), MaxSource)}
	}
	var (
		rules      []*ruleSrc
		cur        *ruleSrc // the rule being read
		def        *ruleSrc
		last       *exprSrc // the expression a continuation line extends
		lastIndent int      // the indentation of last's first line
		names      = map[string]bool{}
	)
	lines := strings.Split(src, "\n")
	for i, raw := range lines {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		body := strings.TrimLeft(raw, " \t")
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		indent := len(raw) - len(body)
		word, rest, _ := strings.Cut(body, " ")
		if w, r, ok := strings.Cut(body, "\t"); ok && len(w) < len(word) {
			word, rest = w, r
		}
		restCol := indent + len(word) + 2 // 1-based column where rest starts
		if trimmed := strings.TrimLeft(rest, " \t"); trimmed != rest {
			restCol += len(rest) - len(trimmed)
			rest = trimmed
		}
		rest = strings.TrimRight(rest, " \t")
		fail := func(col int, format string, args ...any) error {
			e := &Error{Line: n, Column: col, Msg: fmt.Sprintf(format, args...)}
			if cur != nil {
				e.Rule = cur.name
			}
			return e
		}
		// A line indented deeper than the start of an expression continues
		// it (so "colour == ..." may continue a when).
		if last != nil && indent > lastIndent {
			last.text += "\n" + raw
			continue
		}
		last = nil
		if !isKeyword(word) {
			return nil, nil, fail(indent+1, "%q is not one of rule, when, admit, deny, refer, verdict, reasons, colour, default (indent an expression's further lines deeper than its first)", word)
		}
		if def != nil {
			return nil, nil, fail(indent+1, "nothing may follow the default (line %d)", def.line)
		}
		needRule := func() error {
			if cur == nil {
				return fail(indent+1, "%q belongs inside a rule: start one with \"rule NAME\"", word)
			}
			return nil
		}
		switch word {
		case "rule":
			if err := finishRule(cur); err != nil {
				return nil, nil, err
			}
			if !validName(rest) || rest == "default" {
				cur = nil
				return nil, nil, fail(restCol, "rule name %q: use lowercase letters, digits, '-' or '_' (at most %d)", rest, maxName)
			}
			if names[rest] {
				return nil, nil, fail(restCol, "rule %q is defined twice", rest)
			}
			if len(rules) == MaxRules {
				return nil, nil, fail(indent+1, "more than %d rules", MaxRules)
			}
			names[rest] = true
			cur = &ruleSrc{name: rest, line: n}
			rules = append(rules, cur)
		case "when", "verdict", "reasons":
			if err := needRule(); err != nil {
				return nil, nil, err
			}
			if rest == "" {
				return nil, nil, fail(indent+1, "%s needs an expression", word)
			}
			x := &exprSrc{text: rest, line: n, col: restCol}
			var dup bool
			switch word {
			case "when":
				dup, cur.when = cur.when != nil, x
			case "verdict":
				dup, cur.verdX = cur.verdX != nil || cur.verdict != "", x
			case "reasons":
				dup, cur.reasX = cur.reasX != nil || len(cur.reasons) > 0, x
			}
			if dup {
				return nil, nil, fail(indent+1, "the rule already has a %s", word)
			}
			last, lastIndent = x, indent
		case "admit", "deny", "refer":
			codes, err := parseCodes(rest)
			if err != nil {
				return nil, nil, fail(restCol, "%v", err)
			}
			if cur == nil {
				return nil, nil, fail(indent+1, "%q belongs inside a rule, or write \"default %s\" for the final default", word, word)
			}
			if cur.verdict != "" || cur.verdX != nil {
				return nil, nil, fail(indent+1, "the rule already has a verdict")
			}
			if len(codes) > 0 && cur.reasX != nil {
				return nil, nil, fail(restCol, "give reasons after the verdict or in a reasons line, not both")
			}
			cur.verdict, cur.reasons = passage.Verdict(word), codes
		case "colour":
			if err := needRule(); err != nil {
				return nil, nil, err
			}
			c, ok := map[string]credential.Colour{"green": credential.ColourGreen, "yellow": credential.ColourYellow, "red": credential.ColourRed, "none": credential.ColourNone}[rest]
			if !ok {
				return nil, nil, fail(restCol, "colour %q: want green, yellow, red or none", rest)
			}
			if cur.hasCol {
				return nil, nil, fail(indent+1, "the rule already has a colour")
			}
			cur.colour, cur.hasCol = c, true
		case "default":
			if err := finishRule(cur); err != nil {
				return nil, nil, err
			}
			cur = nil
			v, codes, _ := strings.Cut(rest, " ")
			if !passage.Verdict(v).Valid() {
				return nil, nil, fail(restCol, "default %q: want admit, deny or refer, then reason codes", v)
			}
			cs, err := parseCodes(codes)
			if err != nil {
				return nil, nil, fail(restCol, "%v", err)
			}
			def = &ruleSrc{name: "default", line: n, verdict: passage.Verdict(v), reasons: cs}
		}
	}
	if err := finishRule(cur); err != nil {
		return nil, nil, err
	}
	if def == nil {
		return nil, nil, &Error{Line: len(lines), Msg: "the policy has no final default: end it with e.g. \"default refer no-rule-matched\""}
	}
	return rules, def, nil
}

// finishRule checks that a rule has what it needs.
func finishRule(r *ruleSrc) error {
	if r == nil {
		return nil
	}
	switch {
	case r.when == nil:
		return &Error{Line: r.line, Rule: r.name, Msg: "the rule has no \"when\" line"}
	case r.verdict == "" && r.verdX == nil:
		return &Error{Line: r.line, Rule: r.name, Msg: "the rule has no verdict: add \"admit\", \"deny\" or \"refer\" with reason codes"}
	}
	return nil
}

// parseCodes splits a list of reason codes.
func parseCodes(s string) ([]string, error) {
	codes := strings.Fields(s)
	if len(codes) > maxReasons {
		return nil, fmt.Errorf("%d reason codes, at most %d", len(codes), maxReasons)
	}
	for _, c := range codes {
		if !validCode(c) {
			return nil, fmt.Errorf("reason code %q: use lowercase letters, digits, '-', '_', '.' or ':' (at most %d)", c, maxName)
		}
	}
	return codes, nil
}

func validName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validCode(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}
