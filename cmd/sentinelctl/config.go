package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
)

// defaultConfigPath is where a terminal image installs the configuration.
const defaultConfigPath = firmwareconfig.DefaultConfigPath

// configCommands are the subcommands of "sentinelctl config".
var configCommands = map[string]cli.Command{
	"check":   {Summary: "read the terminal's configuration file strictly and print every problem with its line", Run: configCheck},
	"example": {Summary: "print the example configuration for a kind of site, or list them", Run: configExample},
	"unit":    {Summary: "print the systemd unit a terminal installs as /etc/systemd/system/sentineld.service", Run: configFile("unit")},
	"udev":    {Summary: "print the udev rules a terminal installs as /etc/udev/rules.d/99-sentinel.rules", Run: configFile("udev")},
}

// runConfig runs "sentinelctl config check|example|unit|udev".
func runConfig(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinelctl config", configCommands, args, stdin, stdout, stderr)
}

// configFile prints the systemd unit or the udev rules.
func configFile(which string) cli.Func {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		name := "sentinelctl config " + which
		summary := "Prints the systemd unit that a terminal installs as /etc/systemd/system/sentineld.service."
		data := firmwareconfig.SystemdUnit()
		if which == "udev" {
			summary = "Prints the udev rules that a terminal installs as /etc/udev/rules.d/99-sentinel.rules."
			data = firmwareconfig.UdevRules()
		}
		fs := cli.NewFlagSet(name, stderr, cli.Help{Summary: summary})
		return cli.Exit(stderr, name, func() error {
			if err := cli.ParseNoArgs(fs, args); err != nil {
				return err
			}
			_, err := stdout.Write(data)
			return err
		}())
	}
}

// configReport is the --json output of config check.
type configReport struct {
	File     string          `json:"file"`
	OK       bool            `json:"ok"`
	Terminal string          `json:"terminal,omitempty"`
	Site     string          `json:"site,omitempty"`
	Lanes    []laneSummary   `json:"lanes,omitempty"`
	Problems []configProblem `json:"problems,omitempty"`
}

type laneSummary struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

// configProblem is one problem of a configuration file, for --json.
type configProblem struct {
	Kind    string `json:"kind"` // syntax, key, bundle-key, value, file
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Value   string `json:"value,omitempty"`
	Hint    string `json:"hint,omitempty"`
	Message string `json:"message"`
}

func configCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl config check", stderr, cli.Help{
		Synopsis: "[--json] FILE",
		Summary: "Reads the terminal's configuration file strictly and prints every problem with " +
			"its line, or OK and one line per lane. Exit status: 0 OK, 1 problems, 2 usage.",
	})
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	return cli.Exit(stderr, "sentinelctl config check", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			fs.Usage()
			return cli.Usagef("give exactly one configuration file")
		}
		file := pos[0]
		cfg, err := firmwareconfig.Load(file)
		rep := configReport{File: file, OK: err == nil}
		if err != nil {
			rep.Problems = configProblems(err)
		} else {
			rep.Terminal, rep.Site = cfg.Terminal.ID, cfg.Terminal.SiteID
			for _, l := range cfg.Lanes {
				rep.Lanes = append(rep.Lanes, laneSummary{Name: l.Name, Summary: summarizeLane(l)})
			}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			printConfigReport(stdout, rep)
		}
		if !rep.OK {
			return cli.ErrReported
		}
		return nil
	}())
}

func printConfigReport(w io.Writer, rep configReport) {
	if !rep.OK {
		n := len(rep.Problems)
		s := "s"
		if n == 1 {
			s = ""
		}
		fmt.Fprintf(w, "%s: %d problem%s\n", rep.File, n, s)
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %s\n", p.Message)
		}
		return
	}
	s := "s"
	if len(rep.Lanes) == 1 {
		s = ""
	}
	fmt.Fprintf(w, "%s: OK: terminal %s at site %s, %d lane%s\n", rep.File, rep.Terminal, rep.Site, len(rep.Lanes), s)
	for _, l := range rep.Lanes {
		fmt.Fprintf(w, "  lane %s: %s\n", l.Name, l.Summary)
	}
}

// configProblems flattens the error of Load into problems.
func configProblems(err error) []configProblem {
	var ps firmwareconfig.Problems
	if !errors.As(err, &ps) {
		return []configProblem{{Kind: "file", Message: err.Error()}}
	}
	out := make([]configProblem, 0, len(ps))
	for _, p := range ps {
		cp := configProblem{Message: p.Error()}
		var (
			se *firmwareconfig.SyntaxError
			ke *firmwareconfig.KeyError
			ve *firmwareconfig.ValidationError
		)
		switch {
		case errors.As(p, &se):
			cp.Kind, cp.Line = "syntax", se.Line
		case errors.As(p, &ke):
			cp.Kind, cp.Line, cp.Field, cp.Hint = "key", ke.Line, ke.Key, ke.Suggestion
			if ke.InBundle {
				cp.Kind = "bundle-key"
			}
		case errors.As(p, &ve):
			cp.Kind, cp.Line, cp.Field, cp.Value, cp.Hint = "value", ve.Line, ve.Field, ve.Value, ve.Problem
		default:
			cp.Kind = "file"
		}
		out = append(out, cp)
	}
	return out
}

// summarizeLane describes a lane's devices on one line.
func summarizeLane(l firmwareconfig.Lane) string {
	var parts []string
	if l.Direction.Exit() {
		parts = append(parts, "exit")
	}
	for i, s := range l.Scanners {
		parts = append(parts, fmt.Sprintf("scanner[%d] %s", i, describeScanner(s)))
	}
	if c := l.Camera; c != nil {
		parts = append(parts, "camera "+describeCamera(*c))
	}
	if t := l.Thermometer; t != nil {
		parts = append(parts, "thermometer "+describeThermometer(*t))
	}
	o := l.Outputs
	if r := o.Relay; r != nil {
		parts = append(parts, fmt.Sprintf("relay %s pulse %v%s", r.Pin, r.Pulse, activeLow(r.ActiveLow)))
	}
	if t := o.Tower; t != nil {
		var lamps []string
		for _, c := range []struct{ name, pin string }{{"green", t.Green}, {"yellow", t.Yellow}, {"red", t.Red}} {
			if c.pin != "" {
				lamps = append(lamps, c.name+" "+c.pin)
			}
		}
		parts = append(parts, "tower "+strings.Join(lamps, " ")+activeLow(t.ActiveLow))
	}
	if b := o.Buzzer; b != nil {
		parts = append(parts, "buzzer "+b.Pin+activeLow(b.ActiveLow))
	}
	if len(parts) == 0 {
		return "no devices"
	}
	return strings.Join(parts, "; ")
}

func activeLow(b bool) string {
	if b {
		return " active-low"
	}
	return ""
}

func describeScanner(s firmwareconfig.Scanner) string {
	switch s.Type {
	case firmwareconfig.ScannerSerial:
		where := s.Port
		if where == "" {
			where = "usb " + s.USB
		}
		framing := string(s.Framing)
		if s.Framing == firmwareconfig.FramingSuffix {
			framing = fmt.Sprintf("suffix %q", s.Suffix)
		}
		return fmt.Sprintf("serial %s %d baud %s", where, s.Baud, framing)
	case firmwareconfig.ScannerHID:
		return "hid " + s.Device
	}
	return string(s.Type)
}

func describeCamera(c firmwareconfig.Camera) string {
	var src string
	switch c.Source {
	case firmwareconfig.CameraV4L2:
		src = c.Device
	case firmwareconfig.CameraMJPEG:
		src = c.URL
	case firmwareconfig.CameraFFmpeg:
		src = strings.TrimSpace(strings.Join(c.FFmpegArgs, " ") + " " + c.URL)
	case firmwareconfig.CameraReplay:
		src = c.Dir
	}
	size := ""
	if c.Width > 0 && c.Height > 0 {
		size = fmt.Sprintf(" %dx%d", c.Width, c.Height)
	}
	return fmt.Sprintf("%s %s%s@%d", c.Source, src, size, c.FPS)
}

func describeThermometer(t firmwareconfig.Thermometer) string {
	bus := t.Bus
	if bus == "" {
		bus = "(first)"
	}
	return fmt.Sprintf("%s 0x%02X on bus %s", t.Model, t.Address, bus)
}

func configExample(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl config example", stderr, cli.Help{
		Synopsis: "[NAME]",
		Summary: fmt.Sprintf("Prints the commented example configuration NAME (%s); without NAME it lists them. "+
			"custom documents every key.", strings.Join(firmwareconfig.ExampleNames(), ", ")),
	})
	return cli.Exit(stderr, "sentinelctl config example", func() error {
		pos, err := cli.Parse(fs, args)
		switch {
		case err != nil:
			return err
		case len(pos) > 1:
			return cli.Usagef("give one example NAME, or none to list them")
		case len(pos) == 0:
			for _, n := range firmwareconfig.ExampleNames() {
				fmt.Fprintln(stdout, n)
			}
			return nil
		}
		b, err := firmwareconfig.Example(pos[0])
		if err != nil {
			return cli.Usagef("%v", err)
		}
		_, err = stdout.Write(b)
		return err
	}())
}

// loadConfig loads the configuration for a device command; its error
// lists the problems and says how to check the file.
func loadConfig(path string) (*firmwareconfig.Config, error) {
	cfg, err := firmwareconfig.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no configuration file at %s: give the terminal's with --config FILE, or write one from `sentinelctl config example NAME` (docs/install.md, step 2)", path)
	}
	if err != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "configuration %s is not usable:\n", path)
		for _, p := range configProblems(err) {
			fmt.Fprintf(&b, "  %s\n", p.Message)
		}
		fmt.Fprintf(&b, "fix it and check it with: sentinelctl config check %s", path)
		return nil, errors.New(b.String())
	}
	return cfg, nil
}
