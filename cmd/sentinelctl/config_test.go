package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	firmwareconfig "sentinel/firmware-config"
)

// runCmd runs sentinelctl in-process and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func exampleFile(t *testing.T, name string) string {
	t.Helper()
	b, err := firmwareconfig.Example(name)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), name+".toml", string(b))
}

func TestConfigCheckOK(t *testing.T) {
	for _, name := range firmwareconfig.ExampleNames() {
		t.Run(name, func(t *testing.T) {
			file := exampleFile(t, name)
			code, out, errOut := runCmd(t, "config", "check", file)
			if code != exitOK {
				t.Fatalf("got exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			cfg, err := firmwareconfig.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1+len(cfg.Lanes) {
				t.Fatalf("got %d lines, want a header and one per lane (%d):\n%s", len(lines), len(cfg.Lanes), out)
			}
			if !strings.Contains(lines[0], ": OK: terminal "+cfg.Terminal.ID) {
				t.Errorf("got header %q, want OK and the terminal's id", lines[0])
			}
			for i, l := range cfg.Lanes {
				if !strings.HasPrefix(lines[i+1], "  lane "+l.Name+": ") {
					t.Errorf("got line %q, want lane %s's summary", lines[i+1], l.Name)
				}
			}
		})
	}
}

func TestConfigCheckSummary(t *testing.T) {
	file := exampleFile(t, "supermarket")
	_, out, _ := runCmd(t, "config", "check", file)
	want := "  lane in-1: scanner[0] serial usb 0c2e:0b61 115200 baud cr; camera v4l2 /dev/sentinel/camera-046d-085c 1280x720@15; thermometer mlx90614 0x5A on bus 1; relay GPIO17 pulse 500ms active-low; tower green GPIO22 yellow GPIO23 red GPIO24; buzzer GPIO25\n"
	if !strings.Contains(out, want) {
		t.Errorf("got\n%s\nwant a line\n%s", out, want)
	}
}

const brokenConfig = `site_type = "pharmacy"
[terminal]
id = "T1"
site_id = "S1"
[central]
url = "https://central.example.org"
[[lane]]
name = "in-1"
scaner = "x"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event3"
  [lane.thermometer]
  address = 0x1FF
`

func TestConfigCheckProblems(t *testing.T) {
	file := writeFile(t, t.TempDir(), "sentinel.toml", brokenConfig)
	code, out, _ := runCmd(t, "config", "check", file)
	if code != exitRefused {
		t.Errorf("got exit %d, want 1", code)
	}
	want := file + `: 3 problems
  config line 1: "site_type" is a site setting that ops manage: it comes in the config bundle from the central system, not from this file; remove it
  config line 9: unknown key "lane[0].scaner" — did you mean "scanner"?
  config line 14: lane[0].thermometer.address: 0x1FF is not a 7-bit I2C address: the MLX90614's own is 0x5A (see i2cdetect)
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestConfigCheckJSON(t *testing.T) {
	file := writeFile(t, t.TempDir(), "sentinel.toml", brokenConfig)
	// The flag may follow the file.
	code, out, _ := runCmd(t, "config", "check", file, "--json")
	if code != exitRefused {
		t.Errorf("got exit %d, want 1", code)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.OK || len(rep.Problems) != 3 {
		t.Fatalf("got ok %v and %d problems, want false and 3", rep.OK, len(rep.Problems))
	}
	want := []configProblem{
		{Kind: "bundle-key", Line: 1, Field: "site_type"},
		{Kind: "key", Line: 9, Field: "lane[0].scaner", Hint: "scanner"},
		{Kind: "value", Line: 14, Field: "lane[0].thermometer.address", Value: "0x1FF"},
	}
	for i, w := range want {
		got := rep.Problems[i]
		if got.Kind != w.Kind || got.Line != w.Line || got.Field != w.Field || (w.Hint != "" && got.Hint != w.Hint) || got.Value != w.Value {
			t.Errorf("problem %d: got %+v, want %+v", i, got, w)
		}
		if got.Message == "" {
			t.Errorf("problem %d: no message", i)
		}
	}

	code, out, _ = runCmd(t, "config", "check", "--json", exampleFile(t, "pharmacy"))
	if code != exitOK {
		t.Fatalf("got exit %d, want 0", code)
	}
	rep = configReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Terminal != "PH-0107-T1" || len(rep.Lanes) != 1 || rep.Lanes[0].Name != "door" {
		t.Errorf("got %+v, want the pharmacy's terminal and its lane", rep)
	}
}

func TestConfigUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no subcommand", []string{"config"}, exitUsage},
		{"unknown subcommand", []string{"config", "lint"}, exitUsage},
		{"no file", []string{"config", "check"}, exitUsage},
		{"two files", []string{"config", "check", "a.toml", "b.toml"}, exitUsage},
		{"bad flag", []string{"config", "check", "--yaml", "a.toml"}, exitUsage},
		{"help", []string{"config", "check", "-h"}, exitOK},
		{"missing file", []string{"config", "check", filepath.Join(dir, "missing.toml")}, exitRefused},
		{"unknown example", []string{"config", "example", "stadium"}, exitUsage},
		// -h after a subcommand asks for its usage, as everywhere else; it
		// is no example's name and no extra argument.
		{"example help", []string{"config", "example", "-h"}, exitOK},
		{"unit help", []string{"config", "unit", "-h"}, exitOK},
		{"udev help", []string{"config", "udev", "--help"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, _ := runCmd(t, tt.args...); code != tt.want {
				t.Errorf("got exit %d, want %d", code, tt.want)
			}
		})
	}
}

func TestConfigExample(t *testing.T) {
	code, out, _ := runCmd(t, "config", "example")
	if code != exitOK || strings.Fields(out)[0] != "compound" {
		t.Fatalf("got exit %d, list %q", code, out)
	}
	code, out, _ = runCmd(t, "config", "example", "compound")
	if code != exitOK {
		t.Fatalf("got exit %d", code)
	}
	// What it prints is a configuration that checks.
	file := writeFile(t, t.TempDir(), "c.toml", out)
	if code, out, _ := runCmd(t, "config", "check", file); code != exitOK {
		t.Errorf("printed example does not check: %s", out)
	}
}

// TestConfigUnitUdev: the files an installer writes from the binary alone
// are the embedded ones.
func TestConfigUnitUdev(t *testing.T) {
	for name, want := range map[string][]byte{"unit": firmwareconfig.SystemdUnit(), "udev": firmwareconfig.UdevRules()} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"config", name}, strings.NewReader(""), &stdout, &stderr); code != exitOK || !bytes.Equal(stdout.Bytes(), want) || len(want) == 0 {
			t.Errorf("config %s: exit %d, %d bytes (want %d) %s", name, code, stdout.Len(), len(want), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "unit", "extra"}, strings.NewReader(""), &stdout, &stderr); code != exitUsage {
		t.Errorf("config unit extra: exit %d, want %d", code, exitUsage)
	}
}
