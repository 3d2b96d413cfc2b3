package certlogic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Values. An expression evaluates to, and its data context holds, JSON
// values in this form:
//
//	nil                 null
//	bool                true, false
//	string
//	int64               an integral number (CertLogic knows integers only)
//	float64             a non-integral number of the data (neither truthy nor falsy)
//	[]any               an array
//	map[string]any      an object
//	DateTime            a date-time, made by plusTime or dccDateOfBirth only
//
// DecodeJSON and FromJSON produce it from JSON; Eval also reads the
// float64, int and json.Number that encoding/json or a caller may leave in
// data.

// DateTime is a date-time value: an instant with millisecond precision.
// Only plusTime and dccDateOfBirth make one; only after, before,
// not-after and not-before compare them.
type DateTime struct{ t time.Time }

// Time returns the instant, in UTC.
func (d DateTime) Time() time.Time { return d.t }

// MarshalJSON writes the date-time as the reference implementations print
// it: RFC 3339 in UTC with milliseconds.
func (d DateTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.t.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// MaxDataBytes bounds the JSON that DecodeJSON reads: a DCC payload is at
// most 64 KiB once inflated, and the value sets add a few hundred KiB.
const MaxDataBytes = 4 << 20

// ErrDataTooLarge is returned by DecodeJSON for more than MaxDataBytes.
var ErrDataTooLarge = errors.New("certlogic: data larger than 4 MiB")

// DecodeJSON decodes one JSON value into the value form above.
func DecodeJSON(b []byte) (any, error) {
	if len(b) > MaxDataBytes {
		return nil, ErrDataTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("certlogic: decode JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("certlogic: decode JSON: more than one value")
	}
	return normalise(v)
}

// normalise converts the numbers of a freshly decoded value in place, so
// that decoding a payload allocates no second copy.
func normalise(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return FromJSON(x)
	case []any:
		for i, e := range x {
			n, err := normalise(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case json.Number, []any, map[string]any:
				n, err := normalise(e)
				if err != nil {
					return nil, err
				}
				x[k] = n
			}
		}
	}
	return v, nil
}

// FromJSON converts a value decoded by encoding/json (numbers as float64
// or json.Number) into the value form above. It copies arrays and
// objects.
func FromJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, DateTime:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		return number(x), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("certlogic: number %s out of range", x)
		}
		return number(f), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := FromJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := FromJSON(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("certlogic: %T is not a JSON value", v)
}

// maxSafeInt is JavaScript's Number.MAX_SAFE_INTEGER: beyond it a number
// of the reference implementation is no longer an exact integer.
const maxSafeInt = 1<<53 - 1

// number returns an integral float as int64, as JavaScript (where 42.0 is
// 42) sees it.
func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInt {
		return int64(f)
	}
	return f
}

// asInt returns v as an integer when it is one.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if n, ok := number(x).(int64); ok {
			return n, true
		}
	case json.Number:
		if n, err := FromJSON(x); err == nil {
			i, ok := n.(int64)
			return i, ok
		}
	}
	return 0, false
}

// truthiness classifies v: CertLogic's truthy and falsy are disjoint and
// some values (a date-time, a non-integral number) are neither.
type truthiness int8

const (
	neither truthiness = iota
	truthy
	falsy
)

func truth(v any) truthiness {
	switch x := v.(type) {
	case nil:
		return falsy
	case bool:
		if x {
			return truthy
		}
		return falsy
	case string:
		if x == "" {
			return falsy
		}
		return truthy
	case []any:
		if len(x) == 0 {
			return falsy
		}
		return truthy
	case map[string]any:
		if len(x) == 0 {
			return falsy
		}
		return truthy
	}
	if n, ok := asInt(v); ok {
		if n == 0 {
			return falsy
		}
		return truthy
	}
	return neither
}

// strictEqual is JavaScript's === on the values CertLogic compares
// reliably (null, booleans, integers, strings; also non-integral numbers).
// Arrays, objects and date-times are never equal: JavaScript compares
// them by reference, which the specification leaves out.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any, map[string]any, DateTime:
		return false
	}
	if x, ok := asInt(a); ok {
		y, ok := asInt(b)
		return ok && x == y
	}
	if x, ok := a.(float64); ok {
		y, ok := b.(float64)
		return ok && x == y
	}
	return false
}

// describe names v's type for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case DateTime:
		return "a date-time"
	}
	if n, ok := asInt(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return "a non-integral number"
}
