package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCentreLinked: sentinelctl, the installer's and guard's tool, links
// no package of the centre (ARCHITECTURE.md's arrows); the terminal's side
// of enrolment is sync/enrol.
func TestNoCentreLinked(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "sentinel/internal/central") {
			t.Errorf("sentinelctl links %s", p)
		}
	}
}
