package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	berrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/fleet"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/server"
	"sentinel/internal/cli"
	syncenrol "sentinel/sync/enrol"
)

// defaultCentralData is the centre's data directory when --data is not
// given.
const defaultCentralData = "/var/lib/sentinel-central"

// deviceCmds are the subcommands of "devices".
var deviceCmds = map[string]cli.Command{
	"add":    {Summary: "make a single-use enrolment token for a site (text and QR)", Synopsis: "--site SITE [flags]", Run: runDevicesAdd},
	"list":   {Summary: "list enrolled terminals", Synopsis: "[flags]", Run: runDevicesList},
	"revoke": {Summary: "revoke a terminal: its next request is refused, its connections closed", Synopsis: "--device ID [flags]", Run: runDevicesRevoke},
}

func runDevices(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central devices", deviceCmds, args, stdin, stdout, stderr)
}

// devicesFlags returns the flag set of a devices subcommand with --data
// and --json.
func devicesFlags(ctx context.Context, name string, stderr io.Writer) (fs *flag.FlagSet, data *string, asJSON *bool) {
	fs = cli.NewFlagSet("sentinel-central devices "+name, stderr, cli.CommandHelp(ctx))
	data = fs.String("data", defaultCentralData, "the centre's data `DIR` (device CA, tokens, devices)")
	asJSON = fs.Bool("json", false, "print JSON")
	return fs, data, asJSON
}

// tokenOut is what devices add prints with --json.
type tokenOut struct {
	Token string `json:"token"`
	// Ticket is the token with the enrolment address and the device CA's
	// fingerprint (empty when the address is unknown); Command is what the
	// installer types on the terminal.
	Ticket  string    `json:"ticket,omitempty"`
	Command string    `json:"command"`
	QR      string    `json:"qr"`
	Site    string    `json:"site"`
	Expires time.Time `json:"expires"`
	PNG     string    `json:"png,omitempty"`
}

func runDevicesAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags(ctx, "add", stderr)
	pgURL := fs.String("postgres", "", "keep the token in PostgreSQL at `URL` (a centre that serves with --postgres, when serve is not running)")
	site := fs.String("site", "", "the `SITE` id the terminal will serve (required): 1 to 64 letters, digits, '-', '_' and '.', starting with a letter or digit")
	addr := fs.String("enrol-addr", "", "the `HOST:PORT` terminals enrol at, put into the ticket (default: what serve recorded in DATA/"+enrol.AddressFile+": the first of --hosts and the port of --enrol-listen)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token can be used")
	pngPath := fs.String("png", "", "also write the token's QR code as a PNG to `FILE`")
	return cli.Exit(stderr, "sentinel-central devices add", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *site == "" {
			return cli.Usagef("--site is required")
		}
		if err := enrol.CheckSite(*site); err != nil {
			return cli.Usagef("--site: %v", err)
		}
		if *ttl <= 0 || *ttl > 30*24*time.Hour {
			return cli.Usagef("--ttl %v: want more than 0 and at most 720h", *ttl)
		}
		now := time.Now()
		// The CA must exist before a terminal enrols: make it with the
		// first token.
		ca, err := enrol.LoadCA(*data, true, now)
		if err != nil {
			return err
		}
		enrolAddr := *addr
		if enrolAddr == "" {
			if enrolAddr, err = enrol.ReadAddress(*data); err != nil {
				return err
			}
		}
		value, tok, err := enrol.NewToken(*site, now, *ttl)
		if err != nil {
			return err
		}
		ticket := syncenrol.Ticket{Token: value}
		command := "sentinelctl enrol --central https://HOST:PORT --ca ca.pem --token " + value
		if enrolAddr != "" {
			if ticket, err = syncenrol.NewTicket(value, enrolAddr, ca.Cert.Raw); err != nil {
				return cli.Usagef("--enrol-addr: %v", err)
			}
			command = "sentinelctl enrol --token " + ticket.String()
		}
		qr := ticket.QR()
		m, err := qrMatrix(qr)
		if err != nil {
			return err
		}
		if *pngPath != "" {
			if err := writePNG(*pngPath, m, 6); err != nil {
				return fmt.Errorf("write %s: %w", *pngPath, err)
			}
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		if err := reg.AddEnrolToken(ctx, tok); err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			out := tokenOut{Token: value, Command: command, QR: qr, Site: tok.Site, Expires: tok.Expires, PNG: *pngPath}
			if ticket.Compact() {
				out.Ticket = ticket.String()
			}
			return enc.Encode(out)
		}
		fmt.Fprintf(stdout, "enrolment token for site %s, single use, until %s\n\n", tok.Site, tok.Expires.Format(time.RFC3339))
		if ticket.Compact() {
			fmt.Fprintf(stdout, "on the terminal, type:\n\n    %s\n\n", command)
			fmt.Fprintf(stdout, "(the ticket names the enrolment address %s and the device CA's SHA-256 %s)\n",
				enrolAddr, hex.EncodeToString(ticket.CA[:]))
		} else {
			fmt.Fprintf(stdout, "token: %s\n\n", value)
			fmt.Fprintf(stdout, "the enrolment address is not known here (serve never ran from %s; give --enrol-addr HOST:PORT to put it into a ticket); on the terminal, type:\n\n    %s\n\n",
				*data, command)
			fmt.Fprintf(stdout, "with HOST:PORT the centre's enrolment address (serve prints it as \"listening enrol\") and ca.pem a copy of %s\n",
				filepath.Join(*data, enrol.CACertFile))
		}
		fmt.Fprintln(stdout, "the same as a QR code (sentinelctl enrol --token takes its text, SENTINEL-ENROL: prefix and all):")
		drawTerminal(stdout, m)
		return nil
	}())
}

// storeLockWait bounds how long devices list waits for the bbolt store's
// lock, which a running serve holds.
const storeLockWait = 500 * time.Millisecond

// deviceStore is what devices list needs of a store.
type deviceStore interface {
	Devices(ctx context.Context) ([]central.Device, error)
	Enrolled(ctx context.Context) ([]central.EnrolledDevice, error)
	central.HealthStore
	Close() error
}

var (
	_ deviceStore = (*boltstore.Store)(nil)
	_ deviceStore = (*pgstore.Store)(nil)
	_ deviceStore = (*pgshard.Store)(nil)
)

// deviceOut is one terminal as devices list prints it with --json: the
// enrolment registry's fields and what the store knows of its uploads.
type deviceOut struct {
	enrol.Device
	// StoreRead is false when the store could not be read (a running
	// serve holds the bbolt store): LastSeen and Marks are then unknown.
	StoreRead bool `json:"store_read"`
	// LastSeen is the time of the last upload that carried records; null
	// when the terminal never uploaded or the store was not read.
	LastSeen *time.Time `json:"last_seen"`
	Marks    []markOut  `json:"marks"`
	// Acked is the sum of the high-water marks over the terminal's journal
	// epochs: how many records the centre has acknowledged.
	Acked uint64 `json:"acked"`
	// Forks are the places where the terminal ran on a restored or cloned
	// copy of its data, oldest first.
	Forks []fleet.Fork `json:"forks"`
	// Health is the terminal's latest health report; null when it never
	// reported or the store was not read.
	Health *fleet.Health `json:"health"`
	// HealthError says why a stored report could not be shown.
	HealthError string `json:"health_error,omitempty"`
}

// markOut is the high-water mark of one journal epoch.
type markOut struct {
	Epoch     string `json:"epoch"`
	HighWater uint64 `json:"high_water"`
}

// openDeviceStore opens PostgreSQL at pgURL, or the bbolt store in data
// (made when missing), with the legacy files imported.
func openDeviceStore(ctx context.Context, data, pgURL string, stderr io.Writer) (deviceStore, error) {
	var (
		st interface {
			deviceStore
			central.Store
		}
		err error
	)
	switch {
	case pgURL != "":
		if st, err = pgshard.Open(ctx, pgURL, nil); err != nil { // every cluster's marks
			return nil, fmt.Errorf("--postgres: %w", err)
		}
	case keptInPostgres(data):
		return nil, fmt.Errorf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): pass --postgres URL", data)
	default:
		if st, err = boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: storeLockWait}); err != nil {
			return nil, err
		}
	}
	if err := importLegacy(ctx, st, data, stderr); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// fleet joins the enrolment registry with the store's devices, ordered by
// id. A device the store knows but the registry does not (a lost registry)
// is listed with an empty site.
func joinFleet(reg []enrol.Device, stored []central.Device, read bool) []deviceOut {
	byID := make(map[string]central.Device, len(stored))
	for _, d := range stored {
		byID[d.ID] = d
	}
	out := make([]deviceOut, 0, len(reg)+len(stored))
	add := func(e enrol.Device) {
		o := deviceOut{Device: e, StoreRead: read, Marks: []markOut{}, Forks: []fleet.Fork{}}
		if d, ok := byID[e.ID]; ok {
			delete(byID, e.ID)
			if !d.LastSeen.IsZero() {
				ls := d.LastSeen.UTC()
				o.LastSeen = &ls
			}
			for _, m := range d.Marks {
				o.Marks = append(o.Marks, markOut{Epoch: m.Epoch.String(), HighWater: m.HighWater})
				o.Acked += m.HighWater
			}
			o.Forks = fleet.Forks(d.Forks)
		}
		out = append(out, o)
	}
	for _, e := range reg {
		add(e)
	}
	for _, d := range stored {
		if _, ok := byID[d.ID]; ok {
			add(enrol.Device{ID: d.ID})
		}
	}
	slices.SortFunc(out, func(a, b deviceOut) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func runDevicesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags(ctx, "list", stderr)
	pgURL := fs.String("postgres", "", "read uploads from PostgreSQL at `URL` instead of the bbolt store in --data")
	replica := fs.String("postgres-replica", "", "read from a PostgreSQL replica at `URL` instead (e.g. with target_session_attrs=prefer-standby), sparing the primary; it may lag by the last moments of ingest")
	srvURL := fs.String("server", "", "ask the running server's operator API at `URL` (https://HOST:PORT of serve --ops-listen) for what its store knows, which serve holds")
	tokenFile := fs.String("token-file", "", "`FILE` holding an ops role token, for --server")
	caFile := fs.String("ca", "", "the device CA `FILE` that verifies --server (default DATA/enrol/ca.pem)")
	return cli.Exit(stderr, "sentinel-central devices list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *srvURL != "" && (*pgURL != "" || *replica != "") {
			return cli.Usagef("--server and --postgres: choose one (the server reads its own store)")
		}
		if *pgURL != "" && *replica != "" {
			return cli.Usagef("--postgres and --postgres-replica: choose one (devices list only reads)")
		}
		if *srvURL == "" && (*tokenFile != "" || *caFile != "") {
			return cli.Usagef("--token-file and --ca go with --server")
		}
		// On PostgreSQL the fleet is in the database: an ops host that
		// runs no serve has no data directory.
		if err := needData(*data); err != nil && *pgURL == "" && *replica == "" {
			return err
		}
		if *srvURL != "" {
			r, err := openRegistry(ctx, *data, "", stderr)
			if err != nil {
				return err
			}
			reg, err := r.Enrolled(ctx)
			r.Close()
			if err != nil {
				return err
			}
			out, err := fleetFromServer(ctx, reg, *srvURL, *tokenFile, *caFile, *data)
			if err != nil {
				return err
			}
			return printFleet(stdout, out, *asJSON)
		}
		var (
			reg    []enrol.Device
			stored []central.Device
		)
		read := true
		var ds deviceStore
		var err error
		if *replica != "" {
			ds, err = openReplica(ctx, *replica)
		} else {
			ds, err = openDeviceStore(ctx, *data, *pgURL, stderr)
		}
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			read = false
			c := dialControl(*data)
			if c == nil {
				return fmt.Errorf("%s is locked by a running 'sentinel-central serve' that does not answer on %s: run this as the user serve runs as, or ask it with --server https://HOST:PORT --token-file FILE",
					filepath.Join(*data, server.StoreFile), filepath.Join(*data, controlFile))
			}
			defer c.Close()
			if reg, err = c.Enrolled(ctx); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "sentinel-central devices list: last seen and acknowledged records unknown: %s is locked by a running 'sentinel-central serve'; ask it with --server https://HOST:PORT --token-file FILE (an ops token; serve --ops-listen), or pass --postgres URL when serve stores in PostgreSQL\n",
				filepath.Join(*data, server.StoreFile))
		case err != nil:
			return err
		default:
			defer ds.Close()
			if reg, err = ds.Enrolled(ctx); err != nil {
				return err
			}
			if stored, err = ds.Devices(ctx); err != nil {
				return err
			}
		}
		out := joinFleet(reg, stored, read)
		if ds != nil && read {
			if err := addHealth(ctx, ds, out, time.Now()); err != nil {
				return err
			}
		}
		return printFleet(stdout, out, *asJSON)
	}())
}

// fleetFromServer joins the registry with what the running server's store
// knows of each terminal (GET /v1/ops/devices with an ops token).
func fleetFromServer(ctx context.Context, reg []enrol.Device, srvURL, tokenFile, caFile, data string) ([]deviceOut, error) {
	api, err := newOpsAPI(srvURL, tokenFile, caFile, data)
	if err != nil {
		return nil, err
	}
	defer api.close()
	ds, err := api.devices(ctx)
	if err != nil {
		return nil, err
	}
	stored := make([]central.Device, len(ds))
	byID := make(map[string]opsapi.DeviceOut, len(ds))
	for i, d := range ds {
		stored[i] = central.Device{ID: d.ID, LastSeen: d.LastSeen, Marks: d.Marks}
		byID[d.ID] = d
	}
	out := joinFleet(reg, stored, true)
	for i := range out {
		d, ok := byID[out[i].ID]
		if !ok {
			continue
		}
		if d.Forks != nil {
			out[i].Forks = d.Forks
		}
		out[i].Health, out[i].HealthError = d.Health, d.HealthError
	}
	return out, nil
}

// printFleet writes the fleet as a table, or as JSON.
func printFleet(stdout io.Writer, out []deviceOut, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no terminals enrolled: make a token with 'sentinel-central devices add --site SITE'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSITE\tENROLLED\tCERTIFICATE UNTIL\tREVOKED\tLAST SEEN\tACKED\tREPORTED\tSOFTWARE\tBACKLOG\tCLOCK\tBUNDLES\tFAULTS\tFORKS")
	for _, d := range out {
		site, enrolled, until, rev := d.Site, "-", "-", "-"
		if site == "" {
			site = "(not enrolled)"
		}
		if !d.Enrolled.IsZero() {
			enrolled, until = d.Enrolled.Format(time.RFC3339), d.NotAfter.Format(time.RFC3339)
		}
		if !d.Revoked.IsZero() {
			rev = d.Revoked.Format(time.RFC3339)
		}
		seen, acked := "never", strconv.FormatUint(d.Acked, 10)
		switch {
		case !d.StoreRead:
			seen, acked = "unknown", "unknown"
		case d.LastSeen != nil:
			seen = d.LastSeen.Format(time.RFC3339)
		}
		reported, software, backlog, clock, bundles, faults := "never", "-", "-", "-", "-", "-"
		switch {
		case !d.StoreRead:
			reported, software, backlog, clock, bundles, faults = "unknown", "unknown", "unknown", "unknown", "unknown", "unknown"
		case d.HealthError != "":
			reported = "unreadable"
		case d.Health != nil:
			h := d.Health
			reported, backlog, clock = h.AgeText()+" ago", strconv.FormatUint(h.Backlog, 10), h.OffsetText()
			if h.Software != "" {
				software = h.Software
			}
			bundles, faults = h.BundleText(), h.FaultText()
		}
		forks := fleet.ForksText(d.Forks)
		if !d.StoreRead {
			forks = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, site, enrolled, until, rev, seen, acked,
			reported, software, backlog, clock, bundles, faults, forks)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range out {
		for _, f := range d.Forks {
			fmt.Fprintf(stdout, "%s: %s\n", d.ID, f.Text())
		}
	}
	return nil
}

func runDevicesRevoke(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, asJSON := devicesFlags(ctx, "revoke", stderr)
	pgURL := fs.String("postgres", "", "revoke in PostgreSQL at `URL` (a centre that serves with --postgres, when serve is not running)")
	id := fs.String("device", "", "the device id to revoke, as 'devices list' shows it (required)")
	return cli.Exit(stderr, "sentinel-central devices revoke", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *id == "" {
			return cli.Usagef("--device is required")
		}
		if err := needData(*data); err != nil && *pgURL == "" {
			return err
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		now := time.Now().UTC().Truncate(time.Second)
		if err := reg.RevokeDevice(ctx, *id, now); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"device": *id, "revoked": now})
		}
		fmt.Fprintf(stdout, "device %s revoked: a running centre refuses its next request (403 device-revoked) and closes its connections within %v; the terminal shows its guard that it was removed from service\n", *id, server.DefaultRevokeSweep)
		return nil
	}())
}

// addHealth puts each terminal's latest health report, as of now, into out.
func addHealth(ctx context.Context, hs central.HealthStore, out []deviceOut, now time.Time) error {
	for i := range out {
		rep, ok, err := hs.Health(ctx, out[i].ID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if out[i].Health, err = fleet.View(rep, now); err != nil {
			out[i].HealthError = err.Error()
		}
	}
	return nil
}

// openReplica opens a PostgreSQL replica of a centre that keeps its
// passages on one cluster, for reading.
func openReplica(ctx context.Context, url string) (*pgstore.Store, error) {
	st, err := pgstore.Open(ctx, url, &pgstore.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("--postgres-replica: %w", err)
	}
	var others int
	err = st.WithConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT count(*) FROM clusters").Scan(&others)
	})
	if err == nil && others > 0 {
		err = fmt.Errorf("--postgres-replica: this centre spreads passages over %d clusters and a replica holds one cluster's: use --postgres", others+1)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
