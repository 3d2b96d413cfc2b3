package siteconfig

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// MaxFileSize is the largest site settings file, in bytes.
const MaxFileSize = 64 << 10

// maxProblems bounds how many problems one file reports.
const maxProblems = 10

// Error is a problem in a site settings file, located so that ops can find
// it: "site.toml:7:18: retention_days: 0: write a number of days from 1 to
// 366". Line and Column count from 1; Column is 0 when the problem is about
// the whole line. It wraps ErrSiteSettings.
type Error struct {
	File   string // as given to ParseTOML; "" gives "line N"
	Line   int
	Column int
	Key    string // the key as the file spells it ("guard[1].pin_hash"), "" for syntax
	Msg    string // what is wrong and what to write
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d", e.File, e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	} else {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrSiteSettings) true.
func (e *Error) Unwrap() error { return ErrSiteSettings }

// Problems are every problem found in one file, in the order of its lines.
type Problems []*Error

// Error implements error: one problem a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the problems to errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// file is the site settings file as TOML.
type file struct {
	SiteType      string      `toml:"site_type"`
	RetentionDays *int64      `toml:"retention_days"`
	Language      *string     `toml:"language"`
	TimeZone      *string     `toml:"time_zone"`
	Guard         []fileGuard `toml:"guard"`
}

type fileGuard struct {
	ID      string `toml:"id"`
	PINHash string `toml:"pin_hash"`
}

// topKeys and guardKeys are the keys a file may have, in the order of the
// example.
var (
	topKeys   = []string{"site_type", "retention_days", "language", "time_zone"}
	guardKeys = []string{"id", "pin_hash"}
)

// policyKeys are thresholds that belong to the policy bundle, with where
// to set them instead.
var policyKeys = map[string]string{
	"fever":                   "--fever",
	"fever_threshold":         "--fever",
	"yellow":                  "--yellow",
	"paper_accepted":          "--paper-accepted",
	"thermometer_unavailable": "--thermometer-unavailable",
	"residents":               "--residents",
}

// keyIndex maps every key of a file ("retention_days", "guard[1].id",
// "guard[1]") to where it is.
type keyIndex map[string]unstable.Position

// ParseTOML reads a site settings file (see Example), strictly: every key
// must be known, of the right type and valid, and site_type is required.
// Keys left out take the defaults of Default. name is the file's name for
// the messages. On any problem it returns a nil SiteSettings and Problems,
// each naming its line and what to write.
func ParseTOML(name string, data []byte) (*SiteSettings, error) {
	at := func(line, col int, key, format string, args ...any) Problems {
		return Problems{{File: name, Line: line, Column: col, Key: key, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(data) > MaxFileSize {
		return nil, at(1, 0, "", "the file is %d bytes, at most %d: is it a site settings file?", len(data), MaxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, at(1, 0, "", "the file is not UTF-8 text: save it as UTF-8 (is it a site settings file?)")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	idx, ps := scanKeys(name, data)
	if len(ps) > 0 {
		return nil, ps
	}
	var f file
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			key := strings.Join(de.Key(), ".")
			return nil, at(row, col, key, "%s", decodeWords(key, de))
		}
		return nil, at(1, 0, "", "%v", err)
	}
	s := Default("")
	s.Type = SiteType(f.SiteType)
	if f.SiteType == "" {
		if _, ok := idx["site_type"]; !ok {
			return nil, at(1, 0, "site_type", "missing: write site_type = \"supermarket\" (or pharmacy, intersection, compound, custom) at the top")
		}
	}
	if f.RetentionDays != nil {
		if *f.RetentionDays < 1 || *f.RetentionDays > MaxRetention {
			p := idx["retention_days"]
			return nil, at(p.Line, p.Column, "retention_days", "%d: write a number of days from 1 to %d", *f.RetentionDays, MaxRetention)
		}
		s.RetentionDays = int(*f.RetentionDays)
	}
	if f.Language != nil {
		s.Language = *f.Language
	}
	if f.TimeZone != nil {
		s.TimeZone = *f.TimeZone
	}
	for _, g := range f.Guard {
		s.Guards = append(s.Guards, Guard(g))
	}
	if err := s.Validate(); err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			return nil, at(1, 0, "", "%v", err)
		}
		p := idx.locate(fe.Field)
		return nil, at(p.Line, p.Column, fe.Field, "%s", fe.Msg)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil {
		p := idx.locate("time_zone")
		return nil, at(p.Line, p.Column, "time_zone", "%q is not a time zone this machine knows: write an IANA name such as \"Asia/Shanghai\" or \"Europe/Berlin\"", s.TimeZone)
	}
	return s, nil
}

// locate returns where key is, or its enclosing block, or line 1.
func (k keyIndex) locate(key string) unstable.Position {
	for key != "" {
		if p, ok := k[key]; ok {
			return p
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return unstable.Position{Line: 1}
}

// decodeWords says what a decoding error means for key.
func decodeWords(key string, de *toml.DecodeError) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	want := map[string]string{
		"site_type":      `a quoted word such as "supermarket"`,
		"retention_days": "a number of days without quotes, such as 14",
		"language":       `"zh" or "en", in quotes`,
		"time_zone":      `a quoted IANA time zone such as "Asia/Shanghai"`,
		"guard.id":       `a quoted id such as "guard-07"`,
		"guard.pin_hash": "the quoted line `sentinel-central config pin` prints",
	}
	if strings.Contains(msg, "already defined") {
		return msg + ": write each key once; delete or merge the other"
	}
	if w, ok := want[key]; ok {
		return msg + ": write " + w
	}
	return msg
}

// scanKeys indexes the keys of data and reports every unknown or
// misplaced key and every syntax error with its line.
func scanKeys(name string, data []byte) (keyIndex, Problems) {
	var (
		p      unstable.Parser
		idx    = keyIndex{}
		ps     Problems
		table  = "" // "" (top) or "guard"
		guards = -1
	)
	add := func(pos unstable.Position, key, format string, args ...any) {
		if len(ps) < maxProblems {
			ps = append(ps, &Error{File: name, Line: pos.Line, Column: pos.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
		}
	}
	keyOf := func(n *unstable.Node) (string, unstable.Position) {
		var parts []string
		var pos unstable.Position
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if parts == nil {
				pos = p.Shape(k.Raw).Start
			}
			parts = append(parts, string(k.Data))
		}
		return strings.Join(parts, "."), pos
	}
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.ArrayTable:
			key, pos := keyOf(e)
			if key != "guard" {
				table = "?"
				add(pos, key, "unknown block [[%s]]: a site settings file has [[guard]] blocks only", key)
				continue
			}
			guards++
			table = "guard"
			idx[fmt.Sprintf("guard[%d]", guards)] = pos
		case unstable.Table:
			key, pos := keyOf(e)
			table = "?"
			if key == "guard" {
				add(pos, key, "write [[guard]] with two brackets: each guard is a block of its own")
			} else {
				add(pos, key, "unknown table [%s]: a site settings file has top-level keys and [[guard]] blocks only", key)
			}
		case unstable.KeyValue:
			key, pos := keyOf(e)
			switch table {
			case "?": // inside a block already reported
			case "":
				switch {
				case slices.Contains(topKeys, key):
					idx[key] = pos
				case key == "guard":
					add(pos, key, "write each guard as a [[guard]] block with id and pin_hash")
				case policyKeys[key] != "":
					add(pos, key, "thresholds travel with the rules in the policy bundle: give it to `sentinel-central bundles publish policy` as %s", policyKeys[key])
				case slices.Contains(guardKeys, key):
					add(pos, key, "a guard's %s goes in a [[guard]] block: write [[guard]] on the line above", key)
				default:
					add(pos, key, "unknown key%s; a site settings file has %s and [[guard]] blocks", suggest(key, topKeys), strings.Join(topKeys, ", "))
				}
			case "guard":
				k := fmt.Sprintf("guard[%d].%s", guards, key)
				if slices.Contains(guardKeys, key) {
					idx[k] = pos
				} else if slices.Contains(topKeys, key) {
					add(pos, k, "%s is a setting of the whole site: move it above the first [[guard]] block", key)
				} else {
					add(pos, k, "unknown key%s; a [[guard]] block has id and pin_hash", suggest(key, guardKeys))
				}
			}
		}
	}
	if err := p.Error(); err != nil {
		// The parser's error carries no line; the decoder, which runs the
		// same parser, reports it with its position.
		var de *toml.DecodeError
		if derr := toml.Unmarshal(data, new(map[string]any)); errors.As(derr, &de) {
			row, col := de.Position()
			add(unstable.Position{Line: row, Column: col}, "", "syntax error: %s", strings.TrimPrefix(de.Error(), "toml: "))
		} else {
			add(unstable.Position{Line: 1}, "", "syntax error: %v", err)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return idx, ps
}

// suggest returns ` (did you mean "X"?)` when key is a typo of one of
// known, else "".
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b (short keys only).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
