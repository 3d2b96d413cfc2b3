package valueset

import (
	"errors"
	"os"
	"path/filepath"
	"sentinel/internal/corpustest"
	"strings"
	"testing"
)

func testdataDir(t testing.TB) string {
	t.Helper()
	return filepath.Join("..", "..", "testdata", "valuesets")
}

func TestLoadDir(t *testing.T) {
	ss, skipped, err := LoadDir(testdataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if ss.Len() != len(IDs()) || len(ss.Missing()) != 0 {
		t.Fatalf("loaded %d sets, missing %v; want all of %v", ss.Len(), ss.Missing(), IDs())
	}
	var names []string
	for _, s := range skipped {
		names = append(names, s.File)
	}
	if got := strings.Join(names, ","); got != "DCC.ValueSets.schema.json,vaccine-encoding-instructions.json" {
		t.Errorf("skipped %s", got)
	}
	dev := ss.Get(TestDevice)
	if !dev.Example || !dev.Has("1232") || dev.Has("9999") {
		t.Errorf("test devices: example %v, 1232 %v, 9999 %v", dev.Example, dev.Has("1232"), dev.Has("9999"))
	}
	if ss.Get(Country).Example {
		t.Error("country-2-codes marked as an example")
	}
	vp := ss.Get(VaccineType)
	if e := vp.Codes["J07BX03"]; e.Active || !vp.Has("J07BX03") {
		t.Errorf("an inactive code must stay a member: %+v", e)
	}
	if !strings.Contains(ss.Summary(), "only an example") {
		t.Errorf("summary does not say which list is an example: %s", ss.Summary())
	}
	var none *Sets
	if none.Get(Country) != nil || none.Len() != 0 || !strings.HasPrefix(none.Summary(), "no value sets") {
		t.Error("a nil *Sets must hold nothing and say so")
	}
}

func TestLoadDirErrors(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		_, _, err := LoadDir(t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "holds none of the value sets") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("broken", func(t *testing.T) {
		dir := t.TempDir()
		src, _ := os.ReadFile(filepath.Join(testdataDir(t), "test-type.json"))
		os.WriteFile(filepath.Join(dir, "test-type.json"), []byte(strings.Replace(string(src), `"active": true`, `"active": "yes"`, 1)), 0o644)
		_, _, err := LoadDir(dir)
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrShape) || pe.File != filepath.Join(dir, "test-type.json") || pe.Line != 8 {
			t.Fatalf("err = %v (%#v)", err, pe)
		}
		if !strings.Contains(err.Error(), "/valueSetValues/LP6464-4/active") {
			t.Errorf("the error does not say where: %v", err)
		}
	})
	t.Run("duplicate id", func(t *testing.T) {
		dir := t.TempDir()
		src, _ := os.ReadFile(filepath.Join(testdataDir(t), "test-type.json"))
		os.WriteFile(filepath.Join(dir, "a.json"), src, 0o644)
		os.WriteFile(filepath.Join(dir, "b.json"), src, 0o644)
		if _, _, err := LoadDir(dir); !errors.Is(err, ErrDuplicate) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, _, err := LoadDir(filepath.Join(t.TempDir(), "nope")); err == nil {
			t.Error("no error")
		}
	})
}

func TestParseStrict(t *testing.T) {
	const good = `{"valueSetId":"covid-19-lab-result","valueSetDate":"2021-04-27","valueSetValues":{` +
		`"260415000":{"display":"Not detected","lang":"en","active":true,"version":"v","system":"s"}}}`
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != TestResult || s.Date != "2021-04-27" || !s.Has("260415000") || s.Codes["260415000"].Display != "Not detected" {
		t.Fatalf("parsed %+v", s)
	}
	for _, c := range []struct {
		name, doc string
		kind      error
		where     string
	}{
		{"not JSON", `{"valueSetId":`, ErrSyntax, ""},
		{"array", `[]`, ErrShape, ""},
		{"trailing", good + `{}`, ErrSyntax, ""},
		{"unknown top key", `{"valueSetId":"x","valueSetDate":"2021-01-01","valueSetValues":{},"extra":1}`, ErrShape, "/extra"},
		{"missing date", `{"valueSetId":"x","valueSetValues":{}}`, ErrShape, ""},
		{"missing id", `{"valueSetDate":"2021-01-01","valueSetValues":{}}`, ErrShape, ""},
		{"bad date", `{"valueSetId":"x","valueSetDate":"2021-13-01","valueSetValues":{}}`, ErrValue, "/valueSetDate"},
		{"id twice", `{"valueSetId":"x","valueSetId":"y","valueSetDate":"2021-01-01","valueSetValues":{}}`, ErrShape, "/valueSetId"},
		{"code twice", strings.Replace(good, `}}}`, `},"260415000":{"display":"d","lang":"en","active":true,"version":"v","system":"s"}}}`, 1), ErrShape, "/valueSetValues/260415000"},
		{"entry without system", strings.Replace(good, `,"system":"s"`, ``, 1), ErrShape, "/valueSetValues/260415000"},
		{"entry extra key", strings.Replace(good, `"system":"s"`, `"system":"s","note":"n"`, 1), ErrShape, "/valueSetValues/260415000/note"},
		{"active string", strings.Replace(good, `"active":true`, `"active":"true"`, 1), ErrShape, "/valueSetValues/260415000/active"},
		{"display number", strings.Replace(good, `"display":"Not detected"`, `"display":7`, 1), ErrShape, "/valueSetValues/260415000/display"},
		{"empty code", strings.Replace(good, `"260415000"`, `""`, 1), ErrValue, "/valueSetValues/"},
		{"code with a control character", strings.Replace(good, `"260415000"`, `"26\u0000"`, 1), ErrValue, ""},
		{"code with spaces around", strings.Replace(good, `"260415000"`, `" 260415000"`, 1), ErrValue, ""},
		{"bad validUntil", strings.Replace(good, `"system":"s"`, `"system":"s","validUntil":"soon"`, 1), ErrValue, "/valueSetValues/260415000/validUntil"},
		{"values not an object", `{"valueSetId":"x","valueSetDate":"2021-01-01","valueSetValues":[]}`, ErrShape, "/valueSetValues"},
		{"too large", strings.Repeat(" ", MaxFileSize+1), ErrTooLarge, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want a *ParseError wrapping %v", err, c.kind)
			}
			if c.where != "" && !strings.HasPrefix(pe.Path, c.where) {
				t.Errorf("path %q, want %q (%v)", pe.Path, c.where, err)
			}
		})
	}
}

func TestParseErrorPosition(t *testing.T) {
	doc := "{\n  \"valueSetId\": \"x\",\n  \"valueSetDate\": \"2021-01-01\",\n  \"valueSetValues\": {\n    \"A\": {\"display\": \"a\", \"lang\": \"en\", \"active\": 1}\n  }\n}\n"
	_, err := Parse([]byte(doc))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 5 {
		t.Fatalf("err = %v (%+v), want line 5", err, pe)
	}
	pe.File = "x.json"
	if !strings.HasPrefix(err.Error(), "x.json:5:") {
		t.Errorf("error %q does not start with the file and line", err)
	}
}

func TestIsExampleName(t *testing.T) {
	for name, want := range map[string]bool{
		"test-manf-example.json": true, "dir/TEST-MANF-EXAMPLE.JSON": true,
		"test-manf.json": false, "example-list.json": false,
	} {
		if got := IsExampleName(name); got != want {
			t.Errorf("IsExampleName(%q) = %v", name, got)
		}
	}
}

// TestCorpusValueSets loads the EU's own value sets
// (../shared/corpus/eu-dcc-valuesets).
func TestCorpusValueSets(t *testing.T) {
	dir := corpustest.Dir(t, "eu-dcc-valuesets")
	ss, skipped, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.Missing()) != 0 {
		t.Errorf("missing %v", ss.Missing())
	}
	if !ss.Get(TestDevice).Example {
		t.Error("test-manf-example.json not marked as an example")
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %+v, want the schema and the encoding instructions", skipped)
	}
	t.Log(ss.Summary())
}
