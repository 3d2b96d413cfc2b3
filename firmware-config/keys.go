package firmwareconfig

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// keyIndex maps the path of every key and table in a file, such as
// lane[1].thermometer.address, to its line.
type keyIndex map[string]int

// has reports whether the file wrote the key at path.
func (k keyIndex) has(path string) bool {
	_, ok := k[path]
	return ok
}

// line returns the line of path or, when the file does not have it, of its
// nearest enclosing table; 0 when none.
func (k keyIndex) line(path string) int {
	for path != "" {
		if l, ok := k[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var (
	configType        = reflect.TypeFor[Config]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// keyScanner walks a TOML file's syntax tree against the Config type before
// it is decoded, so that every unknown key and every value of the wrong type
// is reported with its line, not only the first.
type keyScanner struct {
	p      unstable.Parser
	idx    keyIndex
	arrays map[string]int // path of an array of tables -> blocks seen
	probs  Problems

	curPath string       // path of the current table
	curType reflect.Type // its type; nil inside a table already reported
	stop    bool         // too many problems, or a file too big to be one
}

// listLimits bounds the arrays of tables, so that a file of a million
// [[lane]] blocks is refused before it is decoded.
var listLimits = map[string]int{"lane": maxLanes, "scanner": maxScanners}

type keyPart struct {
	name string
	line int
}

// scanKeys indexes the keys of data and reports the problems it finds.
func scanKeys(data []byte) (keyIndex, Problems) {
	s := &keyScanner{idx: keyIndex{}, arrays: map[string]int{}, curType: configType}
	s.p.Reset(data)
	for !s.stop && s.p.NextExpression() {
		e := s.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			s.keyValue(e, s.curPath, s.curType)
		case unstable.Table:
			s.table(e, false)
		case unstable.ArrayTable:
			s.table(e, true)
		}
	}
	if err := s.p.Error(); err != nil && !s.stop {
		// The parser's error carries no line; the decoder, which runs the
		// same parser, reports the same error with its position.
		derr := toml.Unmarshal(data, new(map[string]any))
		if derr == nil {
			derr = err
		}
		s.probs = append(s.probs, decodeProblem(derr))
	}
	return s.idx, s.probs
}

// keys returns the parts of e's key, or nil after reporting a key with more
// parts than any key of the file has.
func (s *keyScanner) keys(e *unstable.Node) []keyPart {
	var ks []keyPart
	it := e.Key()
	for it.Next() {
		k := it.Node()
		if len(ks) == maxKeyParts {
			s.problem(ks[0].line, headerPath(ks)+".…", "", fmt.Sprintf("has more than %d parts: no key of this file is that deep", maxKeyParts))
			return nil
		}
		ks = append(ks, keyPart{name: string(k.Data), line: s.p.Shape(k.Raw).Start.Line})
	}
	return ks
}

// table handles a [table] or [[array.of.tables]] header.
func (s *keyScanner) table(e *unstable.Node, array bool) {
	s.curPath, s.curType = "", nil
	ks := s.keys(e)
	if ks == nil {
		return
	}
	header := headerText(ks, array)
	path, t := "", configType
	for i, k := range ks {
		last := i == len(ks)-1
		f, ok := fieldByKey(t, k.name)
		if !ok {
			s.unknown(path, t, ks[i:])
			return
		}
		path = joinKey(path, k.name)
		ft := deref(f.Type)
		switch {
		case isTableList(ft):
			n := s.arrays[path]
			switch {
			case last && array:
				if limit, ok := listLimits[k.name]; ok && n >= limit {
					s.problem(k.line, path, "", fmt.Sprintf("more than %d [[%s]] blocks: %d is the most this file may have", limit, headerPath(ks), limit))
					s.stop = true
					return
				}
				s.arrays[path] = n + 1
				if _, ok := s.idx[path]; !ok {
					s.idx[path] = k.line
				}
				path = fmt.Sprintf("%s[%d]", path, n)
				s.idx[path] = k.line
			case last:
				s.problem(k.line, path, "", fmt.Sprintf("write [[%s]] with double brackets: a lane may have several", headerPath(ks)))
				return
			case n == 0:
				s.problem(k.line, path, "", fmt.Sprintf("%s comes before any [[%s]] block: write [[%s]] first", header, headerPath(ks[:i+1]), headerPath(ks[:i+1])))
				return
			default:
				path = fmt.Sprintf("%s[%d]", path, n-1)
			}
			t = deref(ft.Elem())
		case isTable(ft):
			if last && array {
				s.problem(k.line, path, "", fmt.Sprintf("write [%s] with single brackets: there is only one", headerPath(ks)))
				return
			}
			if last {
				s.idx[path] = k.line
			}
			t = ft
		default:
			s.problem(k.line, path, "", "is a single value, not a table: write "+k.name+" = value")
			return
		}
	}
	s.curPath, s.curType = path, t
}

// keyValue handles key = value in the table at path of type t.
func (s *keyScanner) keyValue(e *unstable.Node, path string, t reflect.Type) {
	if t == nil {
		return
	}
	ks := s.keys(e)
	for i, k := range ks {
		f, ok := fieldByKey(t, k.name)
		if !ok {
			s.unknown(path, t, ks[i:])
			return
		}
		path = joinKey(path, k.name)
		if i == len(ks)-1 {
			s.idx[path] = k.line
			s.value(e.Value(), path, f.Type, k.line)
			return
		}
		ft := deref(f.Type)
		switch {
		case isTableList(ft):
			s.problem(k.line, path, "", fmt.Sprintf("is a list of blocks: write each as [[%s]]", path))
			return
		case !isTable(ft):
			s.problem(k.line, path, "", "is a single value, not a table")
			return
		}
		if _, ok := s.idx[path]; !ok {
			s.idx[path] = k.line
		}
		t = ft
	}
}

// value checks that the value v fits the field type ft.
func (s *keyScanner) value(v *unstable.Node, path string, ft reflect.Type, line int) {
	ft = deref(ft)
	raw := rawValue(v)
	if reflect.PointerTo(ft).Implements(textUnmarshalType) {
		if v.Kind != unstable.String {
			s.problem(line, path, raw, "must be text in quotes, e.g. \"2s\"")
			return
		}
		u := reflect.New(ft).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText(v.Data); err != nil {
			s.problem(line, path, raw, err.Error())
		}
		return
	}
	switch ft.Kind() {
	case reflect.String:
		if v.Kind != unstable.String {
			s.problem(line, path, raw, "must be text in quotes")
		}
	case reflect.Bool:
		if v.Kind != unstable.Bool {
			s.problem(line, path, raw, "must be true or false, without quotes")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Kind != unstable.Integer {
			s.problem(line, path, raw, "must be a whole number, without quotes")
			return
		}
		if msg := intRange(string(v.Data), ft); msg != "" {
			s.problem(line, path, raw, msg)
		}
	case reflect.Float32, reflect.Float64:
		if v.Kind != unstable.Float && v.Kind != unstable.Integer {
			s.problem(line, path, raw, "must be a number, without quotes")
		}
	case reflect.Slice:
		if v.Kind != unstable.Array {
			s.problem(line, path, raw, "must be a list in brackets, e.g. [\"a\", \"b\"]")
			return
		}
		el := deref(ft.Elem())
		limit := maxList
		if l, ok := listLimits[path[strings.LastIndexByte(path, '.')+1:]]; ok && isTable(el) {
			limit = l
		}
		it := v.Children()
		for i := 0; it.Next(); i++ {
			if i == limit {
				s.problem(line, path, "", fmt.Sprintf("has more than %d elements", limit))
				s.stop = true
				return
			}
			ep := fmt.Sprintf("%s[%d]", path, i)
			c := it.Node()
			if isTable(el) {
				if c.Kind != unstable.InlineTable {
					s.problem(line, ep, rawValue(c), "must be a table in braces, { key = value, … }")
					continue
				}
				s.idx[ep] = line
				s.inline(c, ep, el)
				continue
			}
			s.value(c, ep, el, line)
		}
	case reflect.Struct:
		if v.Kind != unstable.InlineTable {
			s.problem(line, path, raw, fmt.Sprintf("is a table: write it as [%s] with its keys below, or in braces", path))
			return
		}
		s.inline(v, path, ft)
	}
}

// inline checks the key-values of an inline table.
func (s *keyScanner) inline(v *unstable.Node, path string, t reflect.Type) {
	it := v.Children()
	for it.Next() {
		if c := it.Node(); c.Kind == unstable.KeyValue {
			s.keyValue(c, path, t)
		}
	}
}

// unknown reports a key that t has no field for; rest is the unknown key
// and the parts that follow it.
func (s *keyScanner) unknown(path string, t reflect.Type, rest []keyPart) {
	written := path
	inBundle := false
	for _, k := range rest {
		written = joinKey(written, k.name)
		inBundle = inBundle || isBundleKey(k.name)
	}
	ke := &KeyError{Line: rest[0].line, Key: written, InBundle: inBundle}
	if !inBundle {
		ke.Suggestion = closestKey(rest[0].name, t)
	}
	s.add(ke)
}

func (s *keyScanner) problem(line int, field, value, problem string) {
	s.add(&ValidationError{Line: line, Field: field, Value: value, Problem: problem})
}

// add records a problem; past maxProblems it stops the scan, since an
// installer fixes the first ones first.
func (s *keyScanner) add(p error) {
	if len(s.probs) == maxProblems {
		s.probs = append(s.probs, &SyntaxError{Line: problemLine(p), Msg: fmt.Sprintf("more than %d problems: fix the ones above first", maxProblems)})
		s.stop = true
		return
	}
	s.probs = append(s.probs, p)
}

// fieldByKey returns the field of struct type t whose TOML key is name.
func fieldByKey(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tomlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isTable reports whether t is written as a TOML table.
func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalType)
}

// isTableList reports whether t is written as an array of tables.
func isTableList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && isTable(deref(t.Elem()))
}

// intRange returns why the TOML integer text does not fit type t, or "".
func intRange(text string, t reflect.Type) string {
	n, err := strconv.ParseInt(text, 0, 64)
	v := reflect.New(t).Elem()
	var lo, hi string
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if err == nil && n >= 0 && !v.OverflowUint(uint64(n)) {
			return ""
		}
		lo, hi = "0", strconv.FormatUint(uint64(1)<<(t.Bits())-1, 10)
		if t.Bits() == 64 {
			hi = strconv.FormatUint(^uint64(0), 10)
		}
	default:
		if err == nil && !v.OverflowInt(n) {
			return ""
		}
		lo = strconv.FormatInt(-1<<(t.Bits()-1), 10)
		hi = strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
	}
	return fmt.Sprintf("must be a whole number from %s to %s", lo, hi)
}

// rawValue returns a scalar value as it reads in the file, or "".
func rawValue(v *unstable.Node) string {
	switch v.Kind {
	case unstable.String:
		return strconv.Quote(string(v.Data))
	case unstable.Bool, unstable.Integer, unstable.Float,
		unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return string(v.Data)
	case unstable.Array:
		return "[…]"
	case unstable.InlineTable:
		return "{…}"
	}
	return ""
}

// joinKey appends key name to path, quoting a name that is not a bare key.
func joinKey(path, name string) string {
	if !isBareKey(name) {
		name = strconv.Quote(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func headerPath(ks []keyPart) string {
	var p string
	for _, k := range ks {
		p = joinKey(p, k.name)
	}
	return p
}

func headerText(ks []keyPart, array bool) string {
	if array {
		return "[[" + headerPath(ks) + "]]"
	}
	return "[" + headerPath(ks) + "]"
}

// normKey folds case and drops '_', '-' and spaces, so that idleGap,
// idle-gap and IDLE_GAP all read as idlegap.
func normKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == '_' || r == '-' || r == ' ' || r == '.' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// bundleKeys are the site settings that ops manage through the config
// bundle, as normKey spells them, and words that only such keys contain.
var (
	bundleKeys = map[string]bool{
		"site": true, "sitetype": true, "sitekind": true, "siteprofile": true,
		"profile": true, "policy": true, "lang": true, "locale": true,
		"tz": true, "zone": true, "retain": true, "retentiondays": true,
	}
	bundleWords = []string{"threshold", "fever", "retention", "language", "timezone"}
)

// isBundleKey reports whether a key names a site setting of the config
// bundle.
func isBundleKey(name string) bool {
	n := normKey(name)
	if bundleKeys[n] {
		return true
	}
	for _, w := range bundleWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// closestKey returns the key of struct type t nearest to name, when near
// enough to be a typo, or "".
func closestKey(name string, t reflect.Type) string {
	n := normKey(name)
	maxd := 2
	if len(n) <= 4 {
		maxd = 1
	}
	best, bestd := "", maxd+1
	for i := range t.NumField() {
		k := tomlName(t.Field(i))
		nk := normKey(k)
		if len(n) > len(nk)+maxd || len(nk) > len(n)+maxd {
			continue // too far apart in length alone
		}
		if d := editDistance(n, nk); d < bestd {
			best, bestd = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and swaps of neighbours
// ("fsp" for "fps") each count one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
