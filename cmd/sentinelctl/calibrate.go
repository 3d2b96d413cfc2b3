package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
)

// calibrateCommands are the subcommands of "sentinelctl calibrate".
var calibrateCommands = map[string]cli.Command{
	"thermo": {Summary: "calibrate a lane's thermometer against a blackbody reference source", Run: calibrateThermo},
	"show":   {Summary: "print each lane's thermometer calibration and when it was made", Run: calibrateShow},
}

// runCalibrate runs "sentinelctl calibrate thermo|show".
func runCalibrate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinelctl calibrate", calibrateCommands, args, stdin, stdout, stderr)
}

// calibrationReport is the --json output for one lane.
type calibrationReport struct {
	Lane       string    `json:"lane"`
	Calibrated bool      `json:"calibrated"`
	At         time.Time `json:"at,omitzero"`
	OffsetK    float64   `json:"offset_k"`
	Slope      float64   `json:"slope"`
	Reference  float64   `json:"reference_c,omitempty"`
	Measured   float64   `json:"measured_c,omitempty"`
	File       string    `json:"file"`
	Error      string    `json:"error,omitempty"`
}

func newCalibrationReport(lane, dir string, c thermo.Calibration) calibrationReport {
	r := calibrationReport{
		Lane: lane, Calibrated: !c.At.IsZero(), OffsetK: round2(float64(c.Offset) / float64(physic.Kelvin)),
		Slope: c.Slope, File: dir + string(os.PathSeparator) + thermo.CalibrationFile,
	}
	if r.Calibrated {
		r.At = c.At.UTC()
		r.Reference, r.Measured = round2(celsius(c.Reference)), round2(celsius(c.Measured))
	}
	return r
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func calibrateThermo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl calibrate thermo", stderr, cli.Help{
		Synopsis: "--reference 37.0 [--lane NAME] [--config FILE] [--json]",
		Summary: "With a blackbody reference source at --reference °C filling the sensor's view, " +
			"takes a stable reading and stores the thermometer's offset in the terminal's data " +
			"directory. The configuration file is never rewritten.",
	})
	cfgPath := fs.String("config", defaultConfigPath, "the terminal's configuration file")
	ref := fs.Float64("reference", 0, "the blackbody's temperature in °C, e.g. 37.0 (required)")
	lane := fs.String("lane", "", "the lane whose thermometer to calibrate (required when several lanes have one)")
	asJSON := fs.Bool("json", false, "print the new calibration as JSON")
	return cli.Exit(stderr, "sentinelctl calibrate thermo", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		refGiven := false
		fs.Visit(func(f *flag.Flag) { refGiven = refGiven || f.Name == "reference" })
		if !refGiven {
			return cli.Usagef("give --reference, the blackbody's temperature in °C, e.g. --reference 37.0")
		}
		if *ref < 30 || *ref > 45 {
			return cli.Usagef("--reference %.2f °C is not a forehead's temperature: set the blackbody to between 30 and 45 °C, e.g. 37.0", *ref)
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		l, err := thermometerLane(cfg, *lane)
		if err != nil {
			return err
		}
		hw := openHardware()
		src, closer, err := hw.thermometer(*l.Thermometer)
		if err != nil {
			return fmt.Errorf("lane %s: %w\nrun sentinelctl selftest to check the thermometer", l.Name, err)
		}
		defer closer.Close()
		reference := physic.ZeroCelsius + physic.Temperature(math.Round(*ref*1000))*physic.MilliKelvin
		sc := thermo.CalibrationSamplerConfig()
		sc.Clock = hw.clock
		fmt.Fprintf(stderr, "lane %s: hold the %.2f °C blackbody still in front of the thermometer, filling its view; sampling for up to %v\n", l.Name, *ref, sc.Timeout)
		cal, err := thermo.Calibrate(ctx, src, reference, &sc)
		if err != nil {
			return fmt.Errorf("lane %s: %w\nthe stored calibration was not changed", l.Name, err)
		}
		dir := cfg.LaneStateDir(l.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := thermo.SaveCalibration(dir, cal); err != nil {
			return err
		}
		if _, err := handToDataDirOwner(cfg.DataDir); err != nil {
			return fmt.Errorf("calibration saved, but %w", err)
		}
		rep := newCalibrationReport(l.Name, dir, cal)
		if *asJSON {
			return json.NewEncoder(stdout).Encode(rep)
		}
		fmt.Fprintf(stdout, "lane %s: calibrated: the sensor read %.2f °C for the %.2f °C reference; offset %+.2f K, stored in %s\n",
			l.Name, rep.Measured, rep.Reference, rep.OffsetK, rep.File)
		return nil
	}())
}

// noThermometerHint says what to do when the lane to calibrate has no
// thermometer; withThermo names the lanes that have one.
func noThermometerHint(withThermo []string) string {
	if len(withThermo) > 0 {
		return "give --lane " + strings.Join(withThermo, " or --lane ") + ", which has one"
	}
	return "a lane without one needs no calibration; if it has one, add a [lane.thermometer] block to it (sentinelctl config example custom shows one), then check with sentinelctl config check"
}

// thermometerLane picks the lane to calibrate.
func thermometerLane(cfg *firmwareconfig.Config, name string) (*firmwareconfig.Lane, error) {
	if name != "" {
		l := cfg.Lane(name)
		var lanes, withThermo []string
		for _, l := range cfg.Lanes {
			lanes = append(lanes, l.Name)
			if l.Thermometer != nil {
				withThermo = append(withThermo, l.Name)
			}
		}
		switch {
		case l == nil:
			return nil, cli.Usagef("no lane %q in the configuration: its lanes are %s", name, strings.Join(lanes, ", "))
		case l.Thermometer == nil:
			return nil, cli.Usagef("lane %s has no thermometer in the configuration: %s", name, noThermometerHint(withThermo))
		}
		return l, nil
	}
	var found []*firmwareconfig.Lane
	var names []string
	for i := range cfg.Lanes {
		if cfg.Lanes[i].Thermometer != nil {
			found = append(found, &cfg.Lanes[i])
			names = append(names, cfg.Lanes[i].Name)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no lane has a thermometer in the configuration: %s", noThermometerHint(nil))
	case 1:
		return found[0], nil
	}
	return nil, cli.Usagef("several lanes have a thermometer; each is calibrated on its own: give --lane %s", strings.Join(names, " "))
}

func calibrateShow(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl calibrate show", stderr, cli.Help{
		Synopsis: "[--config FILE] [--json]",
		Summary:  "Prints each lane's thermometer calibration and when it was made.",
	})
	cfgPath := fs.String("config", defaultConfigPath, "the terminal's configuration file")
	asJSON := fs.Bool("json", false, "print the calibrations as JSON")
	return cli.Exit(stderr, "sentinelctl calibrate show", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		reports := []calibrationReport{}
		var failed error
		for _, l := range cfg.Lanes {
			if l.Thermometer == nil {
				continue
			}
			dir := cfg.LaneStateDir(l.Name)
			cal, err := thermo.LoadCalibration(dir)
			switch {
			case err == nil:
				reports = append(reports, newCalibrationReport(l.Name, dir, cal))
			case errors.Is(err, thermo.ErrNoCalibration):
				reports = append(reports, newCalibrationReport(l.Name, dir, thermo.DefaultCalibration()))
			default:
				r := newCalibrationReport(l.Name, dir, thermo.DefaultCalibration())
				r.Error = err.Error()
				reports = append(reports, r)
				failed = cli.ErrReported
			}
		}
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(reports); err != nil {
				return err
			}
			return failed
		}
		if len(reports) == 0 {
			fmt.Fprintln(stdout, "no lane has a thermometer")
		}
		for _, r := range reports {
			switch {
			case r.Error != "":
				fmt.Fprintf(stdout, "lane %s: calibration unreadable: %s\n", r.Lane, r.Error)
			case !r.Calibrated:
				fmt.Fprintf(stdout, "lane %s: not calibrated (readings are uncorrected): run sentinelctl calibrate thermo --lane %s --reference 37.0\n", r.Lane, r.Lane)
			default:
				fmt.Fprintf(stdout, "lane %s: offset %+.2f K, slope %g; made %s with a %.2f °C reference that read %.2f °C\n",
					r.Lane, r.OffsetK, r.Slope, r.At.Format(time.RFC3339), r.Reference, r.Measured)
			}
		}
		return failed
	}())
}
