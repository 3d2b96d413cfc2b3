package siteconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTOMLFiles(t *testing.T) {
	for _, tc := range []struct {
		file      string
		line, col int
		key, msg  string // want, when the file is refused
	}{
		{file: "full.toml"},
		{file: "minimal.toml"},
		{"typo.toml", 2, 1, "retention_dayz", `unknown key (did you mean "retention_days"?)`},
		{"table.toml", 2, 2, "guard", "write [[guard]] with two brackets"},
		{"string.toml", 2, 18, "retention_days", "write a number of days without quotes"},
		{"syntax.toml", 1, 0, "", "syntax error"},
		{"fever.toml", 2, 1, "fever", "bundles publish policy` as --fever"},
		{"twice.toml", 2, 1, "site_type", "already defined: write each key once"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "toml", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseTOML(tc.file, data)
			if tc.msg == "" {
				if err != nil || s == nil {
					t.Fatalf("got %v, want accepted", err)
				}
				return
			}
			var ps Problems
			if s != nil || !errors.As(err, &ps) || !errors.Is(err, ErrSiteSettings) {
				t.Fatalf("got %+v, %v; want Problems", s, err)
			}
			p := ps[0]
			if p.File != tc.file || p.Line != tc.line || (tc.col != 0 && p.Column != tc.col) || p.Key != tc.key || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("got %s:%d:%d key %q %q; want line %d col %d key %q saying %q", p.File, p.Line, p.Column, p.Key, p.Msg, tc.line, tc.col, tc.key, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), tc.file+":") {
				t.Errorf("message %q does not start with the file name", err)
			}
		})
	}
}

func TestParseTOMLValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "toml", "full.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseTOML("full.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != Pharmacy || s.RetentionDays != 30 || s.Language != "en" || s.TimeZone != "Europe/Berlin" ||
		len(s.Guards) != 2 || s.Guards[1].ID != "guard-02" {
		t.Errorf("got %+v", s)
	}
	m, err := ParseTOML("minimal.toml", []byte(`site_type = "compound"`))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(Compound); m.RetentionDays != want.RetentionDays || m.Language != want.Language || m.TimeZone != want.TimeZone || m.Guards != nil {
		t.Errorf("left-out keys: got %+v, want the defaults %+v", m, want)
	}
}

// TestParseTOMLRefusals names the line and what to write for each invalid
// value.
func TestParseTOMLRefusals(t *testing.T) {
	hash, err := HashPIN("246813", MinPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	guard := func(id, h string) string { return "\n[[guard]]\nid = \"" + id + "\"\npin_hash = \"" + h + "\"\n" }
	for _, tc := range []struct {
		name, src string
		line      int
		key, msg  string
	}{
		{"empty", "", 1, "site_type", "missing: write site_type ="},
		{"only a comment", "# nothing\n", 1, "site_type", "missing"},
		{"site type", "site_type = \"bank\"\n", 1, "site_type", "write supermarket, pharmacy"},
		{"retention zero", "site_type = \"pharmacy\"\n\nretention_days = 0\n", 3, "retention_days", "from 1 to 366"},
		{"retention huge", "site_type = \"pharmacy\"\nretention_days = 99999999999\n", 2, "retention_days", "from 1 to 366"},
		{"retention float", "site_type = \"pharmacy\"\nretention_days = 1.5\n", 2, "retention_days", "without quotes"},
		{"language", "site_type = \"pharmacy\"\nlanguage = \"fr\"\n", 2, "language", `write "zh" (Chinese) or "en"`},
		{"time zone", "site_type = \"pharmacy\"\ntime_zone = \"Mars/Olympus\"\n", 2, "time_zone", "not a time zone"},
		{"time zone empty", "site_type = \"pharmacy\"\ntime_zone = \"\"\n", 2, "time_zone", "IANA"},
		{"guard no hash", "site_type = \"pharmacy\"\n" + guard("g1", ""), 5, "guard[0].pin_hash", "config pin"},
		{"guard PIN in clear", "site_type = \"pharmacy\"\n" + guard("g1", "246813"), 5, "guard[0].pin_hash", "config pin"},
		{"guard no id", "site_type = \"pharmacy\"\n" + guard("", hash), 4, "guard[0].id", "1 to 64 characters"},
		{"guard twice", "site_type = \"pharmacy\"\n" + guard("g1", hash) + guard("g1", hash), 8, "guard[1].id", "also guard[0]"},
		{"guard block missing id", "site_type = \"pharmacy\"\n[[guard]]\npin_hash = \"" + hash + "\"\n", 2, "guard[0].id", "write a name"},
		{"guard key at top", "site_type = \"pharmacy\"\npin_hash = \"x\"\n", 2, "pin_hash", "[[guard]] on the line above"},
		{"site key in guard", "site_type = \"pharmacy\"\n[[guard]]\nlanguage = \"en\"\n", 3, "guard[0].language", "move it above"},
		{"unknown in guard", "site_type = \"pharmacy\"\n[[guard]]\npin = \"246813\"\n", 3, "guard[0].pin", `did you mean "id"?`},
		{"other block", "site_type = \"pharmacy\"\n[[lane]]\nid = \"a\"\n", 2, "lane", "[[guard]] blocks only"},
		{"inline guards", "site_type = \"pharmacy\"\nguard = []\n", 2, "guard", "[[guard]] block"},
		{"case", "Site_Type = \"pharmacy\"\n", 1, "Site_Type", `did you mean "site_type"?`},
		{"not UTF-8", "site_type = \"\xff\"\n", 1, "", "not UTF-8"},
		{"binary", "\xa5\x01\x6bsupermarket", 1, "", "not UTF-8"},
		{"threshold", "site_type = \"pharmacy\"\nyellow = \"refer\"\n", 2, "yellow", "--yellow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseTOML("site.toml", []byte(tc.src))
			var ps Problems
			if s != nil || !errors.As(err, &ps) {
				t.Fatalf("got %+v, %v; want Problems", s, err)
			}
			p := ps[0]
			if p.Line != tc.line || p.Key != tc.key || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("got %v; want line %d key %q saying %q", err, tc.line, tc.key, tc.msg)
			}
		})
	}
}

func TestParseTOMLManyProblems(t *testing.T) {
	src := "site_type = \"pharmacy\"\nfoo = 1\nbar = 2\n[[guard]]\nbaz = 3\n"
	_, err := ParseTOML("s.toml", []byte(src))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 || ps[0].Line != 2 || ps[1].Line != 3 || ps[2].Line != 5 {
		t.Fatalf("got %v, want three problems on lines 2, 3 and 5", err)
	}
	if got := strings.Count(err.Error(), "\n"); got != 2 {
		t.Errorf("got %q, want one problem a line", err)
	}
}

// TestExample checks that every example parses to the defaults of its
// site type, and that a guard block as `config pin` prints it can be
// pasted into it.
func TestExample(t *testing.T) {
	hash, err := HashPIN("246813", MinPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range SiteTypes() {
		t.Run(string(st), func(t *testing.T) {
			ex, err := Example(st)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseTOML("example.toml", ex)
			if err != nil {
				t.Fatalf("the example does not parse: %v\n%s", err, ex)
			}
			want := Default(st)
			if s.Type != st || s.RetentionDays != want.RetentionDays || s.Language != want.Language || s.TimeZone != want.TimeZone {
				t.Errorf("got %+v, want %+v", s, want)
			}
			filled := string(ex) + "\n" + GuardBlock("guard-01", hash)
			s, err = ParseTOML("example.toml", []byte(filled))
			if err != nil {
				t.Fatalf("the example with a guard does not parse: %v", err)
			}
			if s.GuardFor("246813") != "guard-01" {
				t.Errorf("guard: got %+v", s.Guards)
			}
		})
	}
	if _, err := Example("bank"); err == nil {
		t.Error("an example for a bank")
	}
}

func FuzzParseTOML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "toml", "*.toml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, st := range SiteTypes() {
		ex, _ := Example(st)
		f.Add(ex)
	}
	f.Add([]byte("site_type = \"pharmacy\"\n[[guard]]\nid = \"g\"\npin_hash = \"pbkdf2-sha256$1000$c2FsdHNhbHQ$" + strings.Repeat("A", 43) + "\"\n"))
	f.Add([]byte("a.b.c = 1\n[x.y]\n[[z]]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseTOML("f.toml", b)
		if err != nil {
			var ps Problems
			if s != nil || !errors.As(err, &ps) || len(ps) == 0 || len(ps) > maxProblems {
				t.Fatalf("got %v, %v: want nil and 1 to %d Problems", s, err, maxProblems)
			}
			for _, p := range ps {
				if p.Line < 1 || p.Msg == "" {
					t.Fatalf("problem without a line or words: %+v", p)
				}
			}
			return
		}
		// What a file gives must make a config bundle a terminal loads.
		payload, err := Marshal(s)
		if err != nil {
			t.Fatalf("accepted settings do not marshal: %v", err)
		}
		if _, err := Parse(payload); err != nil {
			t.Fatalf("accepted settings do not load: %v", err)
		}
	})
}
