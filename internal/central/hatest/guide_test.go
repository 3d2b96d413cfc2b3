package hatest_test

import (
	"fmt"
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

// TestGuidePatroni checks the Patroni node configuration of
// docs/scaling.md with patroni --validate-config, as the guide says to
// before a node's first start. The validator binds the listen addresses,
// so the guide's 10.0.0.x listeners become free loopback ports here; the
// rest is as written. The guide's file lacked pg_hba, initdb and the
// rewind user, and was refused.
func TestGuidePatroni(t *testing.T) {
	hatest.Need(t, "patroni")
	doc, err := os.ReadFile("../../../docs/scaling.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(scope: .*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/scaling.md has no Patroni configuration (a ```yaml block starting with scope:)")
	}
	listen := regexp.MustCompile(`(?m)^(\s*)listen: \S+$`)
	n := 0
	cfg := listen.ReplaceAllStringFunc(string(m[1]), func(l string) string {
		n++
		indent := listen.FindStringSubmatch(l)[1]
		return fmt.Sprintf("%slisten: 127.0.0.1:%d", indent, hatest.FreePort(t))
	})
	if n != 2 {
		t.Fatalf("want the restapi's and postgresql's listen in the guide's configuration, found %d:\n%s", n, m[1])
	}
	path := filepath.Join(t.TempDir(), "patroni.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("patroni", "--validate-config", path).CombinedOutput(); err != nil {
		t.Errorf("patroni --validate-config refuses docs/scaling.md's configuration: %v\n%s\n%s", err, out, cfg)
	}
}
