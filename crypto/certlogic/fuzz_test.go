package certlogic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sentinel/internal/corpustest"
	"testing"
	"time"
)

// exprSeeds returns expressions and data: our own rules and tests, and
// the specification's suite and a sample of the country rules when the
// corpus is present.
func exprSeeds(f *testing.F) (exprs, datas [][]byte) {
	add := func(e, d any) {
		eb, _ := json.Marshal(e)
		db, _ := json.Marshal(d)
		exprs, datas = append(exprs, eb), append(datas, db)
	}
	folders, _ := FindRuleFolders(filepath.Join("testdata", "rules"))
	root := corpustest.Path(f, "")
	if more, err := FindRuleFolders(filepath.Join(root, "eu-dcc-rules")); err == nil {
		for i, d := range more {
			if i%5 == 0 {
				folders = append(folders, d)
			}
		}
	}
	for _, dir := range folders {
		r, tests, err := LoadRuleFolder(dir)
		if err != nil || len(tests) == 0 {
			continue
		}
		var logic any
		json.Unmarshal(r.Raw(), &struct{ Logic *any }{&logic})
		add(logic, tests[0].Data)
	}
	files, _ := filepath.Glob(filepath.Join(root, "certlogic", "testSuite", "*.json"))
	for _, file := range files {
		var suite struct {
			Cases []struct {
				Expr       any `json:"certLogicExpression"`
				Assertions []struct {
					Expr any `json:"certLogicExpression"`
					Data any `json:"data"`
				}
			}
		}
		b, _ := os.ReadFile(file)
		if json.Unmarshal(b, &suite) != nil {
			continue
		}
		for _, c := range suite.Cases {
			for _, a := range c.Assertions {
				e := a.Expr
				if e == nil {
					e = c.Expr
				}
				add(e, a.Data)
			}
		}
	}
	for _, s := range [][2]string{
		{`{"var":""}`, `null`},
		{`{"reduce":[{"var":"a"},{"+":[{"var":"accumulator"},{"var":"current"}]},0]}`, `{"a":[1,2,3]}`},
		{`{"extractFromUVCI":[{"var":"u"},2]}`, `{"u":"URN:UVCI:01:AT:1#B"}`},
		{`{"not-after":[{"plusTime":[{"var":"d"},0,"day"]},{"plusTime":["2021-06-01T00:00:00+05:30",1,"month"]}]}`, `{"d":"2021-06-01"}`},
		{`{"after":[{"dccDateOfBirth":[{"var":"dob"}]},{"plusTime":[{"var":"c"},-18,"year"]}]}`, `{"dob":"2004-02","c":"2022-01-01T00:00:00Z"}`},
		{`[1,{"var":"x.0.y"},"s",true]`, `{"x":[{"y":9}]}`},
		{`{"if":[{"in":[{"var":"x"},["a","b"]]},{"===":[1,1]},{"!":[{"var":"y"}]}]}`, `{"x":"a"}`},
		{`{"<":[1,{"var":"n"},3]}`, `{"n":2}`},
		{`3.14`, `{}`},
		{`{"all":[]}`, `{}`},
	} {
		exprs, datas = append(exprs, []byte(s[0])), append(datas, []byte(s[1]))
	}
	return exprs, datas
}

// FuzzEval compiles any bytes as an expression and evaluates it on any
// data: nothing panics, every failure is typed, a compiled expression is
// within the limits, and evaluation is deterministic.
func FuzzEval(f *testing.F) {
	exprs, datas := exprSeeds(f)
	for i := range exprs {
		f.Add(exprs[i], datas[i])
	}
	f.Fuzz(func(t *testing.T, expr, data []byte) {
		x, err := CompileJSON(expr)
		if err != nil {
			var inv *InvalidError
			var lim *LimitError
			if errors.As(err, &inv) && len(inv.Issues) == 0 {
				t.Fatalf("InvalidError without issues")
			}
			if !errors.As(err, &inv) && !errors.As(err, &lim) {
				// Not JSON at all is the decoder's error; nothing else may come.
				if _, derr := decodeExpr(expr); derr == nil {
					t.Fatalf("untyped compile error for valid JSON: %v", err)
				}
			}
			return
		}
		if x.Nodes() > DefaultLimits.MaxNodes {
			t.Fatalf("compiled %d nodes, beyond the limit", x.Nodes())
		}
		d, err := DecodeJSON(data)
		if err != nil {
			return
		}
		v1, err1 := x.Eval(d)
		v2, err2 := x.Eval(d)
		if (err1 == nil) != (err2 == nil) || mustJSON(v1) != mustJSON(v2) {
			t.Fatalf("two evaluations differ: %v %v / %v %v", v1, err1, v2, err2)
		}
		if err1 != nil {
			var ee *EvalError
			var lim *LimitError
			if !errors.As(err1, &ee) && !errors.As(err1, &lim) {
				t.Fatalf("untyped evaluation error: %v", err1)
			}
		}
	})
}

// FuzzParseRule reads any bytes as a rule: a *RuleError or a rule whose
// own JSON parses to the same rule.
func FuzzParseRule(f *testing.F) {
	f.Add(ownRule(f))
	root := corpustest.Path(f, "eu-dcc-rules")
	if files, _ := filepath.Glob(filepath.Join(root, "*", "*", "rule.json")); len(files) > 0 {
		for i, file := range files {
			if i%7 == 0 {
				b, _ := os.ReadFile(file)
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Identifier":"VR-XX-0001","Logic":{"var":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRule(b)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		again, err := ParseRule(r.Raw())
		if err != nil || again.Identifier != r.Identifier || again.Version != r.Version || !again.ValidTo.Equal(r.ValidTo) {
			t.Fatalf("the rule's own JSON reads back as %+v, %v", again, err)
		}
	})
}

// FuzzParseDateTime reads any string as a date-time: an error, or a UTC
// instant in milliseconds that its own RFC 3339 form reads back as.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2021", "2021-02", "2021-06-01", "2021-06-01T10:11:12", "2021-06-01T10:11:12.123456+5:30",
		"2021-06-01T10:11:12-0130", "2021-06-01T10:11:12Z", "2021-02-29", "0000-01-01T00:00:00+23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDateTime(s)
		if err != nil {
			return
		}
		if d.Location() != time.UTC || d.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("%q: %v is not UTC milliseconds", s, d)
		}
		if len(s) >= 19 && d.Year() >= 0 && d.Year() <= 9999 { // an offset can move year 0000 before it
			back, err := parseDateTime(d.Format("2006-01-02T15:04:05.000Z"))
			if err != nil || !back.Equal(d) {
				t.Fatalf("%q: %v reads back as %v, %v", s, d, back, err)
			}
		}
	})
}
