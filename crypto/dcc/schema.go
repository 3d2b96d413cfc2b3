package dcc

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"sentinel/crypto/credential"
)

// schemaFS holds the official combined schemas, one directory per version.
//
//go:embed schema
var schemaFS embed.FS

// schemaVersion is one embedded schema, compiled on first use.
type schemaVersion struct {
	ver     [3]int
	name    string // "1.3.0"
	file    string // path in schemaFS
	compile func() (*jsonschema.Schema, error)
	fast    func() (*check, error)
}

// schemas lists the embedded versions in ascending order; built once, on
// first use.
var schemas = sync.OnceValue(func() []*schemaVersion {
	var out []*schemaVersion
	files, _ := fs.Glob(schemaFS, "schema/*/*.combined-schema.json")
	for _, f := range files {
		name := path.Base(path.Dir(f))
		v, ok := parseVersion(name)
		if !ok {
			continue
		}
		sv := &schemaVersion{ver: v, name: name, file: f}
		sv.compile = sync.OnceValues(func() (*jsonschema.Schema, error) { return compileSchema(sv.file) })
		sv.fast = sync.OnceValues(func() (*check, error) {
			b, err := schemaFS.ReadFile(sv.file)
			if err != nil {
				return nil, err
			}
			c, err := compileFast(b)
			if err != nil {
				return nil, fmt.Errorf("dcc: schema %s: %w", sv.file, err)
			}
			return c, nil
		})
		out = append(out, sv)
	}
	slices.SortFunc(out, func(a, b *schemaVersion) int { return compareVersion(a.ver, b.ver) })
	return out
})

func compileSchema(file string) (*jsonschema.Schema, error) {
	b, err := schemaFS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("dcc: schema %s: %w", file, err)
	}
	c := jsonschema.NewCompiler()
	// Draft 2020-12 makes "format" an annotation; EU verifiers' validators
	// assert it, and the schemas constrain dt, sc, fr, df and du (and the
	// 1.0.x dob, whose pattern is unanchored) by their format alone.
	c.AssertFormat()
	url := "mem:///" + file
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("dcc: schema %s: %w", file, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("dcc: schema %s: %w", file, err)
	}
	return s, nil
}

// SchemaVersions returns the schema versions embedded in the package, in
// ascending order.
func SchemaVersions() []string {
	var out []string
	for _, s := range schemas() {
		out = append(out, s.name)
	}
	return out
}

// parseVersion reads "MAJOR.MINOR.PATCH".
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	for i := range v {
		p := s
		if i < 2 {
			var ok bool
			if p, s, ok = strings.Cut(s, "."); !ok {
				return v, false
			}
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func compareVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return 0
}

// schemaFor picks the schema for a payload's ver: the newest embedded
// version at or below it. A version newer than any embedded one gets the
// newest schema; one older than 1.0.0 or malformed is refused.
func schemaFor(ver string) (*schemaVersion, error) {
	v, ok := parseVersion(ver)
	if !ok {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonSchema,
			"schema version %q is not MAJOR.MINOR.PATCH", ver)
	}
	all := schemas()
	for i := len(all) - 1; i >= 0; i-- {
		if compareVersion(all[i].ver, v) <= 0 {
			return all[i], nil
		}
	}
	return nil, credential.Reject(credential.FormatDCC, credential.ReasonSchema, "schema version %q is older than any known", ver)
}

// validateSchema checks the raw hcert CBOR against the official schema
// (stage "schema"): the schema of its version (see schemaFor) or, when
// that fails, the newest one. Later versions relaxed rules that issuers of
// 1.0.x certificates broke in the field (birth dates of year or year and
// month only, from 1.1.0; an empty one, from 1.3.0), and a certificate
// valid under today's schema is valid; nothing that the newest schema
// refuses is accepted on the strength of an older one alone, except what
// that older version itself allowed.
//
// The schemas run compiled into Go checks that walk the decoded CBOR
// (fastschema.go); validateSchemaJSON, the same through a JSON tree and
// the jsonschema library, is the reference they are tested against.
func validateSchema(raw []byte, ver string) error {
	sv, err := schemaFor(ver)
	if err != nil {
		return err
	}
	var doc any
	if err := decMode.Unmarshal(raw, &doc); err != nil {
		return credential.Reject(credential.FormatDCC, credential.ReasonSchema, "health certificate: %w", err)
	}
	top, err := sv.fast()
	if err != nil {
		return err // the embedded schemas compile (a test says so)
	}
	verr := validateFast(top, doc, ver)
	if verr == nil {
		return nil
	}
	all := schemas()
	if newest := all[len(all)-1]; newest != sv {
		if nt, err := newest.fast(); err == nil && validateFast(nt, doc, ver) == nil {
			return nil
		}
	}
	detail := "invalid"
	if f, ok := verr.(*schemaFault); ok {
		detail = "at /" + strings.Join(f.path, "/")
	}
	return credential.Reject(credential.FormatDCC, credential.ReasonSchema,
		"health certificate does not follow schema %s: %s", sv.name, detail)
}

// validateSchemaJSON is validateSchema through a JSON tree and the
// jsonschema library: slower, and the reference of the differential test.
func validateSchemaJSON(raw []byte, ver string) error {
	sv, err := schemaFor(ver)
	if err != nil {
		return err
	}
	doc, err := JSONTree(raw)
	if err != nil {
		return credential.Reject(credential.FormatDCC, credential.ReasonSchema, "health certificate: %w", err)
	}
	lenientTree(doc, ver)
	verr := sv.validate(doc)
	if verr == nil {
		return nil
	}
	all := schemas()
	if newest := all[len(all)-1]; newest != sv && newest.validate(doc) == nil {
		return nil
	}
	return credential.Reject(credential.FormatDCC, credential.ReasonSchema,
		"health certificate does not follow schema %s: %s", sv.name, schemaDetail(verr))
}

func (sv *schemaVersion) validate(doc any) error {
	sch, err := sv.compile()
	if err != nil {
		// The embedded schemas compile (a test says so); this would be a
		// broken build.
		return err
	}
	return sch.Validate(doc)
}

// schemaDetail shortens a validation error to its location and keyword,
// leaving out the values, which may be personal data.
func schemaDetail(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return "invalid"
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return "at /" + strings.Join(ve.InstanceLocation, "/")
}

// JSONTree decodes CBOR into the values encoding/json would produce for
// the same document (map[string]any, []any, string, bool, nil and numbers),
// for the schema check: map keys become strings, byte strings become
// base64, CBOR dates become RFC 3339 text, integers stay exact.
func JSONTree(raw []byte) (any, error) {
	var v any
	if err := decMode.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return toJSON(v, 0)
}

func toJSON(v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("nested too deeply")
	}
	switch x := v.(type) {
	case nil, bool, string, int64, uint64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number %v has no JSON form", x)
		}
		return x, nil
	case float32:
		return toJSON(float64(x), depth)
	case big.Int:
		return json.Number(x.String()), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case cbor.Tag:
		return toJSON(x.Content, depth+1)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			j, err := toJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case int64, uint64:
				ks = fmt.Sprint(kk)
			default:
				return nil, fmt.Errorf("map key of type %T", k)
			}
			if _, dup := out[ks]; dup {
				return nil, fmt.Errorf("duplicate key %q", ks)
			}
			j, err := toJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[ks] = j
		}
		return out, nil
	}
	return nil, fmt.Errorf("CBOR value of type %T has no JSON form", v)
}
