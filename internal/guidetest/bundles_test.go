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
	md, err := os.ReadFile(filepath.Join(root, "docs", "bundles.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, sec := range bundlesGuideSections {
		blocks := shBlocksUnder(string(md), sec)
		if len(blocks) == 0 {
			t.Fatalf("docs/bundles.md has no sh block under %q", sec)
		}
		for _, b := range blocks {
			script.WriteString(b)
		}
	}
	if !strings.Contains(script.String(), "SIGN=") {
		t.Fatal("docs/bundles.md's blocks no longer set $SIGN, which the publishing commands use")
	}
	script.WriteString("sentinel-central bundles list --data DATA\n")

	dir := t.TempDir()
	for from, to := range map[string]string{"dsc-CN.pem": "dsc.pem", "shc-jwks.json": "jwks.json"} {
		if err := copyFile(filepath.Join(root, "testdata", "codes", "trust", from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinaries(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C.UTF-8"}
	cmd.Stdin = strings.NewReader("246813\n") // config pin's PIN
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/bundles.md's blocks failed: %v\nscript:\n%s\noutput:\n%s", err, script.String(), out)
	}
	for _, want := range []string{
		"document signer certificates: 1", // trust inspect of --dsc dsc.pem
		"SMART Health Card issuers: 1",    // --jwks https://issuer.example=jwks.json
		"pseudonym key: yes, centre's HPKE key: yes",
		"published trust version 1",
		"1 guard who may override (guard-01)", // config check after config pin
		"published config version 1",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("docs/bundles.md's blocks did not print %q:\n%s", want, out)
		}
	}
	for _, kind := range []string{"trust", "config"} {
		if _, err := os.Stat(filepath.Join(dir, "DATA", "bundles", kind+".bundle")); err != nil {
			t.Errorf("the %s bundle the guide publishes is not in DATA/bundles: %v", kind, err)
		}
	}
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
