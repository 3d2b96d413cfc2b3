package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// FuzzParseBundle feeds outside bytes to ParseBundle: it must not panic,
// and a payload it accepts must survive Marshal and ParseBundle unchanged
// (the access list sorted, duplicates dropped).
func FuzzParseBundle(f *testing.F) {
	for _, site := range siteconfig.SiteTypes() {
		b, err := DefaultBundle(site)
		if err != nil {
			f.Fatal(err)
		}
		if site == siteconfig.Compound {
			b.Residents = []string{"ZJ:1", "ZJ:2", "p:00112233445566778899aabbccddeeff"}
		}
		p, err := b.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
		f.Add(p[:len(p)/2])
	}
	// A bundle with EU business rules (certlogic's test country XX).
	if b, err := DefaultBundle(siteconfig.Supermarket); err == nil {
		var rules []json.RawMessage
		for _, id := range []string{"GR-XX-0001", "VR-XX-0001"} {
			r, err := os.ReadFile(filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules", "XX", id, "rule.json"))
			if err != nil {
				f.Fatal(err)
			}
			rules = append(rules, r)
		}
		b.EUCountry, b.EURules = "XX", rules
		p, err := b.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x01, 0x61, 'x'})
	f.Add([]byte{0xa2, 0x01, 0x61, 'x', 0x01, 0x61, 'y'}) // duplicate key
	f.Add([]byte{0xa1, 0x08, 0x7a, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := ParseBundle(payload)
		if err != nil {
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("got %v, want an ErrBundle", err)
			}
			return
		}
		again, err := b.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed bundle: %v", err)
		}
		b2, err := ParseBundle(again)
		if err != nil {
			t.Fatalf("ParseBundle(Marshal(b)): %v", err)
		}
		want := *b
		want.Residents = slices.Compact(slices.Sorted(slices.Values(b.Residents)))
		if len(want.Residents) == 0 {
			want.Residents = nil
		}
		if !reflect.DeepEqual(b2, &want) {
			t.Fatalf("round trip: got %+v, want %+v", b2, &want)
		}
	})
}

// FuzzCompile feeds random rule text to the compiler: it must not panic,
// and a policy that compiles must decide passages without panicking and
// never admit on an error.
func FuzzCompile(f *testing.F) {
	for _, site := range siteconfig.SiteTypes() {
		src, err := DefaultRules(site)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		"default admit\n",
		"rule a\n  when true\n  admit\ndefault deny x\n",
		"rule a\n  when 1 / 0 == 1\n  admit\ndefault deny x\n",
		"rule a\n  when temperature.celsius >= settings.fever // fever\n  refer fever\ndefault admit\n",
		"rule a\n  when true\n  verdict [\"admit\", \"deny\"][int(now.getSeconds()) % 2]\n  reasons [refusal]\n  colour red\ndefault admit\n",
		"rule a\n  when credential.holder.matches('^ZJ:[0-9]+$')\n  admit\ndefault refer\n",
		"rule a\n  when size([1,2,3].map(x, [1,2,3].map(y, x * y))) > 2\n  admit\ndefault refer\n",
		"rule a\n  when (((((((((((true))))))))))\n  admit\ndefault refer\n",
		"rule a\n  when '\\u00e9' == credential.issuer\n     || colour == \"green\"\n  admit\ndefault refer\n",
		"rule a\r\n\twhen\ttrue\r\n\tadmit\r\ndefault refer\r\n",
	} {
		f.Add(s)
	}
	env, err := NewEnv()
	if err != nil {
		f.Fatal(err)
	}
	inputs := []Input{green(), dcc()}
	refused := green()
	refused.Credential, refused.Rejection = nil, "expired"
	inputs = append(inputs, refused, Input{})
	f.Fuzz(func(t *testing.T, src string) {
		c, err := compileSource(env, src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *policy.Error", err)
			}
			if pe.Line < 1 {
				t.Fatalf("got line %d in %v, want a line of the source", pe.Line, err)
			}
			return
		}
		e := &Engine{site: siteconfig.Custom, rules: c.rules, def: c.def, chain: c.chain, adapter: env.CELTypeAdapter()}
		e.settings = e.adapter.NativeToValue(&settingsVar{Fever: 37.3, Yellow: "deny", ThermometerUnavailable: "refer"})
		for _, in := range inputs {
			d := e.Decide(in)
			if !d.Verdict.Valid() {
				t.Fatalf("got verdict %q, want admit, deny or refer", d.Verdict)
			}
			if d.Err != nil && (d.Verdict != passage.Refer || !slices.Equal(d.Reasons, []string{ReasonPolicyError})) {
				t.Fatalf("got %s %q with error %v, want refer [policy-error]", d.Verdict, d.Reasons, d.Err)
			}
		}
	})
}
