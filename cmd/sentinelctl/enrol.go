package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/trust"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/central/enrol"
	"sentinel/internal/cli"
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
}

func runEnrol(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sentinelctl enrol", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinelctl enrol --central URL --token TOKEN [flags]

Enrols this terminal with the central system: makes the terminal's key pair
(it never leaves the terminal), sends a certificate request with the token
ops made ('sentinel-central devices add'), and writes the device
certificate, the operator root and the first bundles into the data
directory. While the centre cannot be reached the request is retried
until --timeout.

flags:`)
		fs.PrintDefaults()
	}
	central := fs.String("central", "", "the central system's enrolment URL, e.g. https://central.example:8443 (required)")
	token := fs.String("token", "", "the enrolment token (required)")
	dataDir := fs.String("data-dir", firmwareconfig.DefaultDataDir, "the terminal's data directory")
	rootPath := fs.String("root", "", "the operator root public key the package pinned `FILE`: the centre's must match")
	caPath := fs.String("ca", "", "the CA `FILE` that signs the centre's TLS certificate (default: the system's)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up retrying after this long")
	force := fs.Bool("force", false, "enrol again although the terminal has a certificate (a new key and device id)")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := cli.ParseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "sentinelctl enrol: %v\n", err)
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sentinelctl enrol: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		return usage("unexpected argument %q", rest[0])
	case *central == "" || *token == "":
		return usage("--central URL and --token TOKEN are required (see -h)")
	case *timeout <= 0:
		return usage("--timeout %v: want more than 0", *timeout)
	}
	u, err := url.Parse(*central)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usage("--central %q: want a URL like https://central.example:8443", *central)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sentinelctl enrol: %v\n", err)
		return exitRefused
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stdout, format+"\n", a...)
		}
	}

	if _, err := os.Stat(filepath.Join(*dataDir, enrol.CertFile)); err == nil && !*force {
		return fail(fmt.Errorf("this terminal is enrolled already (%s exists): give --force to enrol it again with a new key", filepath.Join(*dataDir, enrol.CertFile)))
	}
	var pinned crypto.PublicKey
	if *rootPath != "" {
		data, err := os.ReadFile(*rootPath)
		if err != nil {
			return fail(fmt.Errorf("--root: %w", err))
		}
		if pinned, err = trust.ParsePublicKey(data); err != nil {
			return fail(fmt.Errorf("--root %s: %w", *rootPath, err))
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if *caPath != "" {
		data, err := os.ReadFile(*caPath)
		if err != nil {
			return fail(fmt.Errorf("--ca: %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return fail(fmt.Errorf("--ca %s holds no PEM certificate", *caPath))
		}
		tlsCfg.RootCAs = pool
	}
	if u.Scheme == "http" {
		progress("warning: %s is plain HTTP: use it only on a trusted installation network", *central)
	}

	progress("making this terminal's key pair")
	req, key, err := enrol.NewRequest(*token)
	if err != nil {
		return fail(err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	progress("contacting the central system at %s", *central)
	var resp *enrol.Response
	wait, attempts, lastErr := enrolRetryFirst, 0, ""
	for {
		attempts++
		resp, err = enrol.Post(ctx, client, *central, req)
		if err == nil {
			break
		}
		var refused *enrol.RefusedError
		if errors.As(err, &refused) {
			return fail(err)
		}
		var badCert *tls.CertificateVerificationError
		if errors.As(err, &badCert) {
			return fail(fmt.Errorf("%v: the centre's certificate is not trusted here: give its CA with --ca FILE", err))
		}
		if ctx.Err() != nil {
			return fail(fmt.Errorf("gave up after %d attempts in %v: %v: check the network and --central, then run enrol again", attempts, *timeout, err))
		}
		if msg := err.Error(); msg != lastErr {
			progress("cannot reach the central system yet: %v", err)
			lastErr = msg
		}
		d := wait/2 + rand.N(wait/2+1) // jitter in [wait/2, wait]
		progress("retrying in %v (attempt %d)", d.Round(100*time.Millisecond), attempts+1)
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("gave up after %d attempts in %v: %v: check the network and --central, then run enrol again", attempts, *timeout, err))
		case <-time.After(d):
		}
		wait = min(wait*2, enrolRetryCap)
	}
	if attempts > 1 {
		progress("reached the central system after %d attempts", attempts)
	}
	in, err := enrol.Install(*dataDir, key, resp, pinned)
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if in.Bundles == nil {
			in.Bundles = []string{}
		}
		enc.Encode(enrolOut{Device: in.Device, Site: in.Site, NotAfter: in.NotAfter.UTC(), Root: in.Root, Pinned: in.Pinned, Bundles: in.Bundles, Attempts: attempts})
		return exitOK
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
	progress("done: restart sentineld to use the new identity")
	return exitOK
}
