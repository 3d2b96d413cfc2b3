package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/cli"
)

// runAudit prints the audit log: who exported or traced what, looked a
// passage up, had a colour explained, listed a whitelist or dry-ran rule
// sets, when and why. It reads the store, or the running serve's through its socket.
func runAudit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central audit", stderr, cli.CommandHelp(ctx))
	data := fs.String("data", defaultCentralData, "the centre's data `DIR` (its store, or its running serve)")
	pgURL := fs.String("postgres", "", "read the log from PostgreSQL at `URL`")
	var from, to cli.Time
	fs.Var(&from, "from", "only entries from `TIME` on")
	fs.Var(&to, "to", "only entries before `TIME`")
	operator := fs.String("operator", "", "only the entries of `WHO`")
	action := fs.String("action", "", "only the entries of `ACTION`: "+strings.Join(central.AuditActions(), ", "))
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central audit", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *action != "" && !slices.Contains(central.AuditActions(), *action) {
			return cli.Usagef("--action %q: want one of %s", *action, strings.Join(central.AuditActions(), ", "))
		}
		if err := needData(*data); err != nil && *pgURL == "" {
			return err
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		es, err := reg.Audit(ctx, central.AuditFilter{From: from.T, To: to.T, Operator: *operator, Action: *action})
		if err != nil {
			return err
		}
		if *asJSON {
			if es == nil {
				es = []central.AuditEntry{}
			}
			return printJSON(stdout, es)
		}
		if len(es) == 0 {
			fmt.Fprintln(stdout, "no audit entries")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tOPERATOR\tACTION\tROWS\tPURPOSE\tQUERY")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Operator, e.Action, e.Rows, e.Purpose, queryText(e.Query))
		}
		return tw.Flush()
	}())
}

// queryText writes an audited query's filter in a line.
func queryText(q central.AuditQuery) string {
	s := q.From.UTC().Format(time.RFC3339) + ".." + q.To.UTC().Format(time.RFC3339)
	for _, f := range []struct{ k, v string }{{"site", q.Site}, {"device", q.Device}, {"holder", q.Holder}} {
		if f.v != "" {
			s += " " + f.k + "=" + f.v
		}
	}
	if q.Window != 0 {
		s += " window=" + q.Window.String()
	}
	return s
}
