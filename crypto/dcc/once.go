package dcc

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"sentinel/crypto/cose"
)

// Decoding the payload once. Verify used to decode the CWT payload three
// times: into typed claims, into the JSON-like tree the schema walks, and
// the hcert alone for the schema. decodeOnce parses the payload's CBOR
// once into a flat list of items (no allocation beyond the list, which is
// pooled, and one string holding the text), builds the typed claims and
// health certificate from it and walks the compiled schema over it.
//
// It is a fast path, not a second decoder with its own verdicts: it
// accepts only payloads it can prove the library decodes the same way (a
// narrow subset: definite lengths, no tags, valid UTF-8, no duplicate or
// case-folded keys, integer claim keys, text keys in the certificate,
// values of the expected types, a certificate that follows its schema),
// and answers "not mine" for everything else, which then goes through
// the library as before (decodeContent, validateSchema) and gets its
// exact verdict and message. FuzzDecodeOnce holds it to that: whatever it
// accepts, the library path accepts with the same content.

// itemPool holds the item lists of decodeOnce.
var itemPool = sync.Pool{New: func() any { return &items{items: make([]item, 0, 128)} }}

// Kinds of parsed items.
const (
	iUint   uint8 = iota // major type 0: val
	iNeg                 // major type 1: -1-val
	iBytes               // major type 2: src[start:end]
	iText                // major type 3: src[start:end], valid UTF-8
	iArray               // major type 4: n items follow
	iMap                 // major type 5: n pairs follow
	iSimple              // false, true, null
	iFloat               // a float of any width (its value is not read)
)

// Bounds of the fast path, well inside the library's (MaxNestedLevels 16,
// MaxArrayElements and MaxMapPairs 4096): beyond them it answers "not
// mine".
const (
	onceMaxDepth = 12
	onceMaxCount = 256
	onceMaxItems = 1024
)

// item is one parsed CBOR data item.
type item struct {
	kind       uint8
	n          uint32 // array: items; map: pairs
	next       uint32 // index of the item after this one's subtree
	start, end uint32 // byte and text strings: the content in src
	val        uint64
}

// items is a parsed CBOR item and everything in it, in order.
type items struct {
	src   []byte
	text  string // src as a string: the strings of the typed content are slices of it
	items []item
}

// parse parses src, which must be exactly one data item of the subset.
func (t *items) parse(src []byte) bool {
	t.src, t.items = src, t.items[:0]
	end, ok := t.item(0, 1)
	return ok && end == len(src)
}

// item parses the item at src[pos:] at nesting depth and returns the
// position after it.
func (t *items) item(pos, depth int) (int, bool) {
	src := t.src
	if pos >= len(src) || len(t.items) >= onceMaxItems {
		return 0, false
	}
	b := src[pos]
	major, ai := b>>5, b&0x1f
	pos++
	var arg uint64
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(src)-pos < n {
			return 0, false
		}
		for _, c := range src[pos : pos+n] {
			arg = arg<<8 | uint64(c)
		}
		pos += n
	default:
		return 0, false // reserved, or indefinite length
	}
	i := len(t.items)
	t.items = append(t.items, item{kind: major, val: arg})
	switch major {
	case 0, 1:
	case 2, 3:
		if arg > uint64(len(src)-pos) {
			return 0, false
		}
		end := pos + int(arg)
		if major == 3 && !utf8.Valid(src[pos:end]) {
			return 0, false
		}
		t.items[i].start, t.items[i].end = uint32(pos), uint32(end)
		pos = end
	case 4, 5:
		if depth >= onceMaxDepth || arg > onceMaxCount {
			return 0, false
		}
		t.items[i].n = uint32(arg)
		n := int(arg)
		if major == 5 {
			n *= 2
		}
		var ok bool
		for range n {
			if pos, ok = t.item(pos, depth+1); !ok {
				return 0, false
			}
		}
		if major == 5 && t.dupKeys(i) {
			return 0, false
		}
	case 7:
		switch {
		case ai >= 20 && ai <= 22:
			t.items[i].kind = iSimple
		case ai >= 25 && ai <= 27:
			t.items[i].kind = iFloat
		default:
			return 0, false // undefined, other simple values
		}
	default:
		return 0, false // tags
	}
	t.items[i].next = uint32(len(t.items))
	return pos, true
}

// dupKeys reports whether the map at i has two keys of the same value,
// or a key that is neither an integer nor a text (which the fast path
// does not compare).
func (t *items) dupKeys(i int) bool {
	n := int(t.items[i].n)
	var keys [onceMaxCount]int32
	k := i + 1
	for p := range n {
		keys[p] = int32(k)
		switch t.items[k].kind {
		case iUint, iNeg, iText:
		default:
			return true
		}
		k = int(t.items[t.items[k].next].next)
	}
	for a := range n {
		ka := &t.items[keys[a]]
		for b := a + 1; b < n; b++ {
			kb := &t.items[keys[b]]
			if ka.kind != kb.kind {
				continue
			}
			if ka.kind == iText {
				if bytes.Equal(t.src[ka.start:ka.end], t.src[kb.start:kb.end]) {
					return true
				}
			} else if ka.val == kb.val {
				return true
			}
		}
	}
	return false
}

// str is a text's value, a slice of t.text.
func (t *items) str(it *item) string { return t.text[it.start:it.end] }

// int returns an integer item's value when it fits an int64.
func (it *item) int() (int64, bool) {
	switch {
	case it.kind == iUint && it.val <= math.MaxInt64:
		return int64(it.val), true
	case it.kind == iNeg && it.val <= math.MaxInt64:
		return -1 - int64(it.val), true
	}
	return 0, false
}

// pairs calls fn with the index of each key and value of the map at i,
// until fn returns false; it reports whether every call returned true.
func (t *items) pairs(i int, fn func(k, v int) bool) bool {
	k := i + 1
	for range t.items[i].n {
		v := int(t.items[k].next)
		if !fn(k, v) {
			return false
		}
		k = int(t.items[v].next)
	}
	return true
}

// decodeOnce decodes a CWT payload into p when it is in the fast path's
// subset (see above), and reports whether it did. schemaOK reports that
// the certificate follows its schema (validateSchema's verdict); it is
// false when the schema was not walked or found a fault, and the caller
// then runs validateSchema for the verdict and its message.
func decodeOnce(payload []byte, p *content, walkSchema bool) (ok, schemaOK bool) {
	t := itemPool.Get().(*items)
	defer func() {
		t.src, t.text = nil, ""
		itemPool.Put(t)
	}()
	if !t.parse(payload) || t.items[0].kind != iMap {
		return false, false
	}
	t.text = string(payload)
	var (
		c     content
		hcert = -1
	)
	ok = t.pairs(0, func(k, v int) bool {
		key, isInt := t.items[k].int()
		if !isInt {
			return false
		}
		switch key {
		case 1:
			if t.items[v].kind != iText {
				return false
			}
			c.Issuer = t.str(&t.items[v])
		case 4, 6:
			n, isInt := t.items[v].int()
			if !isInt {
				return false // a float date: the library reads it
			}
			if key == 4 {
				c.Expires = cose.NumericDate(n).Time()
			} else {
				c.IssuedAt = cose.NumericDate(n).Time()
			}
		case -260:
			if t.items[v].kind != iMap {
				return false
			}
			return t.pairs(v, func(k, v int) bool {
				key, isInt := t.items[k].int()
				if !isInt {
					return false
				}
				if key == 1 {
					hcert = v
					return t.items[v].kind == iMap && t.plain(v) && t.hcert(v, &c.HCert)
				}
				return true
			})
		}
		return true
	})
	if !ok || hcert < 0 {
		return false, false
	}
	*p = c
	if !walkSchema {
		return true, false
	}
	return true, t.schemaOK(hcert, c.HCert.Ver)
}

// plain reports whether the subtree at i holds only what the schema
// walker over items takes: maps with text keys, arrays, texts and
// integers that fit the library's int64 or uint64.
func (t *items) plain(i int) bool {
	for k := i; k < int(t.items[i].next); k++ {
		switch it := &t.items[k]; it.kind {
		case iUint, iText, iArray:
		case iNeg:
			if it.val > math.MaxInt64 {
				return false // a big.Int in the library's tree
			}
		case iMap:
			ok := t.pairs(k, func(k, _ int) bool { return t.items[k].kind == iText })
			if !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// fields returns the index of key among names, -2 when it matches none
// (an unknown key the library ignores), or -1 when it matches one only
// case-insensitively (the library would take it: not the fast path's).
func fields(key string, names []string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, key) {
			return -1
		}
	}
	return -2
}

var (
	hcertFields = []string{"ver", "nam", "dob", "v", "t", "r"}
	nameFields  = []string{"fn", "fnt", "gn", "gnt"}
	vaccFields  = []string{"tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"}
	testFields  = []string{"tg", "tt", "nm", "ma", "sc", "dr", "tr", "tc", "co", "is", "ci"}
	recFields   = []string{"tg", "fr", "co", "is", "df", "du", "ci"}
)

// text sets *s to the text at i.
func (t *items) textTo(i int, s *string) bool {
	if t.items[i].kind != iText {
		return false
	}
	*s = t.str(&t.items[i])
	return true
}

// object decodes the map at i as the library decodes it into a struct
// with the given field names: set is called with each known field's
// index and value.
func (t *items) object(i int, names []string, set func(f, v int) bool) bool {
	if t.items[i].kind != iMap {
		return false
	}
	return t.pairs(i, func(k, v int) bool {
		switch f := fields(t.str(&t.items[k]), names); f {
		case -1:
			return false
		case -2:
			return true
		default:
			return set(f, v)
		}
	})
}

// list decodes the array at i into a slice of n entries, as the library
// does (an empty array gives an empty, non-nil slice).
func list[E any](t *items, i int, entry func(k int, e *E) bool) ([]E, bool) {
	if t.items[i].kind != iArray {
		return nil, false
	}
	out := make([]E, t.items[i].n)
	k := i + 1
	for n := range out {
		if !entry(k, &out[n]) {
			return nil, false
		}
		k = int(t.items[k].next)
	}
	return out, true
}

// dose decodes an Int: an integer that fits an int32 (a float goes to the
// library).
func (t *items) dose(i int, d *Int) bool {
	n, ok := t.items[i].int()
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return false
	}
	*d = Int(n)
	return true
}

// hcert decodes the health certificate at i.
func (t *items) hcert(i int, h *HCert) bool {
	return t.object(i, hcertFields, func(f, v int) bool {
		var ok bool
		switch f {
		case 0:
			return t.textTo(v, &h.Ver)
		case 1:
			n := &h.Nam
			return t.object(v, nameFields, func(f, v int) bool {
				return t.textTo(v, [...]*string{&n.FN, &n.FNT, &n.GN, &n.GNT}[f])
			})
		case 2:
			return t.textTo(v, &h.DOB)
		case 3:
			h.V, ok = list(t, v, func(k int, e *Vaccination) bool {
				return t.object(k, vaccFields, func(f, v int) bool {
					switch f {
					case 4:
						return t.dose(v, &e.DN)
					case 5:
						return t.dose(v, &e.SD)
					}
					return t.textTo(v, [...]*string{&e.TG, &e.VP, &e.MP, &e.MA, nil, nil, &e.DT, &e.CO, &e.IS, &e.CI}[f])
				})
			})
		case 4:
			h.T, ok = list(t, v, func(k int, e *Test) bool {
				return t.object(k, testFields, func(f, v int) bool {
					return t.textTo(v, [...]*string{&e.TG, &e.TT, &e.NM, &e.MA, &e.SC, &e.DR, &e.TR, &e.TC, &e.CO, &e.IS, &e.CI}[f])
				})
			})
		case 5:
			h.R, ok = list(t, v, func(k int, e *Recovery) bool {
				return t.object(k, recFields, func(f, v int) bool {
					return t.textTo(v, [...]*string{&e.TG, &e.FR, &e.CO, &e.IS, &e.DF, &e.DU, &e.CI}[f])
				})
			})
		}
		return ok
	})
}

// schemaOK is validateSchema's verdict, for a certificate that plain
// accepted: the schema of its version, or else the newest one.
func (t *items) schemaOK(i int, ver string) bool {
	sv, err := schemaFor(ver)
	if err != nil {
		return false
	}
	top, err := sv.fast()
	if err != nil {
		return false
	}
	w := itemWalker{t: t, lenient: lenientDates(ver)}
	if w.walk(top, i, placeRoot) {
		return true
	}
	all := schemas()
	if newest := all[len(all)-1]; newest != sv {
		if nt, err := newest.fast(); err == nil && w.walk(nt, i, placeRoot) {
			return true
		}
	}
	return false
}

// itemWalker is walker over items instead of the library's tree: the
// same checks, in a subset (plain) where no value lacks a JSON form, no
// key is anything but a text, and no group is null.
type itemWalker struct {
	t       *items
	lenient bool // 1.0.x dates
}

// walk reports whether the value at i passes c.
func (w itemWalker) walk(c *check, i int, at place) bool {
	c = c.resolve()
	it := &w.t.items[i]
	switch it.kind {
	case iMap:
		return w.object(c, i, at)
	case iArray:
		if c != nil {
			n := int(it.n)
			if c.types != 0 && c.types&kArray == 0 || c.minItems >= 0 && n < c.minItems || c.maxItems >= 0 && n > c.maxItems {
				return false
			}
		}
		sub, next := (*check)(nil), at.item()
		if c != nil {
			sub = c.items
		}
		k := i + 1
		for range it.n {
			if !w.walk(sub, k, next) {
				return false
			}
			k = int(w.t.items[k].next)
		}
		return w.combinators(c, i, at)
	}
	if c == nil {
		return true
	}
	switch it.kind {
	case iText:
		if c.types != 0 && c.types&kString == 0 {
			return false
		}
		s := w.t.str(it)
		if at == placeDate && w.lenient {
			s = dateOf(s)
		}
		if c.checkString(s) != nil {
			return false
		}
	case iUint, iNeg:
		if c.types != 0 && c.types&kInteger == 0 {
			return false
		}
		if c.minimum != nil || c.maximum != nil {
			// The library's types: uint64 for major type 0, int64 for 1.
			var v any = it.val
			if it.kind == iNeg {
				v = -1 - int64(it.val)
			}
			if c.checkNumber(v) != nil {
				return false
			}
		}
	default:
		return false // plain lets nothing else through
	}
	return w.combinators(c, i, at)
}

// object is walkObject over items.
func (w itemWalker) object(c *check, i int, at place) bool {
	t := w.t
	if c != nil {
		if c.types != 0 && c.types&kObject == 0 {
			return false
		}
		for _, r := range c.required {
			found := !t.pairs(i, func(k, _ int) bool { return t.str(&t.items[k]) != r })
			if !found {
				return false
			}
		}
	}
	return t.pairs(i, func(k, v int) bool {
		name := t.str(&t.items[k])
		var sub *check
		if c != nil {
			sub = c.props[name]
		}
		next := at.field(name)
		return w.walk(sub, v, next)
	}) && w.combinators(c, i, at)
}

// combinators applies anyOf and oneOf.
func (w itemWalker) combinators(c *check, i int, at place) bool {
	if c == nil {
		return true
	}
	if len(c.anyOf) > 0 {
		ok := false
		for _, s := range c.anyOf {
			if w.walk(s, i, at) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(c.oneOf) > 0 {
		n := 0
		for _, s := range c.oneOf {
			if w.walk(s, i, at) {
				n++
			}
		}
		if n != 1 {
			return false
		}
	}
	return true
}
