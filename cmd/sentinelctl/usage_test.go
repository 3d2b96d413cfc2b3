package main

import (
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
