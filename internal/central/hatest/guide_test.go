package hatest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sentinel/internal/central/hatest"
)

// TestGuideHAProxy checks the HAProxy configuration that docs/scaling.md
// gives (every ```haproxy block, in order, as one file) with haproxy -c:
// the guide's load balancer for the central servers and for the Patroni
// nodes must be one that HAProxy accepts.
func TestGuideHAProxy(t *testing.T) {
	hatest.Need(t, "haproxy")
	doc, err := os.ReadFile("../../../docs/scaling.md")
	if err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	for _, m := range regexp.MustCompile("(?s)```haproxy\n(.*?)```").FindAllSubmatch(doc, -1) {
		cfg.Write(m[1])
	}
	if !strings.Contains(cfg.String(), "/primary") || !strings.Contains(cfg.String(), "mode tcp") {
		t.Fatalf("docs/scaling.md lacks the HAProxy configuration of the servers (mode tcp) or of Patroni (/primary):\n%s", cfg.String())
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", path).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c refuses docs/scaling.md's configuration: %v\n%s\n%s", err, out, cfg.String())
	}
}
