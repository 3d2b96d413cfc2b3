package guidetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sentinel/internal/corpustest"
	"slices"
	"strings"
	"testing"
	"time"
)

// programs are the binaries whose command lines the guides show.
var programs = []string{"sentinel-central", "sentinelctl", "sentineld"}

// TestGuideCommands checks every command of our programs in the shell
// blocks of the README and docs/*.md, walkthrough or not (the
// installation, calibration and reference blocks that no test runs), and
// in the inline code spans of their prose (`sentinelctl status --wait 2m`):
// its subcommand exists and its -h lists every flag it uses. A guide that
// names a flag the code has not (or no longer has) fails here.
func TestGuideCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: builds the binaries (-short)")
	}
	root := corpustest.ModuleRoot(t)
	bin := buildBinaries(t, root)
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	var cmds []Command
	for _, f := range files {
		md, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		cmds = append(cmds, Commands(rel, md, programs...)...)
		cmds = append(cmds, InlineCommands(rel, md, programs...)...)
	}
	if len(cmds) < 30 {
		t.Fatalf("found %d commands of %v in the guides, want the guides' many", len(cmds), programs)
	}
	help := map[string]helpAnswer{}
	for _, c := range cmds {
		if err := checkCommand(bin, c, help); err != "" {
			t.Errorf("%s\n\t%s", c, err)
		}
	}
	t.Logf("checked %d commands against -h", len(cmds))
}

type helpAnswer struct {
	ok   bool
	text string
}

var (
	subword  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	flagWord = regexp.MustCompile(`^\[?(-{1,2})([a-z][a-z0-9-]*)`)
)

// checkCommand returns what is wrong with c, or "".
func checkCommand(bin string, c Command, cache map[string]helpAnswer) string {
	var subs, flags []string
	for _, a := range c.Args {
		if m := flagWord.FindStringSubmatch(a); m != nil {
			if m[2] != "h" && m[2] != "help" && !slices.Contains(flags, m[2]) {
				flags = append(flags, m[2])
			}
			continue
		}
		if len(flags) == 0 && subword.MatchString(a) {
			subs = append(subs, a)
		}
	}
	var missing []string
	deepest := -1 // the most subcommand words whose -h answers
	for k := len(subs); k >= 0; k-- {
		if k == 0 && len(subs) > 0 && c.Program != "sentineld" {
			break // the program's own -h lists commands, not flags
		}
		key := c.Program + " " + strings.Join(subs[:k], " ")
		h, ok := cache[key]
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, filepath.Join(bin, c.Program), append(append([]string{}, subs[:k]...), "-h")...)
			out, err := cmd.CombinedOutput()
			cancel()
			h = helpAnswer{ok: err == nil, text: string(out)}
			cache[key] = h
		}
		if !h.ok {
			continue
		}
		deepest = max(deepest, k)
		missing = missing[:0]
		for _, f := range flags {
			if !regexp.MustCompile(`(?m)^\s*-` + regexp.QuoteMeta(f) + `(\s|$)`).MatchString(h.text) {
				missing = append(missing, "--"+f)
			}
		}
		if len(missing) == 0 {
			return ""
		}
		if k == len(subs) {
			return strings.TrimSpace(key) + " -h lists no " + strings.Join(missing, ", ")
		}
	}
	full := strings.TrimSpace(c.Program + " " + strings.Join(subs, " "))
	if deepest < len(subs) {
		return "no such command: " + full + " -h fails"
	}
	return full + " -h lists no " + strings.Join(missing, ", ")
}
