package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
)

// defaultConfigPath is where a terminal image installs the configuration.
const defaultConfigPath = firmwareconfig.DefaultConfigPath

// runConfig runs "sentinelctl config check|example".
func runConfig(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: sentinelctl config check [--json] FILE")
		fmt.Fprintln(stderr, "       sentinelctl config example [NAME]")
		fmt.Fprintln(stderr, "       sentinelctl config unit|udev")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "check reads the terminal's configuration file strictly and prints every problem")
		fmt.Fprintln(stderr, "with its line, or OK and one line per lane. Exit status: 0 OK, 1 problems, 2 usage.")
		fmt.Fprintf(stderr, "example prints the example configuration for a kind of site (%s);\n", strings.Join(firmwareconfig.ExampleNames(), ", "))
		fmt.Fprintln(stderr, "without NAME it lists them.")
		fmt.Fprintln(stderr, "unit prints the systemd unit (/etc/systemd/system/sentineld.service) and udev the")
		fmt.Fprintln(stderr, "udev rules (/etc/udev/rules.d/99-sentinel.rules) that a terminal installs.")
	}
	if len(args) == 0 {
		usage()
		return exitUsage
	}
	switch args[0] {
	case "check":
		return configCheck(args[1:], stdout, stderr)
	case "example":
		return configExample(args[1:], stdout, stderr)
	case "unit", "udev":
		if len(args) != 1 {
			if isHelp(args[1]) {
				fmt.Fprintf(stderr, "usage: sentinelctl config %s\n\n", args[0])
				if args[0] == "unit" {
					fmt.Fprintln(stderr, "Prints the systemd unit that a terminal installs as /etc/systemd/system/sentineld.service.")
				} else {
					fmt.Fprintln(stderr, "Prints the udev rules that a terminal installs as /etc/udev/rules.d/99-sentinel.rules.")
				}
				return exitOK
			}
			fmt.Fprintf(stderr, "sentinelctl config %s: unexpected argument %q: it takes none\nusage: sentinelctl config %s\n", args[0], args[1], args[0])
			return exitUsage
		}
		if args[0] == "unit" {
			stdout.Write(firmwareconfig.SystemdUnit())
		} else {
			stdout.Write(firmwareconfig.UdevRules())
		}
		return exitOK
	case "-h", "--help", "help":
		usage()
		return exitOK
	}
	fmt.Fprintf(stderr, "sentinelctl config: unknown subcommand %q\n\n", args[0])
	usage()
	return exitUsage
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

func configCheck(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl config check", stderr, cli.Help{
		Synopsis: "[--json] FILE",
		Summary: "Reads the terminal's configuration file strictly and prints every problem with " +
			"its line, or OK and one line per lane. Exit status: 0 OK, 1 problems, 2 usage.",
	})
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "sentinelctl config check: give exactly one configuration file")
		fs.Usage()
		return exitUsage
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
			fmt.Fprintf(stderr, "sentinelctl config check: %v\n", err)
			return exitRefused
		}
	} else {
		printConfigReport(stdout, rep)
	}
	if !rep.OK {
		return exitRefused
	}
	return exitOK
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

func configExample(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		for _, n := range firmwareconfig.ExampleNames() {
			fmt.Fprintln(stdout, n)
		}
		return exitOK
	case 1:
		if isHelp(args[0]) {
			fmt.Fprintln(stderr, "usage: sentinelctl config example [NAME]")
			fmt.Fprintf(stderr, "\nprints the commented example configuration NAME (%s);\nwithout NAME it lists them. custom documents every key.\n", strings.Join(firmwareconfig.ExampleNames(), ", "))
			return exitOK
		}
		b, err := firmwareconfig.Example(args[0])
		if err != nil {
			fmt.Fprintf(stderr, "sentinelctl config example: %v\n", err)
			return exitUsage
		}
		stdout.Write(b)
		return exitOK
	}
	fmt.Fprintln(stderr, "usage: sentinelctl config example [NAME]")
	return exitUsage
}

// isHelp reports whether arg asks for help rather than naming something.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// loadConfig loads the configuration for a device command; on problems it
// prints them and returns exitRefused.
func loadConfig(cmd, path string, stderr io.Writer) (*firmwareconfig.Config, int) {
	cfg, err := firmwareconfig.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "sentinelctl %s: configuration %s is not usable:\n", cmd, path)
		for _, p := range configProblems(err) {
			fmt.Fprintf(stderr, "  %s\n", p.Message)
		}
		fmt.Fprintf(stderr, "fix it and check it with: sentinelctl config check %s\n", path)
		return nil, exitRefused
	}
	return cfg, exitOK
}
