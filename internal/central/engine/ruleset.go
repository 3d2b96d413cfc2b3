package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sentinel/internal/status"
)

// Limits on a rule set's source.
const (
	// MaxSource is the largest rule set source, in bytes.
	MaxSource = 64 << 10
	// MaxRules is the most rules a rule set may have.
	MaxRules = 128
	// maxName bounds rule names and version labels.
	maxName = 64
	// maxSay bounds a rule's words for holders, in bytes.
	maxSay = 512
	// maxPeriod bounds every period of a rule set.
	maxPeriod = 366 * 24 * time.Hour
)

// Default periods (CONTRACTS.md): a yellow lasts 7 days and a red 14 days
// after its last contributing fact.
const (
	DefaultYellow = 7 * 24 * time.Hour
	DefaultRed    = 14 * 24 * time.Hour
)

// Error is a rule set that cannot be used, located in its source:
// "zj.rules:12:18: rule confirmed (match): undeclared reference to 'fact'".
// Line and Column count from 1; Column is 0 when the message is about the
// whole line.
type Error struct {
	File   string // the file's name as given; "rules" when none
	Line   int
	Column int
	Rule   string // the rule's name, "" outside a rule
	Clause string // match, when or from for an expression
	Msg    string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(cmpOr(e.File, "rules"))
	fmt.Fprintf(&b, ":%d", e.Line)
	if e.Column > 0 {
		fmt.Fprintf(&b, ":%d", e.Column)
	}
	b.WriteString(": ")
	if e.Rule != "" {
		b.WriteString("rule " + e.Rule)
		if e.Clause != "" {
			b.WriteString(" (" + e.Clause + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ContactParams say how close contacts are derived from passages for
// holders judged by a rule set (see Contacts).
type ContactParams struct {
	// Window is how long a passage counts as presence at the site: a
	// holder who passed at t was there from t to t+Window.
	Window time.Duration
	// Overlap is the least time two holders' presences must share to
	// make them contacts. At most Window.
	Overlap time.Duration
	// Cap is the most contacts one case's passages give (the longest
	// overlaps first); the rest are counted, not made contacts, so that a
	// case at a busy station does not turn a city red unseen.
	Cap int
	// Lookback is how long before a case's confirmation its passages
	// count.
	Lookback time.Duration
}

// DefaultContacts are the contact parameters of a rule set that gives
// none: 30 minutes' presence, 15 minutes' overlap, 500 contacts, 14 days.
var DefaultContacts = ContactParams{Window: 30 * time.Minute, Overlap: 15 * time.Minute, Cap: 500, Lookback: 14 * 24 * time.Hour}

// Source is a parsed rule set before its expressions are compiled.
type Source struct {
	File     string // for error positions
	Region   string // the area id the rule set is for
	Version  string // ops' label, as "2020-02-14.1"
	Yellow   time.Duration
	Red      time.Duration
	Contacts ContactParams
	Rules    []RuleSource
	Text     string // the source as given
}

// RuleSource is one rule as written.
type RuleSource struct {
	Name   string
	Line   int
	Match  Expr  // required: which of the holder's facts the rule is about
	When   *Expr // optional: a condition on the holder as a whole
	From   *Expr // optional: when a matched fact's period starts; f.at by default
	Status status.Status
	Reason status.Reason
	// For is how long the status lasts after the last contributing fact
	// starts its period; 0 is the rule set's default for the status,
	// Open (negative) means while the fact is in force.
	For time.Duration
	Say map[string]string // "en", "zh": words a holder reads
}

// Open as a rule's period: the status lasts as long as a matched fact
// exists, with no end date.
const Open time.Duration = -1

// Expr is a CEL expression and where it starts in the source.
type Expr struct {
	Text string
	Line int // 1-based line of the first character
	Col  int // 1-based column of the first character
}

var keywords = map[string]bool{
	"region": true, "version": true, "period": true, "contacts": true, "yellow": true, "red": true,
	"rule": true, "match": true, "when": true, "from": true,
	"green": true, "withheld": true, "for": true, "say": true,
}

// Parse reads a rule set's source (docs/rules/README.md gives the
// format). file names it in errors. It checks the layout, names, reasons
// and periods; Compile checks the expressions.
func Parse(file string, src []byte) (*Source, error) {
	fail := func(line, col int, rule, format string, args ...any) error {
		return &Error{File: file, Line: line, Column: col, Rule: rule, Msg: fmt.Sprintf(format, args...)}
	}
	if len(src) > MaxSource {
		return nil, fail(1, 0, "", "the rule set is %d bytes, at most %d", len(src), MaxSource)
	}
	if !utf8.Valid(src) {
		return nil, fail(1, 0, "", "the rule set is not UTF-8 text")
	}
	text := strings.TrimPrefix(string(src), "\uFEFF")
	s := &Source{File: file, Text: string(src), Contacts: DefaultContacts}
	var (
		cur        *RuleSource
		last       *Expr
		lastIndent int
		names      = map[string]bool{}
		seen       = map[string]int{} // header keyword -> line
	)
	finish := func() error {
		if cur == nil {
			return nil
		}
		switch {
		case cur.Match.Text == "":
			return fail(cur.Line, 0, cur.Name, "the rule has no \"match\" line: say which facts it is about, as match f.kind == \"confirmed\"")
		case cur.Status == 0:
			return fail(cur.Line, 0, cur.Name, "the rule has no status: add \"red REASON\", \"yellow REASON\", \"green REASON\" or \"withheld REASON\"")
		}
		return nil
	}
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		body := strings.TrimLeft(raw, " \t")
		if body == "" || strings.HasPrefix(body, "#") {
			continue
		}
		indent := len(raw) - len(body)
		if last != nil && indent > lastIndent {
			last.Text += "\n" + raw
			continue
		}
		last = nil
		word, rest := body, ""
		if j := strings.IndexAny(body, " \t"); j >= 0 {
			word, rest = body[:j], body[j:]
		}
		restCol := indent + len(word) + 1
		trimmed := strings.TrimLeft(rest, " \t")
		restCol += len(rest) - len(trimmed)
		rest = strings.TrimRight(trimmed, " \t")
		ruleName := ""
		if cur != nil {
			ruleName = cur.Name
		}
		if !keywords[word] {
			return nil, fail(n, indent+1, ruleName, "%q is not one of region, version, period, contacts, rule, match, when, from, green, withheld, for, say (indent an expression's further lines deeper than its first)", clip(word))
		}
		// Header lines, before the first rule.
		if cur == nil {
			switch word {
			case "region", "version", "period", "contacts":
				key := word
				if word == "period" {
					key += " " + strings.Fields(rest + " x")[0]
				}
				if l, dup := seen[key]; dup {
					return nil, fail(n, indent+1, "", "%s is given twice (first on line %d)", key, l)
				}
				seen[key] = n
				if err := s.header(word, rest); err != nil {
					return nil, fail(n, restCol, "", "%v", err)
				}
				continue
			case "rule":
			default:
				return nil, fail(n, indent+1, "", "%q belongs inside a rule: start one with \"rule NAME\"", word)
			}
		}
		switch word {
		case "region", "version", "period", "contacts":
			return nil, fail(n, indent+1, ruleName, "%s belongs at the top of the file, before the first rule", word)
		case "rule":
			if err := finish(); err != nil {
				return nil, err
			}
			if !validName(rest) {
				return nil, fail(n, restCol, "", "rule name %q: use lowercase letters, digits, '-' or '_' (at most %d)", clip(rest), maxName)
			}
			if names[rest] {
				return nil, fail(n, restCol, "", "rule %q is defined twice", rest)
			}
			if len(s.Rules) == MaxRules {
				return nil, fail(n, indent+1, "", "more than %d rules", MaxRules)
			}
			names[rest] = true
			s.Rules = append(s.Rules, RuleSource{Name: rest, Line: n})
			cur = &s.Rules[len(s.Rules)-1]
		case "match", "when", "from":
			if rest == "" {
				return nil, fail(n, indent+1, ruleName, "%s needs an expression", word)
			}
			x := &Expr{Text: rest, Line: n, Col: restCol}
			var dup bool
			switch word {
			case "match":
				dup = cur.Match.Text != ""
				cur.Match = *x
				x = &cur.Match
			case "when":
				dup, cur.When = cur.When != nil, x
			case "from":
				dup, cur.From = cur.From != nil, x
			}
			if dup {
				return nil, fail(n, indent+1, ruleName, "the rule already has a %s", word)
			}
			last, lastIndent = x, indent
		case "green", "yellow", "red", "withheld":
			if cur.Status != 0 {
				return nil, fail(n, indent+1, ruleName, "the rule already has a status (%s)", cur.Status)
			}
			st, _ := status.ParseStatus(word)
			if rest == "" || strings.ContainsAny(rest, " \t") {
				return nil, fail(n, restCol, ruleName, "%s takes one reason name from docs/reasons.md, as \"%s %s\"", word, word, exampleReason(st))
			}
			r, err := status.ParseReason(rest)
			if err != nil {
				return nil, fail(n, restCol, ruleName, "reason %q is not a status reason of docs/reasons.md (as confirmed, close-contact, fever, risk-area-visit)", clip(rest))
			}
			cur.Status, cur.Reason = st, r
		case "for":
			if cur.For != 0 {
				return nil, fail(n, indent+1, ruleName, "the rule already has a period")
			}
			if rest == "open" {
				cur.For = Open
				break
			}
			d, err := parsePeriod(rest)
			if err != nil {
				return nil, fail(n, restCol, ruleName, "%v, or \"open\"", err)
			}
			cur.For = d
		case "say":
			lang, words, _ := strings.Cut(rest, " ")
			words = strings.TrimSpace(words)
			if lang != "en" && lang != "zh" {
				return nil, fail(n, restCol, ruleName, "say takes a language, en or zh, then the words a holder reads")
			}
			if words == "" || len(words) > maxSay {
				return nil, fail(n, restCol, ruleName, "say %s needs words for the holder, at most %d bytes", lang, maxSay)
			}
			if cur.Say == nil {
				cur.Say = map[string]string{}
			}
			if _, dup := cur.Say[lang]; dup {
				return nil, fail(n, indent+1, ruleName, "the rule already says something in %s", lang)
			}
			cur.Say[lang] = words
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	switch {
	case s.Region == "":
		return nil, fail(1, 0, "", "the rule set names no region: start it with e.g. \"region ZJ\"")
	case s.Version == "":
		return nil, fail(1, 0, "", "the rule set has no version: add e.g. \"version 2020-02-14.1\" at the top")
	case len(s.Rules) == 0:
		return nil, fail(len(lines), 0, "", "the rule set has no rules: a holder it judges would always be green")
	}
	if s.Yellow == 0 {
		s.Yellow = DefaultYellow
	}
	if s.Red == 0 {
		s.Red = DefaultRed
	}
	return s, nil
}

// header reads a header line's value into s.
func (s *Source) header(word, rest string) error {
	switch word {
	case "region":
		if !ValidAreaID(rest) {
			return fmt.Errorf("region %q: an area id is 1 to 32 of A-Z, 0-9 and '-', as ZJ or HB-WH", clip(rest))
		}
		s.Region = rest
	case "version":
		if !validVersion(rest) {
			return fmt.Errorf("version %q: use letters, digits, '.', '-' or '_' (at most %d)", clip(rest), maxName)
		}
		s.Version = rest
	case "period":
		st, p, _ := strings.Cut(rest, " ")
		if st != "yellow" && st != "red" {
			return fmt.Errorf("period takes yellow or red, then how long, as \"period yellow 7d\"")
		}
		d, err := parsePeriod(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("the default %s period: %v", st, err)
		}
		if st == "yellow" {
			s.Yellow = d
		} else {
			s.Red = d
		}
	case "contacts":
		return s.parseContacts(rest)
	}
	return nil
}

// parseContacts reads "window 30m overlap 15m cap 500 lookback 14d", any
// subset in any order.
func (s *Source) parseContacts(rest string) error {
	f := strings.Fields(rest)
	if len(f) == 0 || len(f)%2 != 0 {
		return fmt.Errorf("contacts takes pairs, as \"contacts window 30m overlap 15m cap 500 lookback 14d\"")
	}
	c := DefaultContacts
	got := map[string]bool{}
	for i := 0; i < len(f); i += 2 {
		k, v := f[i], f[i+1]
		if got[k] {
			return fmt.Errorf("contacts: %s is given twice", clip(k))
		}
		got[k] = true
		var err error
		switch k {
		case "window":
			c.Window, err = parsePeriod(v)
		case "overlap":
			c.Overlap, err = parsePeriod(v)
		case "lookback":
			c.Lookback, err = parsePeriod(v)
		case "cap":
			c.Cap, err = strconv.Atoi(v)
			if err != nil || c.Cap < 1 || c.Cap > 100_000 {
				err = fmt.Errorf("%q is not a number from 1 to 100000", clip(v))
			}
		default:
			return fmt.Errorf("contacts: %q is not one of window, overlap, cap, lookback", clip(k))
		}
		if err != nil {
			return fmt.Errorf("contacts %s: %v", k, err)
		}
	}
	if c.Overlap > c.Window {
		return fmt.Errorf("contacts: the overlap %s is longer than the window %s: no two passages could ever overlap that long", fmtPeriod(c.Overlap), fmtPeriod(c.Window))
	}
	s.Contacts = c
	return nil
}

// parsePeriod parses "14d", "36h", "90m", "1h30m": days, or Go's
// durations; positive and at most a year.
func parsePeriod(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		days, err := strconv.Atoi(n)
		if err != nil || days > 366 {
			return 0, fmt.Errorf("period %q is longer than a year", clip(s))
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("period %q: write days as 14d, or hours and minutes as 36h, 90m", clip(s))
		}
	}
	if d <= 0 || d > maxPeriod {
		return 0, fmt.Errorf("period %q: want more than nothing and at most a year", clip(s))
	}
	return d, nil
}

// fmtPeriod writes a period as parsePeriod reads it.
func fmtPeriod(d time.Duration) string {
	switch {
	case d == Open:
		return "open"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

func exampleReason(s status.Status) string {
	switch s {
	case status.Green:
		return "essential-worker"
	case status.Yellow:
		return "risk-area-visit"
	case status.Withheld:
		return "fever"
	}
	return "confirmed"
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

func validVersion(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// clip shortens what was typed for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
