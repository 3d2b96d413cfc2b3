package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"sentinel/crypto/trust"
	"sentinel/internal/cli"
	"sentinel/internal/siteconfig"
)

// configCommands are the subcommands of "sentinel-central config": the
// site settings file that `bundles publish config` takes.
var configCommands = map[string]cli.Command{
	"example": {Summary: "print a commented site settings file for a type of site to start from", Synopsis: "--site-type supermarket|pharmacy|intersection|compound|custom [--out FILE]", Run: runConfigExample},
	"pin":     {Summary: "hash a guard's PIN and print the [[guard]] block to paste into the site settings", Synopsis: "[--guard ID] >>site.toml", Run: runConfigPIN},
	"check":   {Summary: "check a site settings file as bundles publish config would, without publishing", Synopsis: "[--json] FILE", Run: runConfigCheck},
}

func runConfig(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central config", configCommands, args, stdin, stdout, stderr)
}

func runConfigExample(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central config example", stderr, cli.CommandHelp(ctx))
	site := fs.String("site-type", "", "the `TYPE` of site: supermarket, pharmacy, intersection, compound or custom (required)")
	out := fs.String("out", "", "write the example to `FILE` instead of standard output (never overwritten)")
	return cli.Exit(stderr, "sentinel-central config example", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if *site == "" || len(pos) != 0 {
			return cli.Usagef("usage: sentinel-central config example --site-type supermarket|pharmacy|intersection|compound|custom [--out FILE]")
		}
		ex, err := siteconfig.Example(siteconfig.SiteType(*site))
		if err != nil {
			return cli.Usagef("--site-type %q: want supermarket, pharmacy, intersection, compound or custom", *site)
		}
		if *out == "" {
			_, err := stdout.Write(ex)
			return err
		}
		if err := writeNew(*out, ex, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: edit it, then publish it with your data directory and signing keys in place of DATA, SIGNER.key, SIGNER.delegation and ROOT.pub:\n  %s\n",
			*out, publishHint(trust.KindConfig, *out))
		return nil
	}())
}

// guardID is what a guard id may look like on the command line: it goes
// into the journal and onto the display.
var guardID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func runConfigPIN(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central config pin", stderr, cli.CommandHelp(ctx))
	guard := fs.String("guard", "", "the guard's `ID` as the journal shows it, e.g. guard-07: print a whole [[guard]] block")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinel-central config pin [--guard ID] >>site.toml

Hashes a guard's PIN (6 to 12 digits) for the site settings. The PIN is
asked for without echo on a terminal, or read as one line from standard
input (a pipe, as the ops guide does); never give it on the command line. With
--guard it prints the whole [[guard]] block to append to the file.

flags:`)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinel-central config pin", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return cli.Usagef("usage: sentinel-central config pin [--guard ID] (the PIN is read from standard input, never from the command line)")
		}
		if *guard != "" && !guardID.MatchString(*guard) {
			return cli.Usagef("--guard %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, such as guard-07", *guard)
		}
		pin, err := readPIN(stdin, stderr)
		if err != nil {
			return err
		}
		if err := siteconfig.CheckNewPIN(pin); err != nil {
			return err
		}
		hash, err := siteconfig.HashPIN(pin, 0)
		if err != nil {
			return err
		}
		if *guard == "" {
			fmt.Fprintf(stdout, "pin_hash = %q\n", hash)
			return nil
		}
		fmt.Fprintf(stdout, "\n%s", siteconfig.GuardBlock(*guard, hash))
		return nil
	}())
}

// readPIN reads a PIN: from a terminal, asked twice without echo; from a
// pipe or file, its first line.
func readPIN(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		var first, again string
		err := withoutEcho(f, func() error {
			r := bufio.NewReader(f)
			var err error
			fmt.Fprint(stderr, "guard PIN (6 to 12 digits): ")
			first, err = readLine(r)
			fmt.Fprintln(stderr)
			if err != nil {
				return err
			}
			fmt.Fprint(stderr, "the same PIN again: ")
			again, err = readLine(r)
			fmt.Fprintln(stderr)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("read the PIN: %w", err)
		}
		if first != again {
			return "", errors.New("the two PINs differ: nothing was hashed, run it again")
		}
		return first, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the PIN from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no PIN on standard input: type it when asked, or pipe it in (printf '%s\\n' \"$PIN\" | sentinel-central config pin)")
	}
	return line, nil
}

// readLine reads one line, without its end.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runConfigCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central config check", stderr, cli.CommandHelp(ctx))
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinel-central config check [--json] FILE

Checks the site settings FILE as 'bundles publish config' would, without
publishing: every problem with its line and what to change, or a summary.

flags:`)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinel-central config check", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return cli.Usagef("usage: sentinel-central config check FILE")
		}
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		s, err := siteconfig.ParseTOML(pos[0], data)
		if err != nil {
			return fmt.Errorf("the site settings are not valid:\n%w", err)
		}
		res := configOut{File: pos[0], SiteType: string(s.Type), RetentionDays: s.RetentionDays, Language: s.Language, TimeZone: s.TimeZone}
		for _, g := range s.Guards {
			res.Guards = append(res.Guards, g.ID)
		}
		if *asJSON {
			return printJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "%s: a %s, keeps passages %d days, display in %s, time zone %s, %s who may override",
			res.File, res.SiteType, res.RetentionDays, res.Language, res.TimeZone, count(len(res.Guards), "guard"))
		if len(res.Guards) > 0 {
			fmt.Fprintf(stdout, " (%s)", strings.Join(res.Guards, ", "))
		}
		fmt.Fprintln(stdout)
		return nil
	}())
}

// configOut is what config check --json prints.
type configOut struct {
	File          string   `json:"file"`
	SiteType      string   `json:"site_type"`
	RetentionDays int      `json:"retention_days"`
	Language      string   `json:"language"`
	TimeZone      string   `json:"time_zone"`
	Guards        []string `json:"guards"`
}
