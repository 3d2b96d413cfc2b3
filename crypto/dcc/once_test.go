package dcc

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"sentinel/internal/corpustest"
)

// sameAsLibrary checks decodeOnce against the library path on one
// payload: whatever decodeOnce takes, decodeContent takes with the same
// content, and on a certificate decodeOnce takes, its schema verdict is
// validateSchema's. It returns whether decodeOnce took the payload.
func sameAsLibrary(t testing.TB, payload []byte) (taken, schemaOK bool) {
	t.Helper()
	var fast content
	ok, sok := decodeOnce(payload, &fast, true)
	if !ok {
		if sok {
			t.Fatalf("decodeOnce refused the payload but says its schema passes\n%x", payload)
		}
		return false, false
	}
	var lib content
	if err := decodeContent(payload, &lib); err != nil {
		t.Fatalf("decodeOnce took a payload the library refuses (%v)\n%x", err, payload)
	}
	if !reflect.DeepEqual(fast, lib) {
		t.Fatalf("decodeOnce and the library disagree:\n%#v\n%#v\n%x", fast, lib, payload)
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		t.Fatalf("decodeOnce took a payload whose claims the library refuses (%v)\n%x", err, payload)
	}
	serr := validateSchema(claims.HCert.V1, lib.HCert.Ver)
	if (serr == nil) != sok {
		t.Fatalf("schema: decodeOnce says pass=%v, validateSchema says %v\n%x", sok, serr, payload)
	}
	// With the schema skipped it takes the same payloads and says nothing
	// about the schema.
	var skipped content
	if ok, sok := decodeOnce(payload, &skipped, false); !ok || sok || !reflect.DeepEqual(skipped, fast) {
		t.Fatalf("decodeOnce without the schema: %v %v %#v", ok, sok, skipped)
	}
	return true, sok
}

// cwt makes a CWT payload around an hcert value.
func cwt(t testing.TB, hcert any) []byte {
	t.Helper()
	b, err := cbor.Marshal(map[any]any{uint64(1): "DE", uint64(4): uint64(vecExp.Unix()), uint64(6): uint64(vecIat.Unix()),
		int64(-260): map[any]any{uint64(1): hcert}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusPayloads returns the CWT payloads of the EU DCC corpus, distinct.
func corpusPayloads(t testing.TB) [][]byte {
	dir, ok := corpustest.Lookup(t, "eu-dcc")
	if !ok {
		t.Logf("SKIPPING the corpus part: eu-dcc not found at %s", dir)
		return nil
	}
	seen := map[string]bool{}
	var out [][]byte
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
		if u.parseCOSE(msg) != nil || seen[string(u.msg.Payload)] {
			continue
		}
		seen[string(u.msg.Payload)] = true
		out = append(out, u.msg.Payload)
	}
	return out
}

// TestDecodeOnceAgrees holds the fast path to the library's verdicts on
// our certificates, the corpus's payloads and mutations of their
// certificates, and checks that it takes what real issuers write.
func TestDecodeOnceAgrees(t *testing.T) {
	for _, h := range []*HCert{vaccination(), testCert(), recovery()} {
		p := cwt(t, h)
		if taken, sok := sameAsLibrary(t, p); !taken || !sok {
			t.Errorf("our %s certificate does not take the fast path (taken %v, schema %v)", h.Ver, taken, sok)
		}
		for _, m := range mutations(mustDecode(mustMarshal(t, h))) {
			sameAsLibrary(t, cwt(t, m))
		}
	}
	corpus := corpusPayloads(t)
	var taken, valid, validTaken, mutated int
	for _, p := range corpus {
		ok, sok := sameAsLibrary(t, p)
		var c content
		libValid := decodeContent(p, &c) == nil
		if libValid {
			claims, _ := decodeClaims(p)
			libValid = validateSchema(claims.HCert.V1, c.HCert.Ver) == nil
		}
		if ok {
			taken++
		}
		if libValid {
			valid++
			if ok && sok {
				validTaken++
			}
		}
		if claims, err := decodeClaims(p); err == nil && len(corpus) > 0 {
			for i, m := range mutations(mustDecode(claims.HCert.V1)) {
				if i%5 == 0 {
					sameAsLibrary(t, cwt(t, m))
					mutated++
				}
			}
		}
	}
	t.Logf("corpus: %d distinct payloads, %d taken by the fast path; %d valid by the library, %d of them decoded once; %d mutations compared",
		len(corpus), taken, valid, validTaken, mutated)
	// Most real certificates must take the fast path, or it speeds up
	// nothing but our own.
	if valid > 0 && validTaken*10 < valid*8 {
		t.Errorf("only %d of the corpus's %d valid certificates take the fast path", validTaken, valid)
	}
}

// TestDecodeOnceLeavesOddInput checks that what the library reads in its
// own way goes to it: case-folded field names, float dates and doses,
// tags, indefinite lengths, duplicate keys, text claim keys.
func TestDecodeOnceLeavesOddInput(t *testing.T) {
	h := mustDecode(mustMarshal(t, vaccination())).(map[any]any)
	with := func(k, v any) map[any]any {
		m := map[any]any{}
		for a, b := range h {
			m[a] = b
		}
		m[k] = v
		return m
	}
	entry := h["v"].([]any)[0].(map[any]any)
	floatDose := map[any]any{}
	for a, b := range entry {
		floatDose[a] = b
	}
	floatDose["dn"] = 1.0
	cases := map[string][]byte{
		"case-folded key":   cwt(t, with("VER", "1.3.0")),
		"float dose":        cwt(t, with("v", []any{floatDose})),
		"tagged date":       cwt(t, with("dob", cbor.Tag{Number: 1004, Content: "1980-04-12"})),
		"null group":        cwt(t, with("r", nil)),
		"byte string":       cwt(t, with("xx", []byte{1})),
		"float expiry":      mustMarshal(t, map[any]any{uint64(4): 1.9e9, int64(-260): map[any]any{uint64(1): h}}),
		"text claim key":    mustMarshal(t, map[any]any{"4": uint64(1), int64(-260): map[any]any{uint64(1): h}}),
		"indefinite":        append([]byte{0xbf}, append(mustMarshal(t, map[any]any{int64(-260): map[any]any{uint64(1): h}})[1:], 0xff)...),
		"duplicate claim":   {0xa2, 0x01, 0x62, 'D', 'E', 0x01, 0x62, 'F', 'R'},
		"trailing bytes":    append(cwt(t, h), 0x00),
		"no health cert":    mustMarshal(t, map[any]any{uint64(1): "DE"}),
		"not a map":         {0x80},
		"invalid UTF-8":     cwt(t, with("dob", string([]byte{0xff}))),
		"dose beyond int32": cwt(t, with("v", []any{with2(entry, "dn", uint64(1)<<40)})),
	}
	for name, p := range cases {
		var c content
		if ok, _ := decodeOnce(p, &c, true); ok {
			t.Errorf("%s: the fast path took it", name)
		}
		sameAsLibrary(t, p)
	}
}

func with2(m map[any]any, k, v any) map[any]any {
	out := map[any]any{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeOnce: on any payload, what the fast path takes, the library
// takes with the same content and schema verdict.
func FuzzDecodeOnce(f *testing.F) {
	_, payloads := fuzzSeeds(f)
	for _, p := range payloads {
		f.Add(p)
	}
	for _, h := range []*HCert{vaccination(), testCert(), recovery()} {
		f.Add(cwt(f, h))
		for i, m := range mutations(mustDecode(mustMarshal(f, h))) {
			if i%9 == 0 {
				f.Add(cwt(f, m))
			}
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 4096 {
			return
		}
		sameAsLibrary(t, payload)
	})
}

// TestParseVersion: MAJOR.MINOR.PATCH, digits only, three parts.
func TestParseVersion(t *testing.T) {
	for s, want := range map[string]bool{"1.3.0": true, "1.0.5": true, "10.20.30": true, "2.0.0": true,
		"1.3": false, "1.3.0.1": false, "1.3.": false, ".1.3": false, "1..3": false, "1.3.+0": false, "1.3.-1": false,
		"": false, "a.b.c": false, "1.3.0 ": false} {
		v, ok := parseVersion(s)
		if ok != want {
			t.Errorf("parseVersion(%q) = %v %v, want ok %v", s, v, ok, want)
		}
	}
	if v, _ := parseVersion("10.20.30"); v != [3]int{10, 20, 30} {
		t.Errorf("parseVersion(10.20.30) = %v", v)
	}
}
