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
	"sentinel/internal/central/enginecmd"
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
	engineLog := fs.Bool("engine", false, "print the engine's audit instead: every change of its data (facts, areas, sites, risk levels, rule sets) and every status the engine published or ops set by hand; --operator then selects who made the change, --action its kind: "+strings.Join(central.ChangeActions(), ", "))
	subject := fs.String("subject", "", "with --engine: only the changes of `SUBJECT` (a holder, area, site or region)")
	purpose := fs.String("purpose", "review of the engine's changes", "with --engine: the `TEXT` of why you read it, recorded in the audit log (the records name holders)")
	return cli.Exit(stderr, "sentinel-central audit", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *engineLog {
			if *action != "" && !slices.Contains(central.ChangeActions(), *action) {
				return cli.Usagef("--action %q: with --engine want one of %s", *action, strings.Join(central.ChangeActions(), ", "))
			}
			o := engineFlags{data: *data, pgURL: *pgURL, operator: defaultOperator(), asJSON: *asJSON}
			return printEngineAudit(ctx, o, *subject, *action, *operator, *purpose, from.T, to.T, stdout)
		}
		if *subject != "" {
			return cli.Usagef("--subject goes with --engine")
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

// queryText writes an audited query's filter in a line. A look-up that
// reads no span of time (a whitelist listing, a passage by its reference)
// shows none rather than the zero time; one that names nothing is "-".
func queryText(q central.AuditQuery) string {
	var parts []string
	if !q.From.IsZero() || !q.To.IsZero() {
		at := func(t time.Time) string {
			if t.IsZero() {
				return "" // an open end
			}
			return t.UTC().Format(time.RFC3339)
		}
		parts = append(parts, at(q.From)+".."+at(q.To))
	}
	for _, f := range []struct{ k, v string }{{"site", q.Site}, {"device", q.Device}, {"holder", q.Holder}} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	if q.Window != 0 {
		parts = append(parts, "window="+q.Window.String())
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// printEngineAudit prints the engine's audit of changes, read page by
// page (through serve while it holds the bbolt store).
func printEngineAudit(ctx context.Context, o engineFlags, subject, action, by, purpose string, from, to time.Time, stdout io.Writer) error {
	if purpose == "" {
		return cli.Usagef("--purpose is required: reading the engine's audit is recorded in the audit log with who and why")
	}
	out := []central.EngineChange{}
	q := enginecmd.ChangesRequest{Subject: subject, Action: action, Purpose: purpose}
	for {
		var page enginecmd.ChangesAnswer
		if err := o.run(ctx, "changes/list", q, &page, nil, nil); err != nil {
			return err
		}
		for _, c := range page.Changes {
			if (by == "" || c.By == by || c.By == "ops:"+by) && (from.IsZero() || !c.Time.Before(from)) && (to.IsZero() || c.Time.Before(to)) {
				out = append(out, c)
			}
		}
		if page.Next == 0 {
			break
		}
		q.From = page.Next
	}
	if o.asJSON {
		return printJSON(stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no changes in the engine's audit")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tTIME\tBY\tACTION\tSUBJECT\tWHY\tDETAIL")
	for _, c := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Seq, c.Time.UTC().Format(time.RFC3339), c.By, c.Action, c.Subject, c.Why, c.Detail)
	}
	return tw.Flush()
}
