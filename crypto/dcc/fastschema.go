package dcc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The official schemas, compiled once into a tree of checks that walks
// the CBOR-decoded health certificate directly: no JSON tree is built, and
// a valid certificate costs no allocation beyond its decoding. It keeps
// exactly the checks of the jsonschema-based validator (compileSchema,
// with formats asserted) for the keywords the schemas use, and refuses to
// compile a schema with any other keyword that could refuse a document; a
// differential test over the corpus and a fuzz test hold the two to the
// same verdicts.

// jsonKind is a JSON type as "type" names it, as a bit.
type jsonKind uint8

const (
	kNull jsonKind = 1 << iota
	kBoolean
	kInteger // a number with no fractional part
	kNumber
	kString
	kArray
	kObject
)

// format is a "format" the schemas assert.
type format uint8

const (
	fmtNone format = iota
	fmtDate
	fmtDateTime
)

// check is one compiled schema (sub)document.
type check struct {
	types     jsonKind // 0: any
	required  []string
	props     map[string]*check
	items     *check
	minItems  int // -1: none
	maxItems  int
	maxLength int
	pattern   *regexp.Regexp
	format    format
	minimum   *float64
	maximum   *float64
	anyOf     []*check
	oneOf     []*check
	ref       *check
	refName   string
}

// annotations are keywords that never refuse a document.
var annotations = map[string]bool{
	"title": true, "description": true, "examples": true, "$comment": true,
	"$schema": true, "$id": true, "$defs": true, "valueset-uri": true,
}

// compileFast compiles a combined schema (one file, references only to its
// own $defs).
func compileFast(doc []byte) (*check, error) {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	defs, _ := root["$defs"].(map[string]any)
	compiled := map[string]*check{}
	var compile func(s map[string]any, at string) (*check, error)
	var pending []*check
	compile = func(s map[string]any, at string) (*check, error) {
		c := &check{minItems: -1, maxItems: -1, maxLength: -1}
		for k, v := range s {
			var err error
			switch k {
			case "type":
				switch t := v.(type) {
				case string:
					err = c.addType(t)
				case []any:
					for _, e := range t {
						name, _ := e.(string)
						if err = c.addType(name); err != nil {
							break
						}
					}
				default:
					err = fmt.Errorf("type %v", v)
				}
			case "required":
				l, _ := v.([]any)
				for _, e := range l {
					name, ok := e.(string)
					if !ok {
						return nil, fmt.Errorf("%s: required %v", at, v)
					}
					c.required = append(c.required, name)
				}
			case "properties":
				m, _ := v.(map[string]any)
				c.props = map[string]*check{}
				for name, ps := range m {
					sub, ok := ps.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("%s: property %s", at, name)
					}
					if c.props[name], err = compile(sub, at+"/properties/"+name); err != nil {
						return nil, err
					}
				}
			case "items":
				sub, ok := v.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: items %v", at, v)
				}
				c.items, err = compile(sub, at+"/items")
			case "minItems", "maxItems", "maxLength":
				f, ok := v.(float64)
				if !ok || f < 0 || f != math.Trunc(f) {
					return nil, fmt.Errorf("%s: %s %v", at, k, v)
				}
				switch k {
				case "minItems":
					c.minItems = int(f)
				case "maxItems":
					c.maxItems = int(f)
				default:
					c.maxLength = int(f)
				}
			case "minimum", "maximum":
				f, ok := v.(float64)
				if !ok {
					return nil, fmt.Errorf("%s: %s %v", at, k, v)
				}
				if k == "minimum" {
					c.minimum = &f
				} else {
					c.maximum = &f
				}
			case "pattern":
				p, _ := v.(string)
				c.pattern, err = regexp.Compile(p)
			case "format":
				switch v {
				case "date":
					c.format = fmtDate
				case "date-time":
					c.format = fmtDateTime
				default:
					err = fmt.Errorf("format %v", v)
				}
			case "anyOf", "oneOf":
				l, _ := v.([]any)
				for i, e := range l {
					sub, ok := e.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("%s: %s", at, k)
					}
					sc, err := compile(sub, fmt.Sprintf("%s/%s/%d", at, k, i))
					if err != nil {
						return nil, err
					}
					if k == "anyOf" {
						c.anyOf = append(c.anyOf, sc)
					} else {
						c.oneOf = append(c.oneOf, sc)
					}
				}
			case "$ref":
				r, _ := v.(string)
				name, ok := strings.CutPrefix(r, "#/$defs/")
				if !ok || defs[name] == nil {
					return nil, fmt.Errorf("%s: $ref %q", at, r)
				}
				c.refName = name
				pending = append(pending, c)
			default:
				if !annotations[k] {
					return nil, fmt.Errorf("%s: keyword %q is not supported", at, k)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", at, k, err)
			}
		}
		return c, nil
	}
	top, err := compile(root, "#")
	if err != nil {
		return nil, err
	}
	refs := slices.Clone(pending)
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		d, ok := compiled[c.refName]
		if !ok {
			sub, _ := defs[c.refName].(map[string]any)
			if sub == nil {
				return nil, fmt.Errorf("$defs/%s is not a schema", c.refName)
			}
			if d, err = compile(sub, "#/$defs/"+c.refName); err != nil {
				return nil, err
			}
			compiled[c.refName] = d
			refs = append(refs, pending...)
		}
		c.ref = d
	}
	for _, c := range refs {
		if c.types != 0 || c.required != nil || c.props != nil || c.items != nil || c.minItems >= 0 || c.maxItems >= 0 ||
			c.maxLength >= 0 || c.pattern != nil || c.format != fmtNone || c.minimum != nil || c.maximum != nil || c.anyOf != nil || c.oneOf != nil {
			return nil, fmt.Errorf("$ref to %s beside assertions is not supported", c.refName)
		}
	}
	return top, nil
}

func (c *check) addType(t string) error {
	switch t {
	case "null":
		c.types |= kNull
	case "boolean":
		c.types |= kBoolean
	case "integer":
		c.types |= kInteger
	case "number":
		c.types |= kNumber | kInteger
	case "string":
		c.types |= kString
	case "array":
		c.types |= kArray
	case "object":
		c.types |= kObject
	default:
		return fmt.Errorf("unknown type %q", t)
	}
	return nil
}

// schemaFault is where the document fails its schema.
type schemaFault struct {
	path []string // from the root, built on the way out
	why  string
}

func (f *schemaFault) Error() string { return "at /" + strings.Join(f.path, "/") + ": " + f.why }

func fault(why string) *schemaFault { return &schemaFault{why: why} }

func (f *schemaFault) in(step string) *schemaFault {
	if f == quietFault {
		return f
	}
	f.path = append([]string{step}, f.path...)
	return f
}

// quietFault is the fault of a walk whose fault is not reported (an
// alternative of anyOf or oneOf): no allocation, no path.
var quietFault = &schemaFault{why: "does not match"}

// place is where a value sits, for the 1.0.x leniencies of lenientTree:
// dob, v[i].dt and r[i].fr/df/du are read as their date.
type place uint8

const (
	placeOther place = iota
	placeRoot
	placeDate   // a field lenientTree reads as its date
	placeGroupV // the value of the root's v
	placeGroupR
	placeEntryV // an entry of v
	placeEntryR
)

// field is the place of the value under key name of a map at at.
func (at place) field(name string) place {
	switch at {
	case placeRoot:
		switch name {
		case "dob":
			return placeDate
		case "v":
			return placeGroupV
		case "r":
			return placeGroupR
		}
	case placeEntryV:
		if name == "dt" {
			return placeDate
		}
	case placeEntryR:
		if name == "fr" || name == "df" || name == "du" {
			return placeDate
		}
	}
	return placeOther
}

// item is the place of an item of an array at at.
func (at place) item() place {
	switch at {
	case placeGroupV:
		return placeEntryV
	case placeGroupR:
		return placeEntryR
	}
	return placeOther
}

// validateFast checks the decoded hcert (as decMode decodes into any)
// against a compiled schema, with the leniencies of lenientTree for ver.
func validateFast(top *check, doc any, ver string) error {
	w := walker{lenient: lenientDates(ver)}
	if f := w.walk(top, doc, 0, placeRoot); f != nil {
		return f
	}
	return nil
}

type walker struct {
	lenient bool // 1.0.x dates
	quiet   bool // faults are not reported: return quietFault
}

// fault is a fault at the value being walked.
func (w walker) fault(why string) *schemaFault {
	if w.quiet {
		return quietFault
	}
	return &schemaFault{why: why}
}

// resolve follows $ref (a node with $ref has no assertion of its own).
func (c *check) resolve() *check {
	for c != nil && c.ref != nil {
		c = c.ref
	}
	return c
}

// isNull says whether v is null once toJSON has stripped its tags.
func isNull(v any, depth int) bool {
	for depth <= 32 {
		t, ok := v.(cbor.Tag)
		if !ok {
			return v == nil
		}
		v, depth = t.Content, depth+1
	}
	return false
}

// walk checks one value at nesting depth (as toJSON counts it). A nil
// check only checks that the value has a JSON form, as toJSON does for
// every part of the document.
func (w walker) walk(c *check, v any, depth int, at place) *schemaFault {
	if depth > 32 {
		return w.fault("nested too deeply")
	}
	c = c.resolve()
	switch x := v.(type) {
	case cbor.Tag:
		return w.walk(c, x.Content, depth+1, at)
	case map[any]any:
		return w.walkObject(c, x, depth, at)
	case []any:
		if c != nil {
			if c.types != 0 && c.types&kArray == 0 {
				return w.fault("wrong type")
			}
			if c.minItems >= 0 && len(x) < c.minItems {
				return w.fault("too few items")
			}
			if c.maxItems >= 0 && len(x) > c.maxItems {
				return w.fault("too many items")
			}
		}
		sub, next := (*check)(nil), at.item()
		if c != nil {
			sub = c.items
		}
		for i, e := range x {
			if f := w.walk(sub, e, depth+1, next); f != nil {
				return f.in(strconv.Itoa(i))
			}
		}
		return w.combinators(c, v, depth, at)
	}
	k, f := scalarKind(v)
	if f != nil || c == nil {
		return w.quietly(f)
	}
	if c.types != 0 && c.types&k == 0 {
		return w.fault("wrong type")
	}
	switch k {
	case kString:
		s := jsonString(v)
		if at == placeDate && w.lenient {
			s = dateOf(s)
		}
		if f := c.checkString(s); f != nil {
			return w.quietly(f)
		}
	case kInteger, kNumber:
		if f := c.checkNumber(v); f != nil {
			return w.quietly(f)
		}
	}
	return w.combinators(c, v, depth, at)
}

// quietly turns a fault into quietFault in a quiet walk.
func (w walker) quietly(f *schemaFault) *schemaFault {
	if f != nil && w.quiet {
		return quietFault
	}
	return f
}

// walkObject checks a map.
func (w walker) walkObject(c *check, m map[any]any, depth int, at place) *schemaFault {
	if len(m) > 0 {
		if f := checkKeys(m); f != nil {
			return w.quietly(f)
		}
	}
	skip := func(name string) bool { return at == placeRoot && nullGroup(m, name, depth) }
	if c != nil {
		if c.types != 0 && c.types&kObject == 0 {
			return w.fault("wrong type")
		}
		for _, r := range c.required {
			if !hasKey(m, r) || skip(r) {
				return w.fault("missing property " + r)
			}
		}
	}
	for k, e := range m {
		name, isString := k.(string)
		if !isString {
			name = fmt.Sprint(k)
		}
		if skip(name) {
			continue
		}
		var sub *check
		if c != nil {
			sub = c.props[name]
		}
		next := at.field(name)
		if f := w.walk(sub, e, depth+1, next); f != nil {
			return f.in(name)
		}
	}
	return w.combinators(c, m, depth, at)
}

// nullGroup says whether name is a v, t or r whose value is null, which
// lenientTree removes from the root.
func nullGroup(m map[any]any, name string, depth int) bool {
	if name != "v" && name != "t" && name != "r" {
		return false
	}
	e, ok := m[name]
	return ok && isNull(e, depth+1)
}

// combinators applies anyOf and oneOf.
func (w walker) combinators(c *check, v any, depth int, at place) *schemaFault {
	if c == nil || (len(c.anyOf) == 0 && len(c.oneOf) == 0) {
		return nil
	}
	quiet := w
	quiet.quiet = true
	if len(c.anyOf) > 0 {
		ok := false
		for _, s := range c.anyOf {
			if quiet.walk(s, v, depth, at) == nil {
				ok = true
				break
			}
		}
		if !ok {
			return w.fault("matches none of anyOf")
		}
	}
	if len(c.oneOf) > 0 {
		n := 0
		for _, s := range c.oneOf {
			if quiet.walk(s, v, depth, at) == nil {
				n++
			}
		}
		if n != 1 {
			return w.fault("does not match exactly one of oneOf")
		}
	}
	return nil
}

// checkKeys refuses what toJSON refuses: keys that are not strings or
// integers, and two keys with the same text.
func checkKeys(m map[any]any) *schemaFault {
	allStrings := true
	for k := range m {
		switch k.(type) {
		case string:
		case int64, uint64:
			allStrings = false
		default:
			return fault(fmt.Sprintf("map key of type %T", k))
		}
	}
	if allStrings {
		return nil
	}
	seen := make(map[string]bool, len(m))
	for k := range m {
		s, ok := k.(string)
		if !ok {
			s = fmt.Sprint(k)
		}
		if seen[s] {
			return fault("duplicate key " + strconv.Quote(s))
		}
		seen[s] = true
	}
	return nil
}

func hasKey(m map[any]any, name string) bool {
	if _, ok := m[name]; ok {
		return true
	}
	for k := range m {
		switch x := k.(type) {
		case int64:
			if strconv.FormatInt(x, 10) == name {
				return true
			}
		case uint64:
			if strconv.FormatUint(x, 10) == name {
				return true
			}
		}
	}
	return false
}

// scalarKind is the JSON type toJSON gives a scalar, or the fault toJSON
// finds.
func scalarKind(v any) (jsonKind, *schemaFault) {
	switch x := v.(type) {
	case nil:
		return kNull, nil
	case bool:
		return kBoolean, nil
	case string, []byte, time.Time:
		return kString, nil
	case int64, uint64, big.Int:
		return kInteger, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fault("number has no JSON form")
		}
		if x == math.Trunc(x) {
			return kInteger, nil
		}
		return kNumber, nil
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fault("number has no JSON form")
		}
		if f == math.Trunc(f) {
			return kInteger, nil
		}
		return kNumber, nil
	}
	return 0, fault(fmt.Sprintf("CBOR value of type %T has no JSON form", v))
}

// jsonString is the text toJSON gives a string-like value.
func jsonString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

func (c *check) checkString(s string) *schemaFault {
	{
		if c.maxLength >= 0 && utf8.RuneCountInString(s) > c.maxLength {
			return fault("too long")
		}
		if c.pattern != nil && !c.pattern.MatchString(s) {
			return fault("does not match its pattern")
		}
		switch c.format {
		case fmtDate:
			if !isDate(s) {
				return fault("not a date")
			}
		case fmtDateTime:
			if !isDateTime(s) {
				return fault("not a date-time")
			}
		}
	}
	return nil
}

func (c *check) checkNumber(v any) *schemaFault {
	{
		if c.minimum != nil && compareNumber(v, *c.minimum) < 0 {
			return fault("below the minimum")
		}
		if c.maximum != nil && compareNumber(v, *c.maximum) > 0 {
			return fault("above the maximum")
		}
	}
	return nil
}

// compareNumber compares a decoded number with a bound, exactly.
func compareNumber(v any, bound float64) int {
	var x big.Float
	switch n := v.(type) {
	case int64:
		if b := int64(bound); float64(b) == bound && bound > -1<<62 && bound < 1<<62 {
			return cmpInt(n, b)
		}
		x.SetInt64(n)
	case uint64:
		if bound < 0 {
			return 1
		}
		if b := uint64(bound); float64(b) == bound && bound < 1<<62 {
			switch {
			case n < b:
				return -1
			case n > b:
				return 1
			}
			return 0
		}
		x.SetUint64(n)
	case float64:
		x.SetFloat64(n)
	case float32:
		x.SetFloat64(float64(n))
	case big.Int:
		x.SetInt(&n)
	}
	return x.Cmp(big.NewFloat(bound))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isDate is RFC 3339 full-date, as the jsonschema validator checks it.
func isDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// isDateTime is RFC 3339 date-time, as the jsonschema validator checks it
// (leap seconds only at 23:59 UTC).
func isDateTime(s string) bool {
	if len(s) < 20 || (s[10] != 't' && s[10] != 'T') || !isDate(s[:10]) {
		return false
	}
	return isTime(s[11:])
}

func isTime(str string) bool {
	if len(str) < 9 || str[2] != ':' || str[5] != ':' {
		return false
	}
	var hms [3]int
	rest := str[:8]
	for i := range 3 {
		tok := rest
		if i < 2 {
			j := strings.IndexByte(rest, ':')
			tok, rest = rest[:j], rest[j+1:]
		}
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return false
		}
		hms[i] = n
	}
	h, m, s := hms[0], hms[1], hms[2]
	if h > 23 || m > 59 || s > 60 {
		return false
	}
	str = str[8:]
	if rem, ok := strings.CutPrefix(str, "."); ok {
		n := 0
		for n < len(rem) && rem[n] >= '0' && rem[n] <= '9' {
			n++
		}
		if n == 0 {
			return false
		}
		str = rem[n:]
	}
	if str != "z" && str != "Z" {
		if len(str) != 6 {
			return false
		}
		var sign int
		switch str[0] {
		case '+':
			sign = -1
		case '-':
			sign = +1
		default:
			return false
		}
		str = str[1:]
		if str[2] != ':' {
			return false
		}
		j := strings.IndexByte(str, ':')
		zh, err1 := strconv.Atoi(str[:j])
		zm, err2 := strconv.Atoi(str[j+1:])
		if err1 != nil || err2 != nil || zh < 0 || zm < 0 || zh > 23 || zm > 59 {
			return false
		}
		hm := (h*60 + m) + sign*(zh*60+zm)
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}
	return s < 60 || (h == 23 && m == 59)
}
