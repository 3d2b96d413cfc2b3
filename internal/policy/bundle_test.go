package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sentinel/crypto/cose"
	"sentinel/internal/corpustest"
	"sentinel/internal/siteconfig"
)

func TestBundleRoundTrip(t *testing.T) {
	for _, site := range siteconfig.SiteTypes() {
		t.Run(string(site), func(t *testing.T) {
			b, err := DefaultBundle(site)
			if err != nil {
				t.Fatal(err)
			}
			b.Version = "2026-11-29.1"
			b.Residents = []string{"ZJ:9", "ZJ:10", "p:00112233445566778899aabbccddeeff", "ZJ:9"}
			payload, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseBundle(payload)
			if err != nil {
				t.Fatal(err)
			}
			want := *b
			want.Residents = []string{"ZJ:10", "ZJ:9", "p:00112233445566778899aabbccddeeff"}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("got %+v, want %+v", got, &want)
			}
			if got.Fever != DefaultFever {
				t.Errorf("got fever %s, want %s exactly", got.Fever, DefaultFever)
			}
			again, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, payload) {
				t.Errorf("re-marshalled payload differs: the encoding is not deterministic")
			}
			if err := Compile(payload); err != nil {
				t.Errorf("Compile = %v, want nil", err)
			}
		})
	}
}

func TestParseBundleErrors(t *testing.T) {
	good := func() bundleWire {
		return bundleWire{Site: "supermarket", Version: "1", Rules: "default refer x\n", Fever: 3730, Thermo: "refer", Yellow: "deny", Paper: true}
	}
	enc := func(v any) []byte {
		b, err := cose.EncMode().Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		payload []byte
		field   string // named in the error
	}{
		{"not CBOR", []byte("rule a"), ""},
		{"empty", nil, ""},
		{"too large", make([]byte, MaxPayload+1), "bytes"},
		{"duplicate key", []byte{0xa2, 0x01, 0x61, 'x', 0x01, 0x61, 'y'}, ""},
		{"unknown site", enc(func() bundleWire { w := good(); w.Site = "bank"; return w }()), "site_type"},
		{"no rules", enc(func() bundleWire { w := good(); w.Rules = " \n"; return w }()), "rules"},
		{"fever too low", enc(func() bundleWire { w := good(); w.Fever = 3000; return w }()), "fever"},
		{"fever absurd", enc(func() bundleWire { w := good(); w.Fever = 1 << 60; return w }()), "fever"},
		{"bad yellow", enc(func() bundleWire { w := good(); w.Yellow = "maybe"; return w }()), "yellow"},
		{"bad thermometer action", enc(func() bundleWire { w := good(); w.Thermo = ""; return w }()), "thermometer_unavailable"},
		{"empty resident", enc(func() bundleWire { w := good(); w.Residents = "ZJ:1\n\nZJ:2"; return w }()), "residents[1]"},
		{"resident with a space", enc(func() bundleWire { w := good(); w.Residents = "Zhang San"; return w }()), "residents[0]"},
		{"long version", enc(func() bundleWire { w := good(); w.Version = strings.Repeat("v", 65); return w }()), "version"},
		{"wrong type", enc(map[int]any{1: 7}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBundle(tt.payload)
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("got %v, want ErrBundle", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("got %q, want it to name %q", err, tt.field)
			}
		})
	}
	if _, err := ParseBundle(enc(good())); err != nil {
		t.Errorf("ParseBundle(good) = %v, want nil", err)
	}
}

func TestNewSite(t *testing.T) {
	b, err := DefaultBundle(siteconfig.Pharmacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(b, siteconfig.Supermarket); !errors.Is(err, ErrSiteMismatch) {
		t.Errorf("New(pharmacy bundle, supermarket) = %v, want ErrSiteMismatch", err)
	}
	if _, err := New(nil, "bank"); err == nil {
		t.Error("New(nil, bank) = nil error, want one")
	}
	e, err := New(nil, siteconfig.Intersection)
	if err != nil {
		t.Fatal(err)
	}
	if e.Site() != siteconfig.Intersection || e.Version() != "default" {
		t.Errorf("got site %s version %q, want intersection default", e.Site(), e.Version())
	}
}

// TestDefaultsListReasons checks that every default policy compiles, ends
// in the default, and gives only documented reason codes.
func TestDefaultsListReasons(t *testing.T) {
	files, err := filepath.Glob("defaults/*.policy")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(siteconfig.SiteTypes()) {
		t.Errorf("got %d default policies, want one per site type (%d)", len(files), len(siteconfig.SiteTypes()))
	}
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range siteconfig.SiteTypes() {
		src, err := DefaultRules(site)
		if err != nil {
			t.Fatal(err)
		}
		srcs, def, err := parseSource(src)
		if err != nil {
			t.Fatalf("%s: %v", site, err)
		}
		if _, err := compileSource(env, src); err != nil {
			t.Fatalf("%s: %v", site, err)
		}
		for _, r := range append(srcs, def) {
			for _, c := range r.reasons {
				if !slices.Contains(Reasons(), c) {
					t.Errorf("%s rule %s: reason %q is not in Reasons()", site, r.name, c)
				}
			}
		}
	}
}

func TestMessages(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(corpustest.ModuleRoot(t), "docs", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Reasons() {
		m, ok := messages[r]
		if !ok || m.en == "" || m.zh == "" {
			t.Errorf("reason %q: got no English or Chinese sentence, want both", r)
		}
		if !bytes.Contains(doc, []byte("`"+r+"`")) {
			t.Errorf("reason %q is not documented in docs/policy.md", r)
		}
	}
	if got, want := Message("verification:expired", "zh"), "码已过期。请刷新健康码。"; got != want {
		t.Errorf("Message(verification:expired, zh) = %q, want %q", got, want)
	}
	if got := Message("fever", "en"); !strings.Contains(got, "Retake") {
		t.Errorf("Message(fever, en) = %q, want it to ask for a retake", got)
	}
	if got := Message("site-own-code", "zh"); got == "" || got == "site-own-code" {
		t.Errorf("Message(unknown, zh) = %q, want a generic sentence", got)
	}
}
