package firmwareconfig

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unitDirectives parses a systemd unit into section -> key -> values.
func unitDirectives(t *testing.T, unit []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(unit))
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
				t.Fatalf("unit line %d: %q is not key=value in a section", n, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	u := unitDirectives(t, SystemdUnit())
	svc := u["Service"]
	want := map[string]string{
		"Type":                  "notify",
		"Restart":               "always",
		"User":                  "sentinel",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"NoNewPrivileges":       "yes",
		"PrivateTmp":            "yes",
		"ReadWritePaths":        DefaultDataDir,
		"DevicePolicy":          "closed",
		"CapabilityBoundingSet": "",
	}
	for k, v := range want {
		got, ok := svc[k]
		if !ok || got[len(got)-1] != v {
			t.Errorf("[Service] %s: got %q, want %q", k, got, v)
		}
	}
	if got := svc["WatchdogSec"]; len(got) != 1 || got[0] == "" || got[0] == "0" {
		t.Errorf("WatchdogSec: got %q, want a watchdog", got)
	}
	groups := strings.Fields(strings.Join(svc["SupplementaryGroups"], " "))
	for _, g := range []string{"dialout", "input", "i2c", "gpio", "video"} {
		if !contains(groups, g) {
			t.Errorf("SupplementaryGroups %v: missing %s", groups, g)
		}
	}
	if !strings.Contains(strings.Join(svc["ExecStart"], ""), "sentineld") {
		t.Errorf("ExecStart: got %q, want sentineld", svc["ExecStart"])
	}
	if got := u["Install"]["WantedBy"]; len(got) != 1 || got[0] != "multi-user.target" {
		t.Errorf("WantedBy: got %q", got)
	}
	if _, ok := svc["PrivateDevices"]; ok {
		t.Error("PrivateDevices is set: it would hide the scanners, cameras and buses")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

var udevPair = regexp.MustCompile(`^\s*([A-Z_]+)(\{[^}]*\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*$`)

func TestUdevRules(t *testing.T) {
	keys := map[string]bool{
		"SUBSYSTEM": true, "SUBSYSTEMS": true, "KERNEL": true, "ENV": true, "ATTR": true,
		"ATTRS": true, "GROUP": true, "MODE": true, "SYMLINK": true,
	}
	groups := map[string]bool{}
	subsystems := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(UdevRules()))
	rules := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rules++
		hasMatch, hasAssign := false, false
		for _, part := range strings.Split(line, ",") {
			m := udevPair.FindStringSubmatch(part)
			if m == nil {
				t.Errorf("udev line %d: %q is not KEY==\"value\" or KEY=\"value\"", n, part)
				continue
			}
			if !keys[m[1]] {
				t.Errorf("udev line %d: unexpected key %s", n, m[1])
			}
			switch m[3] {
			case "==", "!=":
				hasMatch = true
			default:
				hasAssign = true
			}
			if m[1] == "GROUP" {
				groups[m[4]] = true
			}
			if m[1] == "SUBSYSTEM" && m[3] == "==" {
				subsystems[m[4]] = true
			}
			if m[1] == "MODE" && m[4] != "0660" {
				t.Errorf("udev line %d: MODE %s, want 0660 (owner and group only)", n, m[4])
			}
		}
		if !hasMatch || !hasAssign {
			t.Errorf("udev line %d: a rule needs a match and an assignment", n)
		}
	}
	if rules == 0 {
		t.Fatal("no udev rules")
	}
	for _, g := range []string{"dialout", "input", "i2c", "gpio", "video"} {
		if !groups[g] {
			t.Errorf("no rule gives devices to group %s", g)
		}
	}
	for _, s := range []string{"tty", "input", "i2c-dev", "gpio", "video4linux"} {
		if !subsystems[s] {
			t.Errorf("no rule for subsystem %s", s)
		}
	}
	if !bytes.Contains(UdevRules(), []byte(`SYMLINK+="sentinel/scanner-$env{ID_VENDOR_ID}-$env{ID_MODEL_ID}"`)) {
		t.Error("no VID:PID symlink for serial scanners")
	}
}

// TestSystemdAnalyze checks the unit with systemd's own tools: verify must
// accept it and security must rate its exposure low.
func TestSystemdAnalyze(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing: CI must install Debian's systemd package")
		}
		t.Skip("SKIPPING: systemd-analyze is not installed (Debian package systemd)")
	}
	// sentineld is not installed here: point ExecStart at a binary that is.
	unit := strings.Replace(string(SystemdUnit()), "ExecStart=/usr/bin/sentineld", "ExecStart=/bin/true", 1)
	path := filepath.Join(t.TempDir(), "sentineld.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "verify", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(tool, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for sentineld\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || level > 2.5 {
		t.Errorf("got exposure %s, want at most 2.5 (systemd calls up to 2.9 OK)", m[1])
	}
}

// TestOneConfigPath keeps one configuration path everywhere: the unit
// starts sentineld with DefaultConfigPath, and every file of the
// repository that names a configuration file under /etc/sentinel names
// that one.
func TestOneConfigPath(t *testing.T) {
	svc := unitDirectives(t, SystemdUnit())["Service"]
	if got := strings.Join(svc["ExecStart"], ""); !strings.Contains(got, "--config "+DefaultConfigPath) {
		t.Errorf("ExecStart %q does not pass --config %s", got, DefaultConfigPath)
	}
	mention := regexp.MustCompile(`/etc/sentinel/[A-Za-z0-9_.-]+\.toml`)
	root := ".."
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "testdata" || n == "bench" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".toml", ".service", ".rules":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range mention.FindAll(b, -1) {
			if string(m) != DefaultConfigPath {
				t.Errorf("%s names %s: the configuration is %s", p, m, DefaultConfigPath)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
