package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sentinel/internal/central/enrol"
	"sentinel/internal/cli"
)

// defaultCentralData is the centre's data directory when --data is not
// given.
const defaultCentralData = "/var/lib/sentinel-central"

// deviceCmds are the subcommands of "devices".
var deviceCmds = map[string]cli.Command{
	"add":    {Summary: "make a single-use enrolment token for a site (text and QR)", Run: runDevicesAdd},
	"list":   {Summary: "list enrolled terminals", Run: runDevicesList},
	"revoke": {Summary: "revoke a terminal: refused at the next TLS handshake", Run: runDevicesRevoke},
}

func runDevices(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central devices", deviceCmds, args, stdin, stdout, stderr)
}

// devicesFlags returns the flag set of a devices subcommand with --data
// and --json.
func devicesFlags(name string, stderr io.Writer) (fs *flag.FlagSet, data *string, asJSON *bool) {
	fs = issueFlagSet("devices "+name, stderr)
	data = fs.String("data", defaultCentralData, "the centre's data `DIR` (device CA, tokens, devices)")
	asJSON = fs.Bool("json", false, "print JSON")
	return fs, data, asJSON
}

// parseDevicesFlags parses args and refuses positionals.
func parseDevicesFlags(fs *flag.FlagSet, args []string) error {
	rest, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return issueUsagef("%v", err)
	}
	if len(rest) > 0 {
		return issueUsagef("unexpected argument %q", rest[0])
	}
	return nil
}

func devicesExit(stderr io.Writer, name string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return issueExit(stderr, "devices "+name, err)
}

// tokenOut is what devices add prints with --json.
type tokenOut struct {
	Token   string    `json:"token"`
	QR      string    `json:"qr"`
	Site    string    `json:"site"`
	Expires time.Time `json:"expires"`
	PNG     string    `json:"png,omitempty"`
}

func runDevicesAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags("add", stderr)
	site := fs.String("site", "", "the site the terminal will serve (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token can be used")
	pngPath := fs.String("png", "", "also write the token's QR code as a PNG to `FILE`")
	return devicesExit(stderr, "add", func() error {
		if err := parseDevicesFlags(fs, args); err != nil {
			return err
		}
		if *site == "" {
			return issueUsagef("--site is required")
		}
		if *ttl <= 0 || *ttl > 30*24*time.Hour {
			return issueUsagef("--ttl %v: want more than 0 and at most 720h", *ttl)
		}
		now := time.Now()
		// The CA must exist before a terminal enrols: make it with the
		// first token.
		if _, err := enrol.LoadCA(*data, true, now); err != nil {
			return err
		}
		st, err := enrol.OpenFileStore(*data)
		if err != nil {
			return err
		}
		value, tok, err := enrol.NewToken(*site, now, *ttl)
		if err != nil {
			return err
		}
		qr := enrol.TokenQR(value)
		m, err := qrMatrix(qr)
		if err != nil {
			return err
		}
		if *pngPath != "" {
			if err := writePNG(*pngPath, m, 6); err != nil {
				return fmt.Errorf("write %s: %w", *pngPath, err)
			}
		}
		if err := st.AddToken(tok); err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(tokenOut{Token: value, QR: qr, Site: tok.Site, Expires: tok.Expires, PNG: *pngPath})
		}
		fmt.Fprintf(stdout, "enrolment token for site %s, single use, until %s:\n\n    %s\n\n",
			tok.Site, tok.Expires.Format(time.RFC3339), value)
		fmt.Fprintf(stdout, "on the terminal: sentinelctl enrol --central URL --token %s\nor show it this QR code:\n", value)
		drawTerminal(stdout, m)
		return nil
	}())
}

func runDevicesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags("list", stderr)
	return devicesExit(stderr, "list", func() error {
		if err := parseDevicesFlags(fs, args); err != nil {
			return err
		}
		st, err := enrol.OpenFileStore(*data)
		if err != nil {
			return err
		}
		ds, err := st.Devices()
		if err != nil {
			return err
		}
		if *asJSON {
			if ds == nil {
				ds = []enrol.Device{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(ds)
		}
		if len(ds) == 0 {
			fmt.Fprintln(stdout, "no terminals enrolled: make a token with 'sentinel-central devices add --site SITE'")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tSITE\tENROLLED\tCERTIFICATE UNTIL\tREVOKED")
		for _, d := range ds {
			rev := "-"
			if !d.Revoked.IsZero() {
				rev = d.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Site, d.Enrolled.Format(time.RFC3339), d.NotAfter.Format(time.RFC3339), rev)
		}
		return tw.Flush()
	}())
}

func runDevicesRevoke(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags("revoke", stderr)
	id := fs.String("device", "", "the device id to revoke, as 'devices list' shows it (required)")
	return devicesExit(stderr, "revoke", func() error {
		if err := parseDevicesFlags(fs, args); err != nil {
			return err
		}
		if *id == "" {
			return issueUsagef("--device is required")
		}
		st, err := enrol.OpenFileStore(*data)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		if err := st.Revoke(*id, now); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"device": *id, "revoked": now})
		}
		fmt.Fprintf(stdout, "device %s revoked: its next TLS handshake is refused\n", *id)
		return nil
	}())
}
