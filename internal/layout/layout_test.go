package layout

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// rulesFile is the repository's rules, relative to this package.
const rulesFile = "../../docs/layout-rules.txt"

// moduleGraph returns the import graph of every package of the module and
// of its dependencies, as `go list -deps` gives it (tests' imports left
// out).
func moduleGraph(t *testing.T) Graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "sentinel/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := Graph{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	if len(g) == 0 {
		t.Fatal("go list named no package")
	}
	return g
}

func readRules(t *testing.T) *Rules {
	t.Helper()
	f, err := os.Open(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules, err := Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if len(rules.Never) == 0 {
		t.Fatalf("%s holds no rule", rulesFile)
	}
	return rules
}

// TestLayout holds the module to the never-arrows of docs/layout-rules.txt.
func TestLayout(t *testing.T) {
	rules := readRules(t)
	g := moduleGraph(t)
	// A rule whose FROM names no package is a typo, and would pass for
	// ever.
	for _, r := range rules.Never {
		n := 0
		for p := range g {
			if r.From.Match(p) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s:%d: never %s ...: no package of the module matches %s", rulesFile, r.Line, r.From, r.From)
		}
	}
	vs := Check(g, rules)
	excused := 0
	for _, v := range vs {
		if v.Exception == nil {
			t.Errorf("%s", v)
		} else {
			excused++
			t.Logf("excused until %s (%s:%d): %s", v.Exception.Issue, rulesFile, v.Exception.Line, v)
		}
	}
	for _, e := range Unused(rules, vs) {
		t.Errorf("%s:%d: except %s %s %s excuses nothing any more: delete it", rulesFile, e.Line, e.From, e.To, e.Issue)
	}
	t.Logf("%d packages, %d rules, %d arrows excused by %d exceptions", len(g), len(rules.Never), excused, len(rules.Except))
}

// TestCheck shows that Check finds a forbidden arrow through others, names
// the chain where it crosses, and that an exception excuses exactly what it
// names.
func TestCheck(t *testing.T) {
	g := Graph{
		"m/cmd/d":          {"m/gate", "fmt"},
		"m/gate":           {"m/device/cam", "m/journal"},
		"m/device/cam":     {"m/device/cam/x", "m/device/camtest"},
		"m/device/cam/x":   nil,
		"m/device/camtest": {"m/device/cam"},
		"m/journal":        {"fmt"},
		"fmt":              nil,
	}
	rules, err := Parse(strings.NewReader(`
# comment
never m/gate/... m/device/... # the gate drives no device
never m/...,!m/.../*test .../*test
never m/journal m/gate
except m/cmd/... m/device/camtest #10 # until the camera adapter moves
`))
	if err != nil {
		t.Fatal(err)
	}
	vs := Check(g, rules)
	var got []string
	for _, v := range vs {
		s := strings.Join(v.Chain, " ")
		if v.Exception != nil {
			s += " (" + v.Exception.Issue + ")"
		}
		got = append(got, s)
	}
	want := []string{
		// Only the crossing into the device packages, not what cam imports.
		"m/gate m/device/cam",
		"m/cmd/d m/gate m/device/cam m/device/camtest (#10)",
		"m/device/cam m/device/camtest",
		"m/gate m/device/cam m/device/camtest",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got violations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := vs[0].String(); !strings.Contains(s, "m/gate → m/device/cam") || !strings.Contains(s, "line 3") {
		t.Errorf("violation says %q: want the chain and the rule's line", s)
	}
	if u := Unused(rules, vs); len(u) != 0 {
		t.Errorf("unused exceptions %v, want none", u)
	}
	rules.Except[0].To, _ = ParseSet("m/device/other")
	if u := Unused(rules, Check(g, rules)); len(u) != 1 || u[0].Line != 6 {
		t.Errorf("an exception excusing nothing: got unused %+v, want the one on line 6", u)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"never a",
		"never a b c",
		"except a b",
		"except a b 10",
		"allow a b",
		"never a, b",
		"never !a b",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q): got %v, want an error naming line 1", in, err)
		}
	}
}

func TestSetMatch(t *testing.T) {
	s, err := ParseSet("sentinel/...,!sentinel/.../*test,!sentinel/internal/demo/...")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"sentinel":                          true,
		"sentinel/internal/gate":            true,
		"sentinel/device/thermo/thermotest": false,
		"sentinel/internal/demo":            false,
		"sentinel/internal/demox":           true,
		"sentinelx/gate":                    false,
		"fmt":                               false,
	} {
		if got := s.Match(path); got != want {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}
