package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/corpustest"
)

// TestColourRulesGuide runs the first block of docs/central.md's "Colour
// rules" as written, on a new centre whose data directory has no store
// yet (no serve or devices add ran): the areas, the site, the cases, a dry
// run, a signed deployment, the sweep and an explanation. The block's
// files are made here (the keys, cases.csv), its paths are moved into the
// test's directories and each engine command gets --data; nothing else is
// changed. Before the engine's changes made the store, its first command
// refused with "no central store".
func TestColourRulesGuide(t *testing.T) {
	root := corpustest.ModuleRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "docs", "central.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := colourRulesBlock(t, string(md))
	dir := t.TempDir()
	data := filepath.Join(dir, "DATA")
	mustRun(t, "trust", "root-keygen", "--out", dir)
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(data, "keys"), "--name", "serve")
	if err := os.WriteFile(filepath.Join(dir, "cases.csv"), []byte("holder,confirmed_at,home\nZJ:1024,2020-02-13T08:00:00Z,ZJ-NB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, l := range lines {
		words := shellWords(t, l)
		if len(words) == 0 || words[0] != "sentinel-central" {
			t.Fatalf("docs/central.md's colour rules block: %q is not a sentinel-central command", l)
		}
		args := words[1:]
		for i, a := range args {
			switch {
			case strings.HasPrefix(a, "DATA/"):
				args[i] = filepath.Join(data, strings.TrimPrefix(a, "DATA/"))
			case a == "root.key" || a == "root.pub" || a == "cases.csv":
				args[i] = filepath.Join(dir, a)
			case strings.HasPrefix(a, "docs/"):
				args[i] = filepath.Join(root, a)
			}
		}
		if args[0] != "trust" {
			args = append(args, "--data", data)
		}
		outs = append(outs, mustRun(t, args...))
	}
	all := strings.Join(outs, "\n")
	for _, want := range []string{
		"area ZJ-NB is high risk",
		"recorded 1 confirmed case",
		"ZJ:1024  green  red  ZJ confirmed", // the dry run
		"deployed ZJ #1",
		"in force",
		"ZJ规则", // the explanation, in Chinese
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the guide's block printed no %q:\n%s", want, all)
		}
	}
}

// colourRulesBlock returns the logical lines of the first sh block under
// "## Colour rules".
func colourRulesBlock(t *testing.T, md string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(md, "\n## Colour rules\n")
	if !ok {
		t.Fatal("docs/central.md has no section \"## Colour rules\"")
	}
	_, block, ok := strings.Cut(sec, "\n```sh\n")
	if !ok {
		t.Fatal("docs/central.md's colour rules have no sh block")
	}
	block, _, _ = strings.Cut(block, "\n```")
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(block, "\n") {
		if c, ok := strings.CutSuffix(strings.TrimRight(l, " "), "\\"); ok {
			cur.WriteString(strings.TrimSpace(c) + " ")
			continue
		}
		cur.WriteString(strings.TrimSpace(l))
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if len(out) < 8 {
		t.Fatalf("docs/central.md's colour rules block has %d commands, want the guide's areas, sites, cases, rules and explain", len(out))
	}
	return out
}

// shellWords splits a command line into words as sh does for the plain
// words and quotes of the guide (no variables, no escapes).
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case r == '$' || r == '`' || r == '\\':
			t.Fatalf("%q: the colour rules block should need no shell expansion", s)
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("%q: unterminated quote", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
