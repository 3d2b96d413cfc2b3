package dcc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sentinel/internal/corpustest"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// sameVerdict runs both validators on raw for ver and reports a
// disagreement on accept/refuse.
func sameVerdict(t testing.TB, raw []byte, ver, what string) bool {
	t.Helper()
	fast, ref := validateSchema(raw, ver), validateSchemaJSON(raw, ver)
	if (fast == nil) != (ref == nil) {
		t.Errorf("%s (ver %q): compiled validator says %v, jsonschema says %v\n%x", what, ver, fast, ref, raw)
		return false
	}
	return true
}

// mutations returns variants of a decoded hcert: each leaf replaced by
// values that probe the schemas' keywords (types, lengths, patterns,
// formats, bounds), each array emptied and doubled, each map field
// removed and null.
func mutations(doc any) []any {
	values := []any{nil, "", "x", "1980", "1980-04-12", "1980-13-01", "1980-04-12T10:00:00Z", "1980-04-12T10:00:00+0200",
		"2021-05-10T23:59:60Z", "2021-05-10t10:00:00.5-02:00", "ab" + strings.Repeat("é", 60), "EU/1/20/1528", "AT",
		uint64(0), uint64(1), uint64(10), int64(-1), 1.5, 2.0, true, []any{}, map[any]any{}, []byte{1, 2, 3},
		cbor.Tag{Number: 1004, Content: "1980-04-12"}, time.Date(2021, 5, 10, 10, 0, 0, 0, time.UTC)}
	var out []any
	var rec func(v any, set func(any))
	rec = func(v any, set func(any)) {
		switch x := v.(type) {
		case map[any]any:
			for k, e := range x {
				rec(e, func(n any) { x[k] = n; set(x); x[k] = e })
				delete(x, k)
				set(x)
				x[k] = e
			}
		case []any:
			for i, e := range x {
				rec(e, func(n any) { x[i] = n; set(x); x[i] = e })
			}
			set([]any{})
			set(append(append([]any{}, x...), x...))
		default:
			for _, n := range values {
				set(n)
			}
		}
	}
	rec(doc, func(any) {
		b, err := cbor.Marshal(doc)
		if err == nil {
			var c any
			if decMode.Unmarshal(b, &c) == nil {
				out = append(out, c)
			}
		}
	})
	return out
}

// TestSchemaDifferential: the compiled validator and the jsonschema one
// agree on every certificate of the EU DCC corpus, under its own ver and
// under every embedded version, and on mutations of each distinct payload.
func TestSchemaDifferential(t *testing.T) {
	for _, sv := range schemas() {
		if _, err := sv.fast(); err != nil {
			t.Fatalf("schema %s does not compile: %v", sv.name, err)
		}
	}
	vers := append(SchemaVersions(), "1.0.5", "2.0.0")
	var raws [][]byte
	for _, h := range []*HCert{vaccination(), testCert(), recovery()} {
		b, err := cbor.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	// Without the corpus the test runs on our own certificates (and fails
	// under CI=true).
	dir, ok := corpustest.Lookup(t, "eu-dcc")
	if !ok {
		t.Logf("SKIPPING the corpus part: eu-dcc not found at %s", dir)
	}
	if ok {
		for _, rel := range corpusCases(t, dir) {
			b, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			var c corpusCase
			if json.Unmarshal(b, &c) != nil {
				continue
			}
			msg, err := hex.DecodeString(c.COSE)
			if err != nil {
				continue
			}
			var u Unverified
			if u.parseCOSE(msg) != nil {
				continue
			}
			if claims, err := decodeClaims(u.msg.Payload); err == nil {
				raws = append(raws, claims.HCert.V1)
			}
		}
	}
	seen := map[string]bool{}
	cases, mutated, distinct := 0, 0, 0
	for _, raw := range raws {
		if seen[string(raw)] {
			continue
		}
		seen[string(raw)] = true
		distinct++
		var doc map[any]any
		ver := ""
		if decMode.Unmarshal(raw, &doc) == nil {
			ver, _ = doc["ver"].(string)
		}
		for _, v := range append([]string{ver}, vers...) {
			cases++
			sameVerdict(t, raw, v, "corpus payload")
		}
		if doc == nil || t.Failed() {
			continue
		}
		// Mutations of one payload per shape (version and groups), to
		// keep the test short.
		shape := ver
		for _, g := range []string{"v", "t", "r"} {
			if _, ok := doc[g]; ok {
				shape += g
			}
		}
		if seen["shape "+shape] {
			continue
		}
		seen["shape "+shape] = true
		var tree any = doc
		for i, m := range mutations(tree) {
			b, err := cbor.Marshal(m)
			if err != nil {
				continue
			}
			mutated++
			if !sameVerdict(t, b, ver, fmt.Sprintf("mutation %d", i)) {
				return
			}
		}
	}
	t.Logf("%d distinct payloads, %d verdicts compared under their ver and every schema version, %d mutations", distinct, cases, mutated)
}

// FuzzSchema: on any CBOR, under any version, the compiled validator and
// the jsonschema one give the same verdict.
func FuzzSchema(f *testing.F) {
	for _, h := range []*HCert{vaccination(), testCert(), recovery()} {
		b, _ := cbor.Marshal(h)
		f.Add(b, "1.3.0")
		f.Add(b, "1.0.0")
		for i, m := range mutations(mustDecode(b)) {
			if i%7 == 0 {
				mb, _ := cbor.Marshal(m)
				f.Add(mb, "1.0.0")
				f.Add(mb, "1.2.1")
			}
		}
	}
	f.Add([]byte{0xa0}, "1.3.0")
	f.Fuzz(func(t *testing.T, raw []byte, ver string) {
		if len(raw) > 4096 {
			return
		}
		sameVerdict(t, raw, ver, "fuzz input")
	})
}

func mustDecode(b []byte) any {
	var v any
	_ = decMode.Unmarshal(b, &v)
	return v
}
