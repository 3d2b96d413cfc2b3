package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"sentinel/crypto/trust"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
	"sentinel/sync/enrol"
)

// Retries of the enrolment request while the centre is unreachable: the
// first wait and the cap (tests shorten them).
var (
	enrolRetryFirst = time.Second
	enrolRetryCap   = 30 * time.Second
)

// enrolOut is what enrol prints with --json.
type enrolOut struct {
	Device   string    `json:"device"`
	Site     string    `json:"site"`
	NotAfter time.Time `json:"not_after"`
	Root     string    `json:"root"`
	Pinned   bool      `json:"root_pinned_before"`
	Bundles  []string  `json:"bundles"`
	Attempts int       `json:"attempts"`
	Central  string    `json:"central_url,omitempty"`
}

func runEnrol(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl enrol", stderr, cli.CommandHelp(ctx))
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinelctl enrol --token TICKET [flags]
       sentinelctl enrol --central https://HOST:8444 --ca FILE --token TOKEN [flags]

Enrols this terminal with the central system: makes the terminal's key pair
(it never leaves the terminal), sends a certificate request with the ticket
ops made ('sentinel-central devices add' prints the command to type), and
writes the device certificate, the operator root and the first bundles into
the data directory. A running sentineld picks the new identity up within
seconds; no restart is needed.

The ticket (SE1/HOST:PORT/TOKEN/FINGERPRINT, or its QR code's text) names
the centre's enrolment address and its device CA's fingerprint, so no other
flag is needed. A plain 26-character token needs --central (the enrolment
port, 8444 by default, not the device port 8443) and --ca.

While the centre cannot be reached the request is retried until --timeout;
a wrong address, port or CA, or a refused token, fails at once.

flags:`)
		fs.PrintDefaults()
	}
	central := fs.String("central", "", "the centre's enrolment `URL`, e.g. https://central.example:8444 (default: the ticket's)")
	token := fs.String("token", "", "the enrolment ticket or token (required)")
	dataDir := fs.String("data-dir", firmwareconfig.DefaultDataDir, "the terminal's data directory")
	rootPath := fs.String("root", "", "the operator root public key the package pinned `FILE`: the centre's must match (checked before the token is used)")
	caPath := fs.String("ca", "", "the centre's device CA `FILE` (its DATA/enrol/ca.pem); not needed with a ticket")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up retrying an unreachable centre after this long")
	force := fs.Bool("force", false, "enrol again although the terminal has a certificate (a new key and device id)")
	cfgPath := fs.String("config", defaultConfigPath, "the terminal's configuration `FILE`: its [central] url is checked against the centre's answer (skipped when there is none)")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinelctl enrol", func() error {
		rest, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		switch {
		case len(rest) > 0:
			return cli.Usagef("unexpected argument %q", rest[0])
		case *token == "":
			return cli.Usagef("--token is required: the ticket 'sentinel-central devices add' printed (see -h)")
		case *timeout <= 0:
			return cli.Usagef("--timeout %v: want more than 0", *timeout)
		}
		ticket, err := enrol.ParseTicket(*token)
		if err != nil {
			return cli.Usagef("--token: %v", err)
		}
		base := *central
		if base == "" {
			base = ticket.URL()
		}
		if base == "" {
			return cli.Usagef("--token is a plain token: give --central https://HOST:8444 (the centre's enrolment port) and --ca FILE, or use the ticket from 'sentinel-central devices add'")
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cli.Usagef("--central %q: want a URL like https://central.example:8444", base)
		}
		progress := func(format string, a ...any) {
			if !*asJSON {
				fmt.Fprintf(stdout, format+"\n", a...)
			}
		}

		if _, err := os.Stat(filepath.Join(*dataDir, enrol.CertFile)); err == nil && !*force {
			return fmt.Errorf("this terminal is enrolled already (%s exists): give --force to enrol it again with a new key", filepath.Join(*dataDir, enrol.CertFile))
		}
		var given crypto.PublicKey
		if *rootPath != "" {
			data, err := os.ReadFile(*rootPath)
			if err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			if given, err = trust.ParsePublicKey(data); err != nil {
				return fmt.Errorf("--root %s: %w", *rootPath, err)
			}
		}
		var caPEM []byte
		if *caPath != "" {
			if caPEM, err = os.ReadFile(*caPath); err != nil {
				return fmt.Errorf("--ca: %w", err)
			}
		}
		if u.Scheme == "http" {
			progress("warning: %s is plain HTTP: use it only on a trusted installation network", base)
		}

		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		progress("making this terminal's key pair and contacting the central system at %s", base)
		wait, lastErr := enrolRetryFirst, ""
		// The attempt cut by the timeout fails with "context deadline
		// exceeded"; the hint is judged on the last error that says why the
		// centre could not be reached.
		var why error
		in, attempts, err := enrol.Enrol(ctx, enrol.Options{
			DataDir: *dataDir, Ticket: ticket, Central: *central, CAPEM: caPEM, Root: given,
			Wait: func(ctx context.Context, n int, err error) error {
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) || why == nil {
					why = err
				}
				giveUp := fmt.Errorf("gave up after %d attempts in %v: %v: %s, then run enrol again", n, *timeout, why, unreachableHint(u.Host, why))
				if ctx.Err() != nil {
					return giveUp
				}
				if msg := err.Error(); msg != lastErr {
					progress("cannot reach the central system yet: %v (%s)", err, unreachableHint(u.Host, err))
					lastErr = msg
				}
				d := wait/2 + rand.N(wait/2+1) // jitter in [wait/2, wait]
				progress("retrying in %v (attempt %d)", d.Round(100*time.Millisecond), n+1)
				select {
				case <-ctx.Done():
					return giveUp
				case <-time.After(d):
				}
				wait = min(wait*2, enrolRetryCap)
				return nil
			},
		})
		if err != nil {
			// The key pair kept for the retry (enrol.PendingKeyFile)
			// belongs to the daemon's user too, whose enrolment from a
			// scanned ticket may be the retry.
			handToDataDirOwner(*dataDir)
			return err
		}
		if _, err := handToDataDirOwner(*dataDir); err != nil {
			return fmt.Errorf("enrolled as device %s, but %w", in.Device, err)
		}
		if attempts > 1 {
			progress("reached the central system after %d attempts", attempts)
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if in.Bundles == nil {
				in.Bundles = []string{}
			}
			return enc.Encode(enrolOut{Device: in.Device, Site: in.Site, NotAfter: in.NotAfter.UTC(), Root: in.Root, Pinned: in.Pinned, Bundles: in.Bundles, Attempts: attempts, Central: in.Central})
		}
		pin := "pinned the operator root " + in.Root
		if in.Pinned {
			pin = "the operator root " + in.Root + " matches the one pinned already"
		}
		progress("enrolled as device %s at site %s; certificate valid until %s", in.Device, in.Site, in.NotAfter.UTC().Format(time.RFC3339))
		progress("%s", pin)
		if len(in.Bundles) == 0 {
			progress("no bundles yet: the terminal refers everyone to the guard until it downloads them")
		} else {
			progress("first bundles: %s", strings.Join(in.Bundles, ", "))
		}
		if !slices.Contains(in.Bundles, "trust") {
			progress("warning: the centre has published no trust bundle yet: the terminal refers everyone to the guard until ops publish one ('sentinel-central bundles publish trust') and it syncs")
		}
		if in.Central != "" {
			for _, line := range centralLines(in.Central, *cfgPath) {
				progress("%s", line)
			}
		}
		progress("done: a running sentineld starts syncing with this identity within seconds")
		return nil
	}())
}

// centralLines say where the enrolled terminal syncs (central, the
// centre's device address, as the centre answered) and whether the
// configuration at cfgPath, where sentineld reads it, says the same.
func centralLines(central, cfgPath string) []string {
	syncs := "the terminal syncs with " + central + ", the centre's device address"
	cfg, err := firmwareconfig.Load(cfgPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return []string{fmt.Sprintf("%s; sentineld reads it from [central] url in its configuration: enrol found none at %s to check (give --config FILE to check yours)", syncs, cfgPath)}
	case err != nil:
		return []string{syncs, fmt.Sprintf("warning: %s is not usable, so enrol could not check its [central] url: run sentinelctl config check %s, and make it say url = %q", cfgPath, cfgPath, central)}
	case strings.TrimSuffix(cfg.Central.URL, "/") != central:
		return []string{syncs, fmt.Sprintf("warning: %s has [central] url = %q: write url = %q there, or sentineld syncs nowhere", cfgPath, cfg.Central.URL, central)}
	}
	return []string{fmt.Sprintf("%s, as [central] url in %s says", syncs, cfgPath)}
}

// unreachableHint says what to check when the centre at host cannot be
// reached, in the installer's words rather than the dialler's.
func unreachableHint(host string, err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing answers at " + host + ": check that sentinel-central serve runs there and that this is its enrolment address (serve prints it as \"listening enrol\")"
	case errors.As(err, &dns):
		return "the name in " + host + " is not known here: check the terminal's DNS, or ask ops for a ticket with an address this network knows"
	}
	return "check the network to " + host
}
