package main

import (
	"testing"

	"sentinel/internal/cli/clitest"
)

// TestEveryCommandUsage runs every command with an unknown flag and every
// time flag with a bad time: each must exit 2 and say what was wrong.
func TestEveryCommandUsage(t *testing.T) {
	clitest.Check(t, clitest.Program{
		Name:  "sentinel-central",
		Run:   run,
		Extra: [][]string{{"issue", "dcc"}},
		WantLeaves: [][]string{
			{"trust", "build"}, {"trust", "inspect"}, {"issue"}, {"issue", "dcc"}, {"devices", "add"},
			{"bundles", "publish"}, {"config", "pin"}, {"serve"}, {"status", "set"}, {"export"}, {"trace"},
			{"policy", "example"}, {"backup"},
		},
		WantTimeFlags: []string{
			"export --from", "export --to", "status set --effective", "status set --until", "status revoke --until",
			"issue --at", "issue --since", "issue dcc --at", "issue dcc --date",
			"trust build --issued", "trust delegate --from", "trust keygen --from", "trust keygen --to", "trust inspect --at",
		},
	})
}
