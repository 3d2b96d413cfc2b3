package firmwareconfig

import (
	"errors"
	"fmt"
	"strings"
)

// Errors that ParseConfig and Load return before looking at the keys.
var (
	// ErrTooLarge is returned for a file larger than 256 KiB, which cannot
	// be a terminal's configuration.
	ErrTooLarge = errors.New("config: file larger than 256 KiB: is this the right file?")
	// ErrNotUTF8 is returned for a file that is not UTF-8 text.
	ErrNotUTF8 = errors.New("config: file is not UTF-8 text: save it as UTF-8")
)

// SyntaxError is a TOML syntax error, or a TOML rule broken (such as a key
// defined twice).
type SyntaxError struct {
	Line   int    // line of the error, from 1
	Column int    // column of the error, from 1; 0 when unknown
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("config line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("config line %d: %s", e.Line, e.Msg)
}

// KeyError is a key the file may not have: a typo, a key of another place,
// or a site setting that belongs to the config bundle.
type KeyError struct {
	Line int    // line of the key, from 1
	Key  string // the key as a path, e.g. lane[0].scaner
	// Suggestion is the closest known key at the same place, or empty.
	Suggestion string
	// InBundle is set for site settings that ops manage (site type,
	// thresholds, retention, language, time zone): they come in the config
	// bundle from the central system, never from this file.
	InBundle bool
}

func (e *KeyError) Error() string {
	key := e.Key
	if !strings.ContainsRune(key, '"') {
		// A path with quoted parts already shows where each part ends.
		key = `"` + key + `"`
	}
	if e.InBundle {
		return fmt.Sprintf("config line %d: %s is a site setting that ops manage: it comes in the config bundle from the central system, not from this file; remove it", e.Line, key)
	}
	if e.Suggestion != "" {
		return fmt.Sprintf("config line %d: unknown key %s — did you mean %q?", e.Line, key, e.Suggestion)
	}
	return fmt.Sprintf("config line %d: unknown key %s", e.Line, key)
}

// ValidationError is a value that is not acceptable: of the wrong type, out
// of range, missing, or in conflict with another.
type ValidationError struct {
	// Line is the line of the value, from 1; 0 when unknown (a Config built
	// in code, or a required key that is missing from a block that is).
	Line int
	// Field is the key's path, e.g. lane[1].thermometer.address.
	Field string
	// Value is the value as written, or empty when the key is missing.
	Value string
	// Problem says what is wrong and, where it can, what to write instead.
	Problem string
}

func (e *ValidationError) Error() string {
	msg := e.Field + ": " + e.Problem
	if e.Line > 0 {
		return fmt.Sprintf("config line %d: %s", e.Line, msg)
	}
	return msg
}

// Problems is every problem found in one configuration, in the order of the
// file. It is the error that ParseConfig, Load and Validate return; use
// errors.As to reach it or the typed errors inside it.
type Problems []error

func (p Problems) Error() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (p Problems) Unwrap() []error { return p }

// problemLine returns the line a problem is on, or 0.
func problemLine(err error) int {
	var (
		se *SyntaxError
		ke *KeyError
		ve *ValidationError
	)
	switch {
	case errors.As(err, &se):
		return se.Line
	case errors.As(err, &ke):
		return ke.Line
	case errors.As(err, &ve):
		return ve.Line
	}
	return 0
}
