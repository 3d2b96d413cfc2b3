package main

import "testing"

// terminalHeader is what every test configuration starts with: terminal
// T1 of site S1 and its central server.
const terminalHeader = `[terminal]
id = "T1"
site_id = "S1"
[central]
url = "https://central.example.org"
`

// laneConfig writes a configuration of one lane "in" made of the blocks
// in lane, and returns its path.
func laneConfig(t *testing.T, lane string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "s.toml", terminalHeader+"[[lane]]\nname = \"in\"\n"+lane)
}
