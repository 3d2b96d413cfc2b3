package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ownRules copies the rule folders of crypto/certlogic's testdata (two
// rules of a made-up country XX, three tests each) into a new directory.
func ownRules(t *testing.T) string {
	dir := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules"), dir)
	return dir
}

func checkLines(t *testing.T, out string) []ruleCheckLine {
	t.Helper()
	var lines []ruleCheckLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var c ruleCheckLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, c)
	}
	return lines
}

func TestRulesCheck(t *testing.T) {
	dir := ownRules(t)
	code, out, errOut := runCmd(t, "rules", "check", dir)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := checkLines(t, out)
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6:\n%s", len(lines), out)
	}
	first := lines[0]
	if first.Rule != "GR-XX-0001" || first.Test != filepath.Join(dir, "XX", "GR-XX-0001", "tests", "test001.json") ||
		first.Result != true || first.Expected != true {
		t.Errorf("first line %+v", first)
	}
	if !strings.Contains(errOut, "6 tests, 6 as expected, 0 differ") {
		t.Errorf("stderr %q", errOut)
	}

	// A test whose expectation the rule does not meet: exit 1, and its
	// line shows the difference.
	p := filepath.Join(dir, "XX", "VR-XX-0001", "tests", "test002.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"expected": false`, `"expected": true`, 1)), 0o644)
	code, out, errOut = runCmd(t, "rules", "check", dir)
	if code != exitRefused || !strings.Contains(errOut, "1 differ") {
		t.Fatalf("exit %d, stderr %s; want 1 and one difference", code, errOut)
	}
	for _, l := range checkLines(t, out) {
		if l.Test == p && (l.Result != false || l.Expected != true) {
			t.Errorf("line %+v, want result false, expected true", l)
		}
	}

	// A rule that does not parse: each of its tests says why.
	rp := filepath.Join(dir, "XX", "GR-XX-0001", "rule.json")
	b, _ = os.ReadFile(rp)
	os.WriteFile(rp, []byte(strings.Replace(string(b), `"+"`, `"plus"`, 1)), 0o644)
	code, out, _ = runCmd(t, "rules", "check", filepath.Join(dir, "XX", "GR-XX-0001"))
	lines = checkLines(t, out)
	if code != exitRefused || len(lines) != 3 {
		t.Fatalf("exit %d, %d lines; want 1 and 3", code, len(lines))
	}
	if s, _ := lines[0].Result.(string); lines[0].Rule != "GR-XX-0001" || !strings.HasPrefix(s, "error: ") || !strings.Contains(s, `unrecognised operator: "plus"`) {
		t.Errorf("line %+v, want an error naming the operator", lines[0])
	}
}

func TestRulesCheckUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, "rules", "check"); code != exitUsage || !strings.Contains(errOut, "DIR") {
		t.Errorf("no DIR: exit %d, %q; want 2", code, errOut)
	}
	code, out, errOut := runCmd(t, "rules", "check", "-h")
	if code != exitOK || !strings.HasPrefix(out+errOut, "usage: sentinelctl rules check DIR...") {
		t.Errorf("-h: exit %d, %q", code, out+errOut)
	}
	if code, _, errOut := runCmd(t, "rules", "check", filepath.Join(t.TempDir(), "absent")); code != exitRefused || !strings.Contains(errOut, "not a directory") {
		t.Errorf("absent DIR: exit %d, %q; want 1", code, errOut)
	}
	if code, _, errOut := runCmd(t, "rules", "check", t.TempDir()); code != exitRefused || !strings.Contains(errOut, "no rule folder") {
		t.Errorf("empty DIR: exit %d, %q; want 1", code, errOut)
	}
}

// TestRulesCheckCorpus runs the command on the EU countries' rules of the
// shared corpus, when it is present: every test as expected.
func TestRulesCheckCorpus(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "corpus", "eu-dcc-rules")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus eu-dcc-rules is missing (%v): CI must provide ../shared/corpus next to the module", err)
		}
		t.Skipf("SKIPPING: corpus eu-dcc-rules not found at %s", dir)
	}
	code, out, errOut := runCmd(t, "rules", "check", dir)
	lines := checkLines(t, out)
	if code != exitOK || len(lines) < 500 {
		t.Fatalf("exit %d, %d lines: %s", code, len(lines), errOut)
	}
	t.Logf("%s", strings.TrimSpace(errOut))
}
