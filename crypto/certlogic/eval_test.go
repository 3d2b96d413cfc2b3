package certlogic

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeExpr([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustData(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// nest wraps inner in n "!" operations.
func nest(inner string, n int) string {
	return strings.Repeat(`{"!":[`, n) + inner + strings.Repeat(`]}`, n)
}

func TestLimits(t *testing.T) {
	longArray := "[" + strings.TrimSuffix(strings.Repeat("1,", 20_000), ",") + "]"
	// A reduce inside a reduce over the same 500 items: 250,000 lambda
	// calls of a few steps each, beyond MaxSteps.
	items := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(`"x",`, n), ",") + "]" }
	hundreds := items(500)
	nested := `{"reduce":[{"var":"a"},{"reduce":[{"var":"data.a"},{"+":[{"var":"accumulator"},1]},{"var":"accumulator"}]},0]}`
	for _, tc := range []struct {
		name, expr, data string
		limit            string
		atCompile        bool
	}{
		{"deep", nest("true", 100), `{}`, "MaxDepth", true},
		{"deep arrays", strings.Repeat("[", 70) + strings.Repeat("]", 70), `{}`, "MaxDepth", true},
		{"large", longArray, `{}`, "MaxNodes", true},
		{"long reduce", `{"reduce":[{"var":"a"},{"var":"accumulator"},0]}`, `{"a":` + longArray + `}`, "MaxReduceItems", false},
		{"nested reduce", nested, `{"a":` + hundreds + `}`, "MaxSteps", false},
		{"long in", `{"reduce":[{"var":"a"},{"in":["y",{"var":"data.a"}]},false]}`, `{"a":` + hundreds + `}`, "MaxSteps", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := Compile(mustDecode(t, tc.expr))
			if !tc.atCompile {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				_, err = x.Eval(mustData(t, tc.data))
			}
			var le *LimitError
			if !errors.As(err, &le) || le.Limit != tc.limit {
				t.Fatalf("got %v, want a LimitError on %s", err, tc.limit)
			}
		})
	}
	// Just within the limits, the same shapes work.
	if _, err := Compile(mustDecode(t, nest("true", 60))); err != nil {
		t.Errorf("60 levels: %v", err)
	}
	x, err := Compile(mustDecode(t, nested))
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Eval(mustData(t, `{"a":`+items(100)+`}`))
	if err != nil || got != int64(10_000) {
		t.Errorf("nested reduce over 100 items: got %v, %v; want 10000", got, err)
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct{ expr, data, op string }{
		{`{"in":["a",{"var":"x"}]}`, `{"x":"abc"}`, "in"},
		{`{"in":["a",{"var":"x"}]}`, `{}`, "in"},
		{`{"+":[1,{"var":"x"}]}`, `{"x":"1"}`, "+"},
		{`{"<":[1,{"var":"x"}]}`, `{"x":1.5}`, "<"},
		{`{"after":[{"plusTime":["2021-01-01",0,"day"]},{"var":"x"}]}`, `{"x":"2021-01-01"}`, "after"},
		{`{"plusTime":[{"var":"x"},1,"day"]}`, `{}`, "plusTime"},
		{`{"plusTime":[{"var":"x"},1,"day"]}`, `{"x":"2021-02-30"}`, "plusTime"},
		{`{"plusTime":[{"var":"x"},1,"day"]}`, `{"x":"2021-06-01 10:00:00"}`, "plusTime"},
		{`{"dccDateOfBirth":[{"var":"x"}]}`, `{"x":"2021-06-01T00:00:00Z"}`, "dccDateOfBirth"},
		{`{"if":[{"plusTime":["2021",0,"day"]},1,2]}`, `{}`, "if"},
		{`{"!":[{"var":"x"}]}`, `{"x":0.5}`, "!"},
		{`{"and":[{"var":"x"},true]}`, `{"x":0.5}`, "and"},
		{`{"reduce":[{"var":"x"},1,0]}`, `{"x":"abc"}`, "reduce"},
		{`{"extractFromUVCI":[{"var":"x"},0]}`, `{"x":1}`, "extractFromUVCI"},
		{`{"+":[{"var":"x"},1]}`, `{"x":9007199254740991}`, "+"},
	} {
		_, err := Evaluate(mustDecode(t, tc.expr), mustData(t, tc.data))
		var ee *EvalError
		if !errors.As(err, &ee) || ee.Op != tc.op {
			t.Errorf("%s on %s: got %v, want an EvalError of %q", tc.expr, tc.data, err, tc.op)
		}
	}
}

func TestCompileIssues(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`{"if":[true,1]}`, `an "if" operation must have 3 operands, but it has 2`},
		{`{"and":[true]}`, `an "and" operation must have at least 2 operands, but it has 1`},
		{`{"<":[1,2,3,4]}`, `an "<" operation must have 2 or 3 operands, but it has 4`},
		{`{"plusTime":["2021",{"var":"n"},"day"]}`, `operand #2 of "plusTime" must be an integer literal`},
		{`{"plusTime":["2021",1,"week"]}`, `operand #3 of "plusTime" must be one of the time units`},
		{`{"plusTime":["2021",100000000,"day"]}`, `the amount of a plusTime must lie within`},
		{`{"extractFromUVCI":[{"var":"x"},"1"]}`, `operand #2 of "extractFromUVCI" must be an integer literal`},
		{`{"var":"a..b"}`, `data access path doesn't have a valid format: a..b`},
		{`[1,{"var":"x"},null]`, `invalid CertLogic expression`},
	} {
		issues := Validate(mustDecode(t, tc.expr))
		if len(issues) != 1 || !strings.HasPrefix(issues[0].Message, tc.want) {
			t.Errorf("%s: got %v, want one issue %q", tc.expr, issues, tc.want)
		}
	}
}

func TestDateTimes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2021", "2021-12-31T00:00:00Z"},
		{"2020-02", "2020-02-29T00:00:00Z"},
		{"2021-02", "2021-02-28T00:00:00Z"},
		{"2021-06-01", "2021-06-01T00:00:00Z"},
		{"2021-06-01T10:11:12", "2021-06-01T10:11:12Z"},
		{"2021-06-01T10:11:12Z", "2021-06-01T10:11:12Z"},
		{"2021-06-01T10:11:12+2", "2021-06-01T08:11:12Z"},
		{"2021-06-01T10:11:12-02", "2021-06-01T12:11:12Z"},
		{"2021-06-01T10:11:12+230", "2021-06-01T07:41:12Z"},
		{"2021-06-01T10:11:12+0530", "2021-06-01T04:41:12Z"},
		{"2021-06-01T10:11:12+5:30", "2021-06-01T04:41:12Z"},
		{"2021-06-01T10:11:12+05:30", "2021-06-01T04:41:12Z"},
		{"2021-06-01T10:11:12.5Z", "2021-06-01T10:11:12.5Z"},
		{"2021-06-01T10:11:12.123456789+01:00", "2021-06-01T09:11:12.123Z"},
		{"2021-06-01T10:11:12.99", "2021-06-01T10:11:12.99Z"},
	} {
		got, err := parseDateTime(tc.in)
		if err != nil || got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("parseDateTime(%q) = %v, %v; want %s", tc.in, got.Format(time.RFC3339Nano), err, tc.want)
		}
	}
	for _, bad := range []string{"", "21", "2021-13", "2021-02-29", "2021-06-01T", "2021-06-01T25:00:00", "2021-06-01t10:11:12",
		"2021-06-01T10:11:12+", "2021-06-01T10:11:12+123456", "2021-06-01T10:11:12.Z", "2021-06-01T10:11:12 ", "２０２１"} {
		if got, err := parseDateTime(bad); err == nil {
			t.Errorf("parseDateTime(%q) = %v, want an error", bad, got)
		}
	}
	// The specification's leap-day table, through plusTime.
	for _, tc := range []struct {
		unit string
		want string
	}{{"day", "2020-03-01"}, {"month", "2020-03-29"}, {"year", "2021-03-01"}} {
		got, err := Evaluate(mustDecode(t, `{"plusTime":["2020-02-29",1,"`+tc.unit+`"]}`), nil)
		if err != nil || got.(DateTime).Time().Format(time.DateOnly) != tc.want {
			t.Errorf("2020-02-29 plus one %s: got %v, %v; want %s", tc.unit, got, err, tc.want)
		}
	}
}

func TestExtractFromUVCIAndEquality(t *testing.T) {
	for _, tc := range []struct {
		expr, data string
		want       any
	}{
		{`{"extractFromUVCI":[{"var":""},1]}`, `"URN:UVCI:01:DE:XYZ#1"`, "DE"},
		{`{"extractFromUVCI":[{"var":""},9]}`, `"a/b"`, nil},
		{`{"===":[{"var":"a"},{"var":"a"}]}`, `{"a":[1]}`, false},
		{`{"===":[{"var":"a"},1]}`, `{"a":1.0}`, true},
		{`{"in":[{"var":"a"},{"var":"b"}]}`, `{"a":2,"b":[null,2]}`, true},
		{`{"in":[{"var":"a"},{"var":"b"}]}`, `{"b":[null,2]}`, true},
		{`{"and":[true,{"plusTime":["2021",0,"day"]}]}`, `{}`, "date"},
	} {
		got, err := Evaluate(mustDecode(t, tc.expr), mustData(t, tc.data))
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if _, isDate := got.(DateTime); tc.want == "date" && isDate {
			continue
		}
		if got != tc.want {
			t.Errorf("%s on %s: got %#v, want %#v", tc.expr, tc.data, got, tc.want)
		}
	}
}
