package thermo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"
)

func TestCalibrate(t *testing.T) {
	ref := centiCelsius(3701) // 37.01 °C
	tests := []struct {
		name       string
		reference  physic.Temperature
		steps      []step
		wantOffset physic.Temperature
		wantErr    error
		wantText   string // part of the installer's message
	}{
		{
			name:      "blackbody read low",
			reference: ref,
			// The room, then the blackbody at 36.61 ± 0.02 °C.
			steps:      join(room(3), person(16, 3661, 2, 2449)),
			wantOffset: 400 * physic.MilliKelvin,
		},
		{
			name:       "blackbody read high",
			reference:  ref,
			steps:      person(16, 3801, 2, 2449),
			wantOffset: -physic.Kelvin,
		},
		{
			name:      "unstable",
			reference: ref,
			steps:     person(101, 3701, 15, 2449), // ±0.15 K: spread 0.3 K > 0.2 K, for the whole 10 s
			wantErr:   ErrUnstable,
			wantText:  "did not settle",
		},
		{
			name:      "no blackbody",
			reference: ref,
			steps:     room(101),
			wantErr:   ErrNoPerson,
			wantText:  "put the blackbody in front of the sensor",
		},
		{
			name:      "cold room",
			reference: ref,
			steps:     person(1, 3701, 2, 901),
			wantErr:   ErrAmbient,
			wantText:  "the room must be between",
		},
		{
			name:      "offset too large",
			reference: ref,
			steps:     person(16, 3351, 2, 2449), // 3.5 K low
			wantErr:   ErrBadCalibration,
			wantText:  "clean the sensor's window",
		},
		{
			name:      "reference not a forehead",
			reference: centiCelsius(2501),
			wantText:  "set the blackbody to a forehead's temperature",
		},
		{
			name:      "sensor gone",
			reference: ref,
			steps:     []step{{err: errBus}},
			wantErr:   ErrNoAnswer,
			wantText:  "does not answer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := CalibrationSamplerConfig()
				src := &script{steps: tt.steps}
				got, err := Calibrate(context.Background(), src, tt.reference, &cfg)
				if src.i != len(tt.steps) {
					t.Errorf("got %d samples read, want %d", src.i, len(tt.steps))
				}
				if tt.wantText != "" {
					t.Logf("installer sees: %v", err)
					if err == nil || !strings.Contains(err.Error(), tt.wantText) {
						t.Fatalf("got error %v, want one saying %q", err, tt.wantText)
					}
					if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
						t.Errorf("got error %v, want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := Calibration{
					Offset:    tt.wantOffset,
					Slope:     1,
					At:        time.Now(),
					Reference: tt.reference,
					Measured:  tt.reference - tt.wantOffset,
				}
				if got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
				if m := got.Apply(got.Measured); m != tt.reference {
					t.Errorf("applied to what it measured: got %s, want the reference %s", m, tt.reference)
				}
			})
		})
	}
}

func TestCalibrationApply(t *testing.T) {
	tests := []struct {
		name string
		c    Calibration
		in   physic.Temperature
		want physic.Temperature
	}{
		{"identity", DefaultCalibration(), centiCelsius(3451), centiCelsius(3451)},
		{"offset", Calibration{Slope: 1, Offset: -physic.Kelvin / 2}, centiCelsius(3451), centiCelsius(3401)},
		{"slope around 0 °C", Calibration{Slope: 1.1}, centiCelsius(3000), centiCelsius(3300)},
		{"slope and offset", Calibration{Slope: 0.9, Offset: physic.Kelvin}, centiCelsius(4000), centiCelsius(3700)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Apply(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCalibrationSaveLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCalibration(dir); !errors.Is(err, ErrNoCalibration) {
		t.Fatalf("empty directory: got %v, want ErrNoCalibration", err)
	}
	want := Calibration{
		Offset:    -420 * physic.MilliKelvin,
		Slope:     1,
		At:        time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC),
		Reference: centiCelsius(3700),
		Measured:  centiCelsius(3742),
	}
	if err := SaveCalibration(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCalibration(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != CalibrationFile {
		t.Errorf("got files %v, want only %s (no temporary file left)", entries, CalibrationFile)
	}
	b, _ := os.ReadFile(filepath.Join(dir, CalibrationFile))
	for _, s := range []string{`"offset_kelvin": -0.42`, `"reference_celsius": 37`, `"at": "2026-11-29T09:30:00Z"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("file %s: want it to contain %s", b, s)
		}
	}

	// An identical save does not rewrite the file.
	p := filepath.Join(dir, CalibrationFile)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := SaveCalibration(dir, want); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(old) {
		t.Errorf("identical save: got mtime %s, want it untouched (%s)", fi.ModTime(), old)
	}
	// A different one does.
	want.Offset = 100 * physic.MilliKelvin
	if err := SaveCalibration(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadCalibration(dir); got != want {
		t.Errorf("after update: got %+v, want %+v", got, want)
	}
}

func TestCalibrationRefused(t *testing.T) {
	dir := t.TempDir()
	if err := SaveCalibration(dir, Calibration{Slope: 1, Offset: 5 * physic.Kelvin}); !errors.Is(err, ErrBadCalibration) {
		t.Errorf("save 5 K offset: got %v, want ErrBadCalibration", err)
	}
	tests := []struct {
		name    string
		file    string
		wantErr error
	}{
		{"garbage", "not json", nil},
		{"unknown field", `{"version":1,"slope":1,"offset_kelvin":0,"at":"2026-01-01T00:00:00Z","reference_celsius":37,"measured_celsius":37,"extra":1}`, nil},
		{"future version", `{"version":2,"slope":1}`, nil},
		{"implausible slope", `{"version":1,"slope":3,"offset_kelvin":0,"at":"2026-01-01T00:00:00Z","reference_celsius":37,"measured_celsius":37}`, ErrBadCalibration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, CalibrationFile), []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCalibration(dir)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("got %v, want an error (%v)", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "recalibrate") {
				t.Errorf("got %q, want it to tell the installer to recalibrate", err)
			}
		})
	}
}

func TestCalibrationString(t *testing.T) {
	c := Calibration{Offset: 400 * physic.MilliKelvin, Slope: 1, At: time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC), Reference: centiCelsius(3700), Measured: centiCelsius(3660)}
	want := "offset +0.40 K, slope 1.000, made 2026-11-29T09:30:00Z against a 37.00 °C reference (sensor read 36.60 °C)"
	if got := c.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := DefaultCalibration().String(), "offset +0.00 K, slope 1.000, never calibrated against a reference"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
