package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/server"
	"sentinel/internal/cli"
)

// opsStore is what export and trace need of a store: the passages, the
// audit log.
type opsStore interface {
	ops.Source
	ops.AuditLog
	Close() error
}

var (
	_ opsStore = (*boltstore.Store)(nil)
	_ opsStore = (*pgstore.Store)(nil)
	_ opsStore = (*pgshard.Store)(nil)
)

// replicaStore reads passages from a replica and writes the audit log to
// the primary.
type replicaStore struct {
	ops.Source
	ops.AuditLog
	closers []io.Closer
}

func (r replicaStore) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// opsLockTimeout bounds the wait for the bbolt file lock: a running server
// holds it for as long as it runs, so waiting longer is useless.
const opsLockTimeout = time.Second

// opsFlags are the flags export and trace share.
type opsFlags struct {
	data, pgURL, purpose, operator string
	// replica: read the passages from this PostgreSQL (a standby); the
	// audit entry still goes to pgURL.
	replica string
	// server, tokenFile and ca: ask a running server's operator API.
	server, tokenFile, ca string
	// stderr hears of legacy files imported into the store.
	stderr io.Writer
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.data, "data", defaultCentralData, "the centre's data `DIR` (the store, with the audit log)")
	fs.StringVar(&o.pgURL, "postgres", "", "read passages from PostgreSQL at `URL` instead of the bbolt store in --data")
	fs.StringVar(&o.replica, "postgres-replica", "", "read the passages from a PostgreSQL replica at `URL` (e.g. with target_session_attrs=prefer-standby), sparing the primary; the audit entry still goes to --postgres. A replica may lag the primary by the last moments of ingest")
	fs.StringVar(&o.purpose, "purpose", "", "a `TEXT` saying why this is run, recorded in the audit log (required)")
	fs.StringVar(&o.operator, "operator", defaultOperator(), "`WHO` runs it, recorded in the audit log (with --server: the token's name)")
	fs.StringVar(&o.server, "server", "", "ask the running server's operator API at `URL` (https://HOST:PORT of serve --ops-listen) instead of reading the store, which serve holds; the server records it in its audit log")
	fs.StringVar(&o.tokenFile, "token-file", "", "`FILE` holding an ops role token, for --server")
	fs.StringVar(&o.ca, "ca", "", "the device CA `FILE` that verifies --server (default DATA/enrol/ca.pem)")
}

// defaultOperator is $USER, or the name of the account running the command.
func defaultOperator() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// check refuses a command line without who or why.
func (o *opsFlags) check() error {
	if o.purpose == "" {
		return cli.Usagef("--purpose is required: say why (it is recorded with who and when in the audit log)")
	}
	if o.replica != "" && o.pgURL == "" {
		return cli.Usagef("--postgres-replica needs --postgres: the audit log is written to the primary")
	}
	if o.server != "" {
		if o.pgURL != "" {
			return cli.Usagef("--server and --postgres: choose one (the server reads its own store)")
		}
		return nil
	}
	if o.tokenFile != "" || o.ca != "" {
		return cli.Usagef("--token-file and --ca go with --server")
	}
	if o.operator == "" {
		return cli.Usagef("--operator is required: no $USER and no account name")
	}
	return nil
}

// client returns the operator API client of --server.
func (o *opsFlags) client() (*opsAPI, error) {
	return newOpsAPI(o.server, o.tokenFile, o.ca, o.data)
}

// open opens the store the flags name and returns it with the name the
// audit log records.
func (o *opsFlags) open(ctx context.Context) (opsStore, string, error) {
	// Files of older versions in the data directory are imported into
	// the store, with PostgreSQL too; on PostgreSQL an ops host that runs
	// no serve has no data directory, and nothing to import.
	if err := needData(o.data); err != nil && o.pgURL == "" {
		return nil, "", err
	}
	if o.pgURL != "" {
		st, err := pgshard.Open(ctx, o.pgURL, nil) // every cluster's passages
		if err != nil {
			return nil, "", fmt.Errorf("--postgres: %w", err)
		}
		if err := importLegacy(ctx, st, o.data, o.stderr); err != nil {
			st.Close()
			return nil, "", err
		}
		if o.replica == "" {
			return st, "postgres", nil
		}
		// A replica is of one cluster: with passages spread over several,
		// it would answer for the home cluster's sites alone.
		cl, err := st.Clusters(ctx)
		if err == nil && len(cl) > 1 {
			err = fmt.Errorf("--postgres-replica: this centre spreads passages over %d clusters and a replica holds one cluster's: drop --postgres-replica", len(cl))
		}
		if err != nil {
			st.Close()
			return nil, "", err
		}
		rep, err := pgstore.Open(ctx, o.replica, &pgstore.Options{ReadOnly: true})
		if err != nil {
			st.Close()
			return nil, "", fmt.Errorf("--postgres-replica: %w", err)
		}
		return replicaStore{Source: rep, AuditLog: st, closers: []io.Closer{rep, st}}, "postgres replica", nil
	}
	path := filepath.Join(o.data, server.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("no central store at %s: check --data, or use --postgres: %w", path, err)
	}
	st, err := boltstore.Open(path, &boltstore.Options{Timeout: opsLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, "", fmt.Errorf("%s: the store is in use by a running server: ask it with --server https://HOST:PORT --token-file FILE (an ops token; serve --ops-listen), or stop it", path)
	}
	if err != nil {
		return nil, "", err
	}
	if err := importLegacy(ctx, st, o.data, o.stderr); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, path, nil
}

// runExport streams passages to a spool, records the export in the audit
// log, and only then hands the spool to --out or stdout.
func runExport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central export", stderr, cli.CommandHelp(ctx))
	o := opsFlags{stderr: stderr}
	o.register(fs)
	var from, to cli.Time
	fs.Var(&from, "from", "first `TIME` of the export, inclusive (required)")
	fs.Var(&to, "to", "end `TIME` of the export, exclusive (required)")
	site := fs.String("site", "", "only passages at `SITE`")
	device := fs.String("device", "", "only passages of terminal `ID`")
	format := fs.String("format", "", "csv or jsonl (required)")
	out := fs.String("out", "", "write to `FILE` instead of stdout")
	return cli.Exit(stderr, "sentinel-central export", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if from.T.IsZero() || to.T.IsZero() {
			return cli.Usagef("--from and --to are required")
		}
		if !to.T.After(from.T) {
			return cli.Usagef("--to %s is not after --from %s", to.T.Format(time.RFC3339), from.T.Format(time.RFC3339))
		}
		f, err := ops.ParseFormat(*format)
		if err != nil {
			return cli.Usagef("--format %q: want csv or jsonl", *format)
		}
		if err := o.check(); err != nil {
			return err
		}
		if o.server != "" {
			return exportRemote(ctx, &o, opsapi.ExportRequest{From: from.T, To: to.T, Site: *site, Device: *device, Format: string(f), Purpose: o.purpose}, *out, stdout, stderr)
		}
		st, storeName, err := o.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()

		// The spool sits beside --out, or in the temporary directory for
		// stdout, and is removed whatever happens.
		dir := os.TempDir()
		if *out != "" {
			dir = filepath.Dir(*out)
		}
		spool, err := os.CreateTemp(dir, ".sentinel-export-*")
		if err != nil && *out != "" {
			return fmt.Errorf("write %s: %w (does its directory exist?)", *out, err)
		}
		if err != nil {
			return fmt.Errorf("spool: %w (set TMPDIR, or use --out)", err)
		}
		defer os.Remove(spool.Name())
		defer spool.Close()

		filter := central.Filter{From: from.T, To: to.T, Site: *site, Device: *device}
		n, err := ops.Export(ctx, st, filter, f, spool)
		if err != nil {
			return err
		}
		entry := ops.Entry{
			Time: time.Now().UTC(), Operator: o.operator, Action: ops.ActionExport, Purpose: o.purpose,
			Query: ops.Query{From: from.T, To: to.T, Site: *site, Device: *device},
			Store: storeName, Format: string(f), Rows: n,
		}
		if err := st.AppendAudit(ctx, entry); err != nil {
			return fmt.Errorf("%w: nothing exported", err)
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if *out == "" {
			if _, err := io.Copy(stdout, spool); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			fmt.Fprintf(stderr, "exported %s; recorded in the audit log of %s\n", count(n, "passage"), storeName)
			return nil
		}
		if err := spool.Sync(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := os.Rename(spool.Name(), *out); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		fmt.Fprintf(stderr, "exported %s to %s; recorded in the audit log of %s\n", count(n, "passage"), *out, storeName)
		return nil
	}())
}

// exportRemote has the running server export: it audits the export before
// it sends a row. The rows go to stdout, or to a file beside out renamed
// over it once whole.
func exportRemote(ctx context.Context, o *opsFlags, req opsapi.ExportRequest, out string, stdout, stderr io.Writer) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	defer c.close()
	if out == "" {
		rows, err := c.export(ctx, req, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %s; recorded in the server's audit log\n", countText(rows, "passage"))
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(out), ".sentinel-export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w (does its directory exist?)", out, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rows, err := c.export(ctx, req, f)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(stderr, "exported %s to %s; recorded in the server's audit log\n", countText(rows, "passage"), out)
	return nil
}
