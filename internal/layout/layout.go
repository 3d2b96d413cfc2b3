// Package layout checks the never-arrows of the architecture: which
// packages may never import which, directly or through others. The rules
// live in the repository's docs/layout-rules.txt, where they are read by
// people and by this package's test, which runs `go list -deps` over the
// module and fails, naming the import chain, when a rule is broken.
//
// A rule still broken by code that a later change is to fix is listed in
// the same file as an exception with the issue that removes it. An
// exception that no longer excuses anything is an error too, so the list
// only shrinks.
package layout

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Rules are the never-arrows and their known exceptions.
type Rules struct {
	Never  []Rule
	Except []Exception
}

// Rule says that no package matching From may import one matching To,
// directly or through other packages.
type Rule struct {
	Line     int // in the rules file
	From, To Set
	Why      string
}

// Exception excuses the arrows from From to To that a rule forbids, until
// Issue is done.
type Exception struct {
	Line     int
	From, To Set
	Issue    string
	Why      string
}

// Set is a comma-separated list of import path patterns: "..." matches any
// string and "*" any string within one path element, as in "sentinel/..."
// or ".../*test"; "P/..." matches P too. A pattern after "!" leaves out
// what it matches.
type Set struct {
	text          string
	include, omit []*regexp.Regexp
}

func (s Set) String() string { return s.text }

// Match reports whether path is in the set.
func (s Set) Match(path string) bool {
	in := false
	for _, re := range s.include {
		if re.MatchString(path) {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, re := range s.omit {
		if re.MatchString(path) {
			return false
		}
	}
	return true
}

// ParseSet parses a comma-separated list of patterns.
func ParseSet(text string) (Set, error) {
	s := Set{text: text}
	for p := range strings.SplitSeq(text, ",") {
		omit := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if p == "" {
			return s, fmt.Errorf("%q: an empty pattern", text)
		}
		re := regexp.QuoteMeta(p)
		re = strings.ReplaceAll(re, `/\.\.\.`, `(/.*)?`)
		re = strings.ReplaceAll(re, `\.\.\.`, `.*`)
		re = strings.ReplaceAll(re, `\*`, `[^/]*`)
		rx := regexp.MustCompile("^" + re + "$")
		if omit {
			s.omit = append(s.omit, rx)
		} else {
			s.include = append(s.include, rx)
		}
	}
	if len(s.include) == 0 {
		return s, fmt.Errorf("%q: only patterns to leave out", text)
	}
	return s, nil
}

// Parse reads rules, one a line:
//
//	never  FROM TO [# why]
//	except FROM TO ISSUE [# why]
//
// where ISSUE is the issue that removes the exception ("#10"). Blank lines
// and lines starting with # are comments; so is what follows " # ".
func Parse(r io.Reader) (*Rules, error) {
	var rules Rules
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, why, _ := strings.Cut(sc.Text(), " # ")
		line = strings.TrimSpace(line)
		why = strings.TrimSpace(why)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("line %d: %s", n, fmt.Sprintf(format, a...))
		}
		switch {
		case f[0] == "never" && len(f) == 3:
		case f[0] == "except" && len(f) == 4:
			if !regexp.MustCompile(`^#[0-9]+$`).MatchString(f[3]) {
				return nil, bad("an exception names the issue that removes it as #N, not %q", f[3])
			}
		case f[0] == "never":
			return nil, bad("want: never FROM TO [# why]")
		case f[0] == "except":
			return nil, bad("want: except FROM TO #ISSUE [# why]")
		default:
			return nil, bad("%q: want never or except", f[0])
		}
		from, err := ParseSet(f[1])
		if err != nil {
			return nil, bad("%v", err)
		}
		to, err := ParseSet(f[2])
		if err != nil {
			return nil, bad("%v", err)
		}
		if f[0] == "never" {
			rules.Never = append(rules.Never, Rule{Line: n, From: from, To: to, Why: why})
		} else {
			rules.Except = append(rules.Except, Exception{Line: n, From: from, To: to, Issue: f[3], Why: why})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return &rules, nil
}

// Graph maps each package's import path to the packages it imports
// (without its tests' imports), as `go list -deps` gives them.
type Graph map[string][]string

// Violation is an arrow a rule forbids: Chain runs from the rule's
// package to the forbidden one, each importing the next.
type Violation struct {
	Rule      Rule
	Chain     []string
	Exception *Exception // the exception that excuses it; nil: none
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s, which the rule on line %d forbids: %s",
		v.Chain[0], v.Chain[len(v.Chain)-1], v.Rule.Line, strings.Join(v.Chain, " → "))
}

// Check returns the arrows of g that the rules forbid, each with the
// exception that excuses it, if any. Of the forbidden packages a package
// reaches, it names those where the chain crosses into the forbidden set,
// each by its shortest chain, in a stable order.
func Check(g Graph, rules *Rules) []Violation {
	var out []Violation
	froms := make([]string, 0, len(g))
	for p := range g {
		froms = append(froms, p)
	}
	slices.Sort(froms)
	for _, r := range rules.Never {
		for _, from := range froms {
			if !r.From.Match(from) {
				continue
			}
			for _, chain := range crossings(g, from, r.To) {
				v := Violation{Rule: r, Chain: chain}
				for i, e := range rules.Except {
					if e.From.Match(from) && e.To.Match(chain[len(chain)-1]) {
						v.Exception = &rules.Except[i]
						break
					}
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// crossings returns the shortest chains from from to each package in to
// that it reaches through packages not in to.
func crossings(g Graph, from string, to Set) [][]string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	var hits []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		imps := slices.Clone(g[p])
		slices.Sort(imps)
		for _, q := range imps {
			if _, seen := prev[q]; seen {
				continue
			}
			prev[q] = p
			if to.Match(q) {
				// A forbidden package's own imports are its business:
				// the crossing into it is the arrow to name.
				hits = append(hits, q)
				continue
			}
			queue = append(queue, q)
		}
	}
	slices.Sort(hits)
	chains := make([][]string, 0, len(hits))
	for _, h := range hits {
		var chain []string
		for p := h; p != ""; p = prev[p] {
			chain = append(chain, p)
		}
		slices.Reverse(chain)
		chains = append(chains, chain)
	}
	return chains
}

// Unused returns the exceptions that excuse none of vs.
func Unused(rules *Rules, vs []Violation) []Exception {
	used := map[int]bool{}
	for _, v := range vs {
		if v.Exception != nil {
			used[v.Exception.Line] = true
		}
	}
	var out []Exception
	for _, e := range rules.Except {
		if !used[e.Line] {
			out = append(out, e)
		}
	}
	return out
}
