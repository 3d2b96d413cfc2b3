package main

import (
	"strings"
	"testing"

	"sentinel/internal/cli/clitest"
)

// TestEveryCommandUsage runs every command with an unknown flag and every
// time flag with a bad time: each must exit 2 and say what was wrong.
func TestEveryCommandUsage(t *testing.T) {
	clitest.Check(t, clitest.Program{
		Name: "sentinelctl",
		Run:  run,
		WantLeaves: [][]string{
			{"verify"}, {"scan"}, {"selftest"}, {"calibrate", "thermo"}, {"calibrate", "show"},
			{"config", "check"}, {"journal", "export"}, {"journal", "salvage"}, {"enrol"}, {"status"}, {"rules", "check"},
		},
		WantTimeFlags: []string{"verify --at", "journal export --from", "journal export --to"},
	})
}

// TestReportedRefusals: a refusal that the command's output already
// reports in full (a configuration with problems, a refused code) exits 1
// and adds no error line to stderr (cli.ErrReported); a refusal that the
// output does not report says why on stderr.
func TestReportedRefusals(t *testing.T) {
	bad := writeFile(t, t.TempDir(), "bad.toml", "[terminal]\nid = 3\n")
	for _, tc := range []struct {
		name      string
		args      []string
		stderr    string // exactly, or a part of it when quiet is false
		quiet     bool
		wantInOut string
	}{
		{"config with problems", []string{"config", "check", bad}, "", true, "problem"},
		{"a refused code", []string{"verify", "--lang", "en", "HC1:nonsense"}, "sentinelctl verify: no --trust given: every code will be refused as untrusted (pass the issuers' keys, certificates or a trust bundle)\n", true, "REFUSED"},
		{"no configuration", []string{"config", "check", "/nonexistent/s.toml"}, "", true, "no such file"},
		{"no journal", []string{"journal", "verify", "--data-dir", t.TempDir()}, "sentinelctl journal verify: no journal at", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCtl(tc.args...)
			if code != exitRefused {
				t.Errorf("got exit %d, want %d", code, exitRefused)
			}
			if tc.quiet && errOut != tc.stderr || !tc.quiet && !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q, want %q", errOut, tc.stderr)
			}
			if !strings.Contains(out, tc.wantInOut) {
				t.Errorf("stdout %q does not say %q", out, tc.wantInOut)
			}
		})
	}
}

// TestMissingConfiguration: the device commands run without a
// configuration file (the default path on a machine that has none, or a
// mistyped --config) say which file is missing and what to give, instead
// of the bare "open ...: no such file or directory" status printed.
func TestMissingConfiguration(t *testing.T) {
	missing := t.TempDir() + "/sentinel.toml"
	for _, args := range [][]string{
		{"status", "--config", missing},
		{"selftest", "--config", missing},
		{"scan", "--config", missing},
	} {
		code, _, errOut := runCtl(args...)
		if code != exitRefused {
			t.Errorf("%v: exit %d, want %d", args, code, exitRefused)
		}
		for _, want := range []string{"no configuration file at " + missing, "--config FILE", "sentinelctl config example"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: stderr %q does not say %q", args, errOut, want)
			}
		}
	}
}
