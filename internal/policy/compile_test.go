package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		line   int
		column int
		rule   string
		msg    string // a part of the message
	}{
		{"misspelt field", "rule a\n  when temperature.celsuis > 37.0\n  refer fever\ndefault admit\n", 2, 19, "a", "undefined field 'celsuis'"},
		{"misspelt variable", "rule a\n  when temprature.available\n  refer fever\ndefault admit\n", 2, 8, "a", "did you mean 'temperature'"},
		{"error on a continuation line", "rule a\n  when temperature.celsius > 37.0 &&\n     credential.colr == \"x\"\n  refer fever\ndefault admit\n", 3, 16, "a", "undefined field 'colr'"},
		{"unfinished expression", "rule a\n  when 1 +\n  refer fever\ndefault admit\n", 2, 11, "a", "ends too early"},
		{"when is not a bool", "rule a\n  when colour\n  refer fever\ndefault admit\n", 2, 8, "a", "gives a string, want true or false"},
		{"verdict is not a string", "rule a\n  when true\n  verdict 3\ndefault admit\n", 3, 11, "a", "want a string"},
		{"reasons are not a list", "rule a\n  when true\n  refer\n  reasons \"fever\"\ndefault admit\n", 4, 11, "a", "want a list of strings"},
		{"second rule named", "rule a\n  when true\n  admit\nrule b\n  when now > 3\n  admit\ndefault admit\n", 5, 12, "b", "no matching overload"},
		{"no default", "rule a\n  when true\n  admit\n", 4, 0, "", "no final default"},
		{"rule without when", "rule a\n  admit\ndefault admit\n", 1, 0, "a", "no \"when\" line"},
		{"rule without verdict", "rule a\n  when true\ndefault admit\n", 1, 0, "a", "no verdict"},
		{"unknown keyword", "rule a\n  whan true\n  admit\ndefault admit\n", 2, 0, "a", ""},
		{"expression before any rule", "true && false\ndefault admit\n", 1, 1, "", "is not one of rule"},
		{"verdict outside a rule", "refer fever\ndefault admit\n", 1, 1, "", "belongs inside a rule"},
		{"bad rule name", "rule Fever!\n  when true\n  admit\ndefault admit\n", 1, 6, "", "rule name"},
		{"duplicate rule", "rule a\n  when true\n  admit\nrule a\n  when true\n  admit\ndefault admit\n", 4, 6, "a", "defined twice"},
		{"bad reason code", "rule a\n  when true\n  refer Fever!\ndefault admit\n", 3, 9, "a", "reason code"},
		{"two verdicts", "rule a\n  when true\n  refer\n  deny\ndefault admit\n", 4, 3, "a", "already has a verdict"},
		{"codes and reasons", "rule a\n  when true\n  reasons [\"x\"]\n  refer fever\ndefault admit\n", 4, 9, "a", "not both"},
		{"bad colour", "rule a\n  when true\n  admit\n  colour blue\ndefault admit\n", 4, 10, "a", "colour \"blue\""},
		{"bad default", "default allow\n", 1, 9, "", "want admit, deny or refer"},
		{"rule after default", "default admit\nrule a\n  when true\n  admit\n", 2, 1, "", "nothing may follow"},
		{"expression too long", "rule a\n  when " + strings.Repeat("true && ", 600) + "true\n  admit\ndefault admit\n", 2, 0, "a", "size"},
	}
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileSource(env, tt.src)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *policy.Error", err)
			}
			if pe.Line != tt.line || (tt.column != 0 && pe.Column != tt.column) || pe.Rule != tt.rule || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got line %d column %d rule %q: %q, want line %d column %d rule %q: %q", pe.Line, pe.Column, pe.Rule, pe.Msg, tt.line, tt.column, tt.rule, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "policy line ") {
				t.Errorf("got %q, want it to start with \"policy line \"", err)
			}
		})
	}
}

func TestCompilePayload(t *testing.T) {
	good, err := DefaultBundle(siteconfig.Pharmacy)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := Compile(payload); err != nil {
		t.Errorf("Compile(default pharmacy) = %v, want nil", err)
	}

	bad := *good
	bad.Rules = strings.Replace(good.Rules, "temperature.celsius >= settings.fever", "temperature.celsius >= settings.fevr", 1)
	payload, err = bad.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	err = Compile(payload)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Compile(misspelt) = %v, want a *policy.Error", err)
	}
	wantLine := 1 + strings.Count(bad.Rules[:strings.Index(bad.Rules, "settings.fevr")], "\n")
	if pe.Line != wantLine || pe.Rule != "fever" || pe.Clause != "when" || !strings.Contains(pe.Msg, "fevr") {
		t.Errorf("got %v, want line %d in rule fever (when) naming fevr", pe, wantLine)
	}
	if _, err := New(&bad, siteconfig.Pharmacy); !errors.As(err, &pe) {
		t.Errorf("New(misspelt) = %v, want a *policy.Error", err)
	}

	if err := Compile([]byte{0xa1, 0x01}); !errors.Is(err, ErrBundle) {
		t.Errorf("Compile(truncated CBOR) = %v, want ErrBundle", err)
	}
}

func TestRuntimeErrorRefers(t *testing.T) {
	tests := []struct {
		name string
		src  string
		rule string
		err  string // a part of Decision.Err
	}{
		{"division by zero", "rule div\n  when 1 / (enrolled ? 0 : 1) == 0\n  admit\ndefault admit\n", "div", "division by zero"},
		{"verdict not admit deny refer", "rule v\n  when true\n  verdict \"allow\"\ndefault admit\n", "v", "allow is not admit"},
		{"verdict expression fails", "rule v\n  when true\n  verdict [\"admit\"][int(temperature.celsius)]\ndefault admit\n", "v", "index"},
		{"reasons expression fails", "rule r\n  when true\n  admit\n  reasons [\"a\"].map(x, string(1 / (enrolled ? 0 : 1)))\ndefault admit\n", "r", "division by zero"},
		{"reason code invalid at run time", "rule r\n  when true\n  admit\n  reasons [\"Not A Code\"]\ndefault admit\n", "r", "not a reason code"},
		{"integer overflow", "rule o\n  when int(temperature.celsius) * 9223372036854775807 > 0\n  admit\ndefault admit\n", "o", "overflow"},
		{"cost limit", "rule c\n  when size([0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, [0,1,2,3,4,5,6,7,8,9].map(c, [0,1,2,3,4,5,6,7,8,9].map(d, [0,1,2,3,4,5,6,7,8,9].map(e, a+b+c+d+e+(enrolled ? 1 : 0))))))) > 0\n  admit\ndefault admit\n", "c", "cost limit exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DefaultBundle(siteconfig.Custom)
			if err != nil {
				t.Fatal(err)
			}
			b.Rules = tt.src
			e, err := New(b, siteconfig.Custom)
			if err != nil {
				t.Fatal(err)
			}
			in := green()
			got := e.Decide(in)
			if got.Verdict != passage.Refer || len(got.Reasons) != 1 || got.Reasons[0] != ReasonPolicyError || got.Rule != tt.rule {
				t.Errorf("got %s %q by %q, want refer [policy-error] by %q", got.Verdict, got.Reasons, got.Rule, tt.rule)
			}
			if got.Err == nil || !strings.Contains(got.Err.Error(), tt.err) {
				t.Errorf("got error %v, want one saying %q", got.Err, tt.err)
			}
			if got.Colour != credential.ColourGreen {
				t.Errorf("got colour %s, want green (the code's)", got.Colour)
			}
		})
	}
}

func TestDynamicRule(t *testing.T) {
	b, err := DefaultBundle(siteconfig.Custom)
	if err != nil {
		t.Fatal(err)
	}
	b.Rules = `# a site that admits staff of its own issuer only
rule staff
  when credential.issuer == site.id.split("-")[0] &&
       colour == "green"
  verdict settings.yellow == "refer" ? "refer" : "admit"
  reasons ["staff", "site:" + site.id]
  colour yellow

default deny not-staff
`
	b.Yellow = passage.Deny
	e, err := New(b, siteconfig.Custom)
	if err != nil {
		t.Fatal(err)
	}
	in := green()
	in.SiteID = "ZJ-7"
	got := e.Decide(in)
	// "site:ZJ-7" is not a valid reason code (uppercase): policy error.
	if got.Verdict != passage.Refer || got.Reasons[0] != ReasonPolicyError {
		t.Errorf("got %s %q, want refer [policy-error] for an uppercase code", got.Verdict, got.Reasons)
	}
	in.SiteID = "ZJ"
	in.Credential.Issuer = "ZJ"
	b.Rules = strings.Replace(b.Rules, `"site:" + site.id`, `"site:" + site.id.lowerAscii()`, 1)
	if e, err = New(b, siteconfig.Custom); err != nil {
		t.Fatal(err)
	}
	got = e.Decide(in)
	if got.Verdict != passage.Admit || strings.Join(got.Reasons, ",") != "staff,site:zj" || got.Colour != credential.ColourYellow || got.Rule != "staff" {
		t.Errorf("got %s %q by %q colour %s, want admit [staff site:zj] by staff colour yellow", got.Verdict, got.Reasons, got.Rule, got.Colour)
	}
	in.Credential.Issuer = "HB"
	got = e.Decide(in)
	if got.Verdict != passage.Deny || strings.Join(got.Reasons, ",") != "not-staff" || got.Rule != "default" {
		t.Errorf("got %s %q by %q, want deny [not-staff] by default", got.Verdict, got.Reasons, got.Rule)
	}
}

// TestCostAcrossRules checks that the cost limit bounds all the when
// expressions tried for one passage together, not only each one.
func TestCostAcrossRules(t *testing.T) {
	const when = "size([0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, a + b + (enrolled ? 1 : 0)))) < 0"
	engine := func(n int) *Engine {
		t.Helper()
		var src strings.Builder
		for i := range n {
			fmt.Fprintf(&src, "rule r%d\n  when %s\n  deny\n", i, when)
		}
		src.WriteString("default admit\n")
		b, err := DefaultBundle(siteconfig.Custom)
		if err != nil {
			t.Fatal(err)
		}
		b.Rules = src.String()
		e, err := New(b, siteconfig.Custom)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	in := green()
	a := new(activation)
	engine(1).activation(a, &in)
	_, det, err := engine(1).rules[0].when.Eval(a)
	if err != nil {
		t.Fatal(err)
	}
	cost := *det.ActualCost()
	n := int(CostLimit / cost) // n rules fit, n+1 do not
	if n < 2 {
		t.Fatalf("one rule costs %d, want a cheaper test rule", cost)
	}
	if got := engine(n).Decide(in); got.Verdict != passage.Admit || got.Err != nil {
		t.Errorf("%d rules of cost %d: got %s %q (%v), want admit", n, cost, got.Verdict, got.Reasons, got.Err)
	}
	got := engine(n + 1).Decide(in)
	if got.Verdict != passage.Refer || got.Rule != fmt.Sprintf("r%d", n) || got.Err == nil || !strings.Contains(got.Err.Error(), "cost limit") {
		t.Errorf("%d rules of cost %d: got %s %q by %q (%v), want refer [policy-error] by r%d over the cost limit", n+1, cost, got.Verdict, got.Reasons, got.Rule, got.Err, n)
	}
}

// TestChainMatchesRules checks, on many random passages, that the one
// program that tries every rule decides as the rules tried one by one do.
func TestChainMatchesRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2026))
	pick := func(n int) int { return rng.IntN(n) }
	freshness := []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked}
	for _, site := range siteconfig.SiteTypes() {
		t.Run(string(site), func(t *testing.T) {
			var b *Bundle
			if site == siteconfig.Compound {
				b = residentBundle(t)
			}
			e, err := New(b, site)
			if err != nil {
				t.Fatal(err)
			}
			for range 500 {
				in := green()
				if pick(4) == 0 {
					in = dcc()
				}
				in.Enrolled = pick(10) != 0
				in.ClockTrusted = pick(10) != 0
				for k := range in.Bundles {
					if pick(8) == 0 {
						in.Bundles[k] = freshness[pick(4)]
					}
				}
				if pick(6) == 0 {
					in.Credential, in.Rejection = nil, credential.Reasons()[pick(len(credential.Reasons()))]
				} else {
					in.Credential.Colour = credential.Colour(pick(4))
					in.Credential.Paper = pick(3) == 0
					in.Credential.Holder.Index = uint32(40 + pick(4))
				}
				if pick(3) == 0 {
					in.Status = Status{Overridden: pick(2) == 0, Status: []string{"green", "yellow", "red", "withheld"}[pick(4)],
						Effective: t0.Add(time.Duration(pick(5)-3) * time.Hour), Revoked: pick(8) == 0}
				}
				in.Temperature = passage.Temperature{State: []passage.TempState{passage.TempOK, passage.TempOK, passage.TempUnavailable, passage.TempRetake, passage.TempNotTaken, ""}[pick(6)],
					Value: celsius(36 + float64(pick(30))/10)}
				got, want := e.Decide(in), decideOneByOne(e, in)
				if got.Verdict != want.Verdict || got.Rule != want.Rule || !slices.Equal(got.Reasons, want.Reasons) || got.Colour != want.Colour {
					t.Fatalf("got %s %q by %q, want %s %q by %q (input %+v)", got.Verdict, got.Reasons, got.Rule, want.Verdict, want.Reasons, want.Rule, in)
				}
			}
		})
	}
}

// decideOneByOne decides as the package's rules say: each rule's when in
// order, the first that holds decides.
func decideOneByOne(e *Engine, in Input) Decision {
	a := new(activation)
	colour := e.activation(a, &in)
	for i := range e.rules {
		out, _, err := e.rules[i].when.Eval(a)
		if err != nil {
			return policyError(e.rules[i].name, colour, "when", err)
		}
		if out == types.True {
			return e.decide(&e.rules[i], a, colour)
		}
	}
	return e.decide(&e.def, a, colour)
}
