package appliance

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The units, relative to this package.
var (
	sentineldUnit = filepath.Join("..", "..", "firmware-config", "systemd", "sentineld.service")
	kioskUnit     = filepath.Join("..", "..", "firmware-config", "systemd", "sentinel-kiosk.service")
	centralUnit   = filepath.Join("..", "..", "packaging", "systemd", "sentinel-central.service")
)

// need returns the path of a tool, or skips the test loudly (fails under
// CI=true, where .ci/run installs it).
func need(t testing.TB, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := strings.ToUpper(tool) + " NOT INSTALLED: " + t.Name() + " did not run (apt-get install " + pkg + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// directives parses a unit into section -> key -> values.
func directives(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", path, n, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func TestCentralUnit(t *testing.T) {
	u := directives(t, centralUnit)
	svc := u["Service"]
	for k, want := range map[string]string{
		"Type": "notify", "User": "sentinel-central", "StateDirectory": "sentinel-central",
		"ReadWritePaths": "/var/lib/sentinel-central", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestartPreventExitStatus": "2",
		"EnvironmentFile": "/etc/sentinel-central/serve.env",
	} {
		if got := last(svc[k]); got != want {
			t.Errorf("[Service] %s: got %q, want %q", k, got, want)
		}
	}
	if w := last(svc["WatchdogSec"]); w == "" || w == "0" {
		t.Error("no WatchdogSec: serve pings the watchdog, the unit must ask for it")
	}
	if got := last(svc["ExecStart"]); !strings.HasPrefix(got, "/usr/bin/sentinel-central serve --data /var/lib/sentinel-central ") {
		t.Errorf("ExecStart %q: want serve on /var/lib/sentinel-central", got)
	}
}

func TestKioskUnit(t *testing.T) {
	u := directives(t, kioskUnit)
	svc := u["Service"]
	for k, want := range map[string]string{"User": "sentinel-kiosk", "Restart": "always", "TTYPath": "/dev/tty1", "PAMName": "login"} {
		if got := last(svc[k]); got != want {
			t.Errorf("[Service] %s: got %q, want %q", k, got, want)
		}
	}
	argv := strings.Fields(last(svc["ExecStart"]))
	if len(argv) < 4 || argv[0] != "/usr/bin/cage" || !strings.HasSuffix(kioskBrowser(t)[0], "chromium") {
		t.Errorf("ExecStart %q: want cage running chromium", argv)
	}
	app, kiosk := "", false
	for _, a := range kioskBrowser(t) {
		if v, ok := strings.CutPrefix(a, "--app="); ok {
			app = v
		}
		kiosk = kiosk || a == "--kiosk"
	}
	// The start page, which waits for the guard display's default
	// listener (TestKioskFirstLoadBeforeDaemon runs it).
	const start = "file:///usr/share/sentinel-terminal/kiosk-start.html?to=http://127.0.0.1:8080/"
	if !kiosk || app != start {
		t.Errorf("chromium %q: want --kiosk --app=%s", kioskBrowser(t), start)
	}
	if !strings.Contains(strings.Join(u["Unit"]["After"], " "), "sentineld.service") {
		t.Error("the kiosk is not ordered after sentineld: its first page load would find nothing listening")
	}
}

// kioskBrowser returns the browser's command line in the kiosk unit: what
// cage runs after "--".
func kioskBrowser(t *testing.T) []string {
	t.Helper()
	argv := strings.Fields(last(directives(t, kioskUnit)["Service"]["ExecStart"]))
	for i, a := range argv {
		if a == "--" {
			return argv[i+1:]
		}
	}
	t.Fatalf("kiosk ExecStart %q: no -- before the browser", argv)
	return nil
}

// TestUnitsVerify runs systemd-analyze verify on every unit, with each
// program this machine lacks replaced by /bin/true (verify checks that
// ExecStart is executable), and rates the centre's exposure as the
// terminal's is rated (firmware-config's TestSystemdAnalyze).
func TestUnitsVerify(t *testing.T) {
	tool := need(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	env := filepath.Join(dir, "serve.env")
	if err := os.WriteFile(env, []byte("SERVE_FLAGS=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, unit := range []string{sentineldUnit, kioskUnit, centralUnit} {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, prog := range []string{"/usr/bin/sentineld", "/usr/bin/sentinel-central", "/usr/bin/cage"} {
			if _, err := os.Stat(prog); err != nil {
				s = strings.ReplaceAll(s, "ExecStart="+prog, "ExecStart=/bin/true")
			}
		}
		s = strings.ReplaceAll(s, "EnvironmentFile=/etc/sentinel-central/serve.env", "EnvironmentFile="+env)
		path := filepath.Join(dir, filepath.Base(unit))
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(tool, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(unit), err, out)
		}
	}
	out, err := exec.Command(tool, "security", "--offline=yes", "--no-pager", filepath.Join(dir, "sentinel-central.service")).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for sentinel-central\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, err := strconv.ParseFloat(string(m[1]), 64); err != nil || level > 2.5 {
		t.Errorf("sentinel-central.service: exposure %s, want at most 2.5 like sentineld's", m[1])
	}
}
