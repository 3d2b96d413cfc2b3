package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
)

// thermoConfig writes a configuration whose lanes "a" and "b" have a
// thermometer on buses "1" and "2"; with one lane only "a".
func thermoConfig(t *testing.T, twoLanes bool) (path, dataDir string) {
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	s := `# The installer's comment stays.
data_dir = "` + dataDir + `"
` + terminalHeader + `[[lane]]
name = "a"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event1"
  [lane.thermometer]
  bus = "1"
`
	if twoLanes {
		s += `[[lane]]
name = "b"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event2"
  [lane.thermometer]
  bus = "2"
`
	}
	return writeFile(t, dir, "sentinel.toml", s), dataDir
}

func TestCalibrateThermo(t *testing.T) {
	m := newTestMachine(t)
	// A blackbody at 37.00 °C that the sensor reads as 36.79/36.81 °C.
	m.buses["1"] = &i2ctest.Playback{Ops: mlxSamples(40, 36.79, 23.0), DontPanic: true}
	cfg, dataDir := thermoConfig(t, false)
	before, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCmd(t, "calibrate", "thermo", "--reference", "37.0", "--config", cfg)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "lane a: calibrated: the sensor read 36.80 °C for the 37.00 °C reference; offset +0.20 K") {
		t.Errorf("got %q", out)
	}
	if !strings.Contains(errOut, "hold the 37.00 °C blackbody still") {
		t.Errorf("got prompt %q, want instructions", errOut)
	}
	// Stored as state in the lane's directory; the configuration is as the
	// installer wrote it.
	cal, err := thermo.LoadCalibration(filepath.Join(dataDir, "lanes", "a"))
	if err != nil {
		t.Fatalf("stored calibration: %v", err)
	}
	if got := celsius(cal.Apply(degrees(36.80))); got < 36.995 || got > 37.005 {
		t.Errorf("calibration maps 36.80 °C to %.3f °C, want 37.00", got)
	}
	after, _ := os.ReadFile(cfg)
	if string(after) != string(before) {
		t.Error("the configuration file was rewritten")
	}

	code, out, _ = runCmd(t, "calibrate", "show", "--config", cfg)
	want := "lane a: offset +0.20 K, slope 1; made 2026-11-29T09:00:"
	if code != exitOK || !strings.HasPrefix(out, want) || !strings.Contains(out, "with a 37.00 °C reference that read 36.80 °C") {
		t.Errorf("show: got exit %d %q, want it to start %q", code, out, want)
	}

	code, out, _ = runCmd(t, "calibrate", "show", "--config", cfg, "--json")
	var reps []calibrationReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil || code != exitOK {
		t.Fatalf("show --json: exit %d, %v\n%s", code, err, out)
	}
	if len(reps) != 1 || !reps[0].Calibrated || reps[0].OffsetK != 0.2 || reps[0].Reference != 37 || reps[0].At.IsZero() {
		t.Errorf("show --json: got %+v", reps)
	}
}

// degrees returns c °C as a physic.Temperature.
func degrees(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(math.Round(c*1000))*physic.MilliKelvin
}

func TestCalibrateRefuses(t *testing.T) {
	tests := []struct {
		name string
		ops  []i2ctest.IO
		want string
	}{
		{"unstable", interleave(mlxSamples(60, 36.0, 23.0), mlxSamples(60, 36.9, 23.0)), "did not settle"},
		{"cold room", mlxSamples(40, 36.8, 5.0), "the room must be between 10.00 °C and 40.00 °C"},
		{"no blackbody", mlxSamples(120, 24.0, 23.0), "not the 37.00 °C reference"},
		{"no answer", nil, "does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMachine(t)
			m.buses["1"] = &i2ctest.Playback{Ops: tt.ops, DontPanic: true}
			cfg, dataDir := thermoConfig(t, false)
			code, _, errOut := runCmd(t, "calibrate", "thermo", "--reference", "37", "--config", cfg)
			if code != exitRefused {
				t.Fatalf("got exit %d, want 1\n%s", code, errOut)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "the stored calibration was not changed") {
				t.Errorf("got\n%s\nwant %q", errOut, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "lanes", "a", thermo.CalibrationFile)); !os.IsNotExist(err) {
				t.Errorf("a calibration was stored after a refused reading (%v)", err)
			}
		})
	}
}

// interleave alternates whole samples (two transfers each) of a and b.
func interleave(a, b []i2ctest.IO) []i2ctest.IO {
	var out []i2ctest.IO
	for i := 0; i+1 < len(a) && i+1 < len(b); i += 2 {
		out = append(out, a[i], a[i+1], b[i], b[i+1])
	}
	return out
}

func TestCalibrateShowUncalibrated(t *testing.T) {
	newTestMachine(t)
	cfg, _ := thermoConfig(t, true)
	code, out, _ := runCmd(t, "calibrate", "show", "--config", cfg)
	want := "lane a: not calibrated (readings are uncorrected): run sentinelctl calibrate thermo --lane a --reference 37.0\n" +
		"lane b: not calibrated (readings are uncorrected): run sentinelctl calibrate thermo --lane b --reference 37.0\n"
	if code != exitOK || out != want {
		t.Errorf("got exit %d\n%s\nwant\n%s", code, out, want)
	}
}

func TestCalibrateLanes(t *testing.T) {
	m := newTestMachine(t)
	m.buses["2"] = &i2ctest.Playback{Ops: mlxSamples(40, 37.29, 22.0), DontPanic: true}
	cfg, dataDir := thermoConfig(t, true)
	code, _, errOut := runCmd(t, "calibrate", "thermo", "--reference", "37", "--config", cfg)
	if code != exitUsage || !strings.Contains(errOut, "give --lane a b") {
		t.Errorf("two thermometers without --lane: got exit %d %q", code, errOut)
	}
	code, out, errOut := runCmd(t, "calibrate", "thermo", "--reference", "37", "--config", cfg, "--lane", "b", "--json")
	if code != exitOK {
		t.Fatalf("got exit %d\n%s", code, errOut)
	}
	var rep calibrationReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Lane != "b" || rep.OffsetK != -0.3 || rep.File != filepath.Join(dataDir, "lanes", "b", thermo.CalibrationFile) {
		t.Errorf("got %+v, want lane b's offset -0.30 K in its own directory", rep)
	}
	if _, err := thermo.LoadCalibration(filepath.Join(dataDir, "lanes", "a")); err == nil {
		t.Error("lane a was calibrated too")
	}
}

// A lane without a thermometer, or one that does not exist, is refused with
// what to type instead; -h shows no "(default NaN)".
func TestCalibrateNamesTheLanes(t *testing.T) {
	newTestMachine(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "sentinel.toml", `data_dir = "`+filepath.Join(dir, "data")+`"
`+terminalHeader+`[[lane]]
name = "in-1"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event1"
[[lane]]
name = "in-2"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event2"
  [lane.thermometer]
  bus = "1"
`)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"lane without one", []string{"--lane", "in-1"}, exitUsage, "lane in-1 has no thermometer in the configuration: give --lane in-2, which has one"},
		{"unknown lane", []string{"--lane", "out"}, exitUsage, `no lane "out" in the configuration: its lanes are in-1, in-2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"calibrate", "thermo", "--reference", "37", "--config", cfg}, tt.args...)
			if code, _, errOut := runCmd(t, args...); code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("got exit %d\n%s\nwant %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
	one, _ := thermoConfig(t, false)
	b, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	none := writeFile(t, t.TempDir(), "none.toml", strings.ReplaceAll(string(b), "[lane.thermometer]\n  bus = \"1\"\n", ""))
	if code, _, errOut := runCmd(t, "calibrate", "thermo", "--reference", "37", "--config", none); code != exitRefused || !strings.Contains(errOut, "[lane.thermometer]") {
		t.Errorf("no thermometer at all: got exit %d\n%s\nwant 1 naming the [lane.thermometer] block", code, errOut)
	}
	if _, _, errOut := runCmd(t, "calibrate", "thermo", "-h"); strings.Contains(errOut, "NaN") || !strings.Contains(errOut, "-reference") {
		t.Errorf("calibrate thermo -h:\n%s\nwant --reference without a NaN default", errOut)
	}
}

func TestCalibrateUsage(t *testing.T) {
	cfg, _ := thermoConfig(t, false)
	tests := []struct {
		name string
		args []string
	}{
		{"nothing", []string{"calibrate"}},
		{"unknown", []string{"calibrate", "camera"}},
		{"no reference", []string{"calibrate", "thermo", "--config", cfg}},
		{"reference out of range", []string{"calibrate", "thermo", "--reference", "98.6", "--config", cfg}},
		{"unknown lane", []string{"calibrate", "thermo", "--reference", "37", "--lane", "z", "--config", cfg}},
		{"argument", []string{"calibrate", "show", "extra", "--config", cfg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, errOut := runCmd(t, tt.args...); code != exitUsage {
				t.Errorf("got exit %d, want 2\n%s", code, errOut)
			}
		})
	}
}
