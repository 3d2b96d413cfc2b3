package valueset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors a *ParseError wraps, for errors.Is.
var (
	ErrSyntax   = errors.New("not well-formed JSON")
	ErrTooLarge = errors.New("too large")
	ErrShape    = errors.New("not in the value-set format") // a key missing, unknown, twice, or of the wrong type
	ErrValue    = errors.New("invalid value")               // a date, code or text out of bounds
)

// ParseError says where a value-set file is wrong and what is wrong.
type ParseError struct {
	File      string // the file, when known
	Line, Col int    // 1-based; 0 when not known
	Path      string // JSON pointer to the place, e.g. /valueSetValues/AD/active
	Err       error  // wraps one of ErrSyntax, ErrTooLarge, ErrShape, ErrValue
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	b.WriteString("value set")
	if e.Path != "" {
		b.WriteString(" at " + e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads one value-set file strictly (see the package documentation).
func Parse(data []byte) (*Set, error) {
	if len(data) > MaxFileSize {
		return nil, &ParseError{Err: fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxFileSize)}
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	s, err := p.file()
	if err != nil {
		return nil, err
	}
	s.Raw = data
	return s, nil
}

type parser struct {
	data []byte
	dec  *json.Decoder
	path []string
}

// fail builds a *ParseError at the decoder's position.
func (p *parser) fail(kind error, format string, args ...any) error {
	off := int(p.dec.InputOffset())
	line, col := position(p.data, off)
	path := ""
	if len(p.path) > 0 {
		path = "/" + strings.Join(p.path, "/")
	}
	return &ParseError{Line: line, Col: col, Path: path, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

// position turns a byte offset into a line and a column (in characters).
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

func (p *parser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, p.fail(ErrSyntax, "the file ends too early")
		}
		return nil, p.fail(ErrSyntax, "%v", err)
	}
	return t, nil
}

func (p *parser) delim(want json.Delim, what string) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return p.fail(ErrShape, "%s must be a JSON %s, not %s", what, kindOfDelim(want), describe(t))
	}
	return nil
}

func kindOfDelim(d json.Delim) string {
	if d == '{' {
		return "object"
	}
	return "array"
}

// describe names a token's type, never its value beyond a short quote.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		if v == '[' {
			return "an array"
		}
		return string(v)
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

func (p *parser) str(what string) (string, error) {
	t, err := p.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", p.fail(ErrShape, "%s must be a string, not %s", what, describe(t))
	}
	return s, nil
}

// objectKeys calls f for each key of an object whose '{' was read,
// refusing a key twice.
func (p *parser) objectKeys(f func(key string) error) error {
	seen := map[string]bool{}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return err
		}
		k := t.(string) // the decoder gives only strings as keys
		p.path = append(p.path, escapePointer(k))
		if seen[k] {
			return p.fail(ErrShape, "key %q appears twice", clip(k))
		}
		seen[k] = true
		if err := f(k); err != nil {
			return err
		}
		p.path = p.path[:len(p.path)-1]
	}
	_, err := p.token() // '}'
	return err
}

func (p *parser) file() (*Set, error) {
	if err := p.delim('{', "a value-set file"); err != nil {
		return nil, err
	}
	s := &Set{}
	var have struct{ id, date, values bool }
	err := p.objectKeys(func(k string) error {
		var err error
		switch k {
		case "valueSetId":
			have.id = true
			if s.ID, err = p.str("valueSetId"); err != nil {
				return err
			}
			if s.ID == "" || len(s.ID) > MaxCodeLen || !printable(s.ID) {
				return p.fail(ErrValue, "valueSetId must be 1 to %d printable characters", MaxCodeLen)
			}
		case "valueSetDate":
			have.date = true
			if s.Date, err = p.str("valueSetDate"); err != nil {
				return err
			}
			if !isDate(s.Date) {
				return p.fail(ErrValue, "valueSetDate %q is not a date (YYYY-MM-DD)", clip(s.Date))
			}
		case "valueSetValues":
			have.values = true
			if s.Codes, err = p.values(); err != nil {
				return err
			}
		default:
			return p.fail(ErrShape, "unknown key %q (a value set holds valueSetId, valueSetDate and valueSetValues)", clip(k))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, p.fail(ErrSyntax, "more after the value set's closing brace")
	}
	for _, m := range []struct {
		ok   bool
		name string
	}{{have.id, "valueSetId"}, {have.date, "valueSetDate"}, {have.values, "valueSetValues"}} {
		if !m.ok {
			return nil, &ParseError{Line: 1, Col: 1, Err: fmt.Errorf("%w: %s is missing", ErrShape, m.name)}
		}
	}
	return s, nil
}

func (p *parser) values() (map[string]Entry, error) {
	if err := p.delim('{', "valueSetValues"); err != nil {
		return nil, err
	}
	codes := map[string]Entry{}
	err := p.objectKeys(func(code string) error {
		if code == "" || len(code) > MaxCodeLen || !printable(code) {
			return p.fail(ErrValue, "a code must be 1 to %d printable characters", MaxCodeLen)
		}
		if len(codes) >= MaxCodes {
			return p.fail(ErrTooLarge, "more than %d codes", MaxCodes)
		}
		e, err := p.entry()
		if err != nil {
			return err
		}
		codes[code] = e
		return nil
	})
	return codes, err
}

func (p *parser) entry() (Entry, error) {
	var e Entry
	if err := p.delim('{', "a code's entry"); err != nil {
		return e, err
	}
	var have struct{ display, lang, active, version, system bool }
	err := p.objectKeys(func(k string) error {
		var err error
		text := func(dst *string, flag *bool) error {
			*flag = true
			if *dst, err = p.str(k); err != nil {
				return err
			}
			if len(*dst) > maxText || !utf8.ValidString(*dst) {
				return p.fail(ErrValue, "%s is longer than %d bytes or not UTF-8", k, maxText)
			}
			return nil
		}
		switch k {
		case "display":
			return text(&e.Display, &have.display)
		case "lang":
			return text(&e.Lang, &have.lang)
		case "version":
			return text(&e.Version, &have.version)
		case "system":
			return text(&e.System, &have.system)
		case "active":
			have.active = true
			t, err := p.token()
			if err != nil {
				return err
			}
			b, ok := t.(bool)
			if !ok {
				return p.fail(ErrShape, "active must be true or false, not %s", describe(t))
			}
			e.Active = b
		case "validUntil":
			if e.ValidUntil, err = p.str(k); err != nil {
				return err
			}
			if !isDate(e.ValidUntil) {
				return p.fail(ErrValue, "validUntil %q is not a date (YYYY-MM-DD)", clip(e.ValidUntil))
			}
		default:
			return p.fail(ErrShape, "unknown key %q in a code's entry (display, lang, active, version, system, validUntil)", clip(k))
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	for _, m := range []struct {
		ok   bool
		name string
	}{{have.display, "display"}, {have.lang, "lang"}, {have.active, "active"}, {have.version, "version"}, {have.system, "system"}} {
		if !m.ok {
			return e, p.fail(ErrShape, "the entry has no %s", m.name)
		}
	}
	return e, nil
}

func isDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// printable reports whether s is valid UTF-8 without control characters
// or spaces at its ends.
func printable(s string) bool {
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// clip shortens outside text quoted in an error.
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

func escapePointer(k string) string {
	k = strings.ReplaceAll(k, "~", "~0")
	return clip(strings.ReplaceAll(k, "/", "~1"))
}

// peekID reads a file's valueSetId without judging the rest: isSet is
// false for a well-formed JSON document that is no value set at all (no
// valueSetId and no valueSetValues), true otherwise (a file that is not
// well-formed is left to Parse to refuse).
func peekID(data []byte) (id string, isSet bool) {
	var head struct {
		ID     *string         `json:"valueSetId"`
		Values json.RawMessage `json:"valueSetValues"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", true
	}
	if head.ID == nil {
		return "", head.Values != nil
	}
	return *head.ID, true
}
