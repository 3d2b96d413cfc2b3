package guidetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/internal/corpustest"
)

// bundlesGuideSections are the sections of docs/bundles.md whose sh blocks
// TestBundlesGuide runs as written, in this order. The others show
// reference syntax ([--flag], ...) that no shell runs.
var bundlesGuideSections = []string{
	"### Keys (once per deployment)",
	"### Trust",
	"### Site settings (config)",
}

// TestBundlesGuide runs the blocks of docs/bundles.md that a reader types
// as they stand: the keys, $SIGN, the trust bundle with a document signer
// and a SMART Health Card issuer, and the site settings, with the binaries
// of this tree, in a new directory that holds only the two files the
// guide assumes ops have (dsc.pem and jwks.json, from testdata/codes/trust).
// The guard's PIN comes on standard input, as config pin reads it when no
// terminal is attached. It then checks that the bundles the guide
// publishes are published and carry what the guide put in.
func TestBundlesGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: builds the binaries (-short)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		needed(t, "bash runs the guide's shell blocks: %v", err)
	}
	root := corpustest.ModuleRoot(t)
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	script.WriteString(guideBlocks(t, root, "bundles.md", bundlesGuideSections...))
	if !strings.Contains(script.String(), "SIGN=") {
		t.Fatal("docs/bundles.md's blocks no longer set $SIGN, which the publishing commands use")
	}
	script.WriteString("sentinel-central bundles list --data DATA\n")

	out := runGuideScript(t, root, script.String())
	for _, want := range []string{
		"document signer certificates: 1", // trust inspect of --dsc dsc.pem
		"SMART Health Card issuers: 1",    // --jwks https://issuer.example=jwks.json
		"pseudonym key: yes, centre's HPKE key: yes",
		"published trust version 1",
		"1 guard who may override (guard-01)", // config check after config pin
		"published config version 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("docs/bundles.md's blocks did not print %q:\n%s", want, out)
		}
	}
}

// TestEURulesGuide runs docs/eu-rules.md's "Rules in the field" block as
// written: the policy published with Austria's business rules, after the
// keys, trust and site settings of docs/bundles.md that give it $SIGN and a
// supermarket's settings. Its two files come from elsewhere: the policy
// source from `policy example`, as the guides say to start, and rules/ is
// the EU rules corpus (the test skips without it, and fails in CI).
func TestEURulesGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: builds the binaries (-short)")
	}
	root := corpustest.ModuleRoot(t)
	rules := corpustest.Dir(t, "eu-dcc-rules")
	if _, err := exec.LookPath("bash"); err != nil {
		needed(t, "bash runs the guide's shell blocks: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(root, "docs", "eu-rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	field := shBlocksUnder(string(md), "## Rules in the field")
	if len(field) == 0 {
		t.Fatal(`docs/eu-rules.md has no sh block under "## Rules in the field"`)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	script.WriteString(guideBlocks(t, root, "bundles.md", bundlesGuideSections...))
	script.WriteString("sentinel-central policy example --site-type supermarket --out supermarket.policy\n")
	script.WriteString("ln -s " + shellQuote(rules) + " rules\n")
	script.WriteString(field[0]) // the second is `verify ... HC1:...`, with a placeholder code
	out := runGuideScript(t, root, script.String())
	for _, want := range []string{
		"published policy version 1 from supermarket.policy",
		"EU DCCs must pass the acceptance rules of AT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("docs/eu-rules.md's block did not print %q:\n%s", want, out)
		}
	}
}

// guideBlocks returns the sh blocks under each of the sections of
// docs/FILE, in order, and fails the test when a section has none.
func guideBlocks(t *testing.T, root, file string, sections ...string) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(root, "docs", file))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, sec := range sections {
		blocks := shBlocksUnder(string(md), sec)
		if len(blocks) == 0 {
			t.Fatalf("docs/%s has no sh block under %q", file, sec)
		}
		for _, bl := range blocks {
			b.WriteString(bl)
		}
	}
	return b.String()
}

// runGuideScript runs a script of guide blocks in bash, in a new directory
// that holds only the dsc.pem and jwks.json that docs/bundles.md assumes
// ops have (from testdata/codes/trust), with this tree's binaries first on
// PATH. The guard's PIN comes on standard input, as config pin reads it
// when no terminal is attached. It fails the test when the script fails,
// and returns what it printed.
func runGuideScript(t *testing.T, root, script string) string {
	t.Helper()
	dir := t.TempDir()
	for from, to := range map[string]string{"dsc-CN.pem": "dsc.pem", "shc-jwks.json": "jwks.json"} {
		if err := copyFile(filepath.Join(root, "testdata", "codes", "trust", from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinaries(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C.UTF-8"}
	cmd.Stdin = strings.NewReader("246813\n") // config pin's PIN
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guide's blocks failed: %v\nscript:\n%s\noutput:\n%s", err, script, out)
	}
	return string(out)
}

// shBlocksUnder returns the text of the ```sh blocks between the heading
// line and the next heading of any level (a line starting with # outside
// a code block).
func shBlocksUnder(md, heading string) []string {
	var (
		out             []string
		under, in, isSh bool
		body            strings.Builder
	)
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in, isSh = true, strings.TrimSpace(line[3:]) == "sh"
			body.Reset()
		case in && strings.TrimSpace(line) == "```":
			in = false
			if under && isSh {
				out = append(out, body.String())
			}
		case in:
			body.WriteString(line + "\n")
		case strings.HasPrefix(line, "#"):
			if under {
				return out
			}
			under = line == heading
		}
	}
	return out
}
