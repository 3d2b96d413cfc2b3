package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/cli"
)

// runTrace finds a holder's passages and the holders who passed the same
// site within the window, records the trace in the audit log, and prints it.
func runTrace(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central trace", stderr, cli.CommandHelp(ctx))
	o := opsFlags{stderr: stderr}
	o.register(fs)
	holder := fs.String("holder", "", "the holder to trace: `ISSUER:INDEX` (as ZJ:1024) or p: and the 32 hex digits of a pseudonym, never a name (required)")
	days := fs.Int("days", 14, "look back this many `DAYS`")
	window := fs.Duration("window", 30*time.Minute, "contacts within ± this `DURATION` of each passage")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central trace", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *holder == "" {
			return cli.Usagef("--holder is required: the holder as ISSUER:INDEX (as ZJ:1024) or p: and the 32 hex digits of a pseudonym")
		}
		h, err := credential.ParseHolderID(*holder)
		if err != nil {
			return cli.Usagef("--holder: %v", err)
		}
		if *days <= 0 || *days > 366 {
			return cli.Usagef("--days %d: want 1 to 366", *days)
		}
		if *window < 0 || *window > 24*time.Hour {
			return cli.Usagef("--window %v: want 0 to 24h", *window)
		}
		if err := o.check(); err != nil {
			return err
		}
		if o.server != "" {
			c, err := o.client()
			if err != nil {
				return err
			}
			defer c.close()
			now := time.Now().UTC()
			res, err := c.trace(ctx, opsapi.TraceRequest{Holder: h.String(), From: now.AddDate(0, 0, -*days), To: now.Add(time.Microsecond), Window: window.String(), Purpose: o.purpose})
			if err != nil {
				return err
			}
			if *asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return printTrace(stdout, res, *days)
		}
		st, storeName, err := o.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()

		now := time.Now().UTC()
		q := ops.TraceQuery{Holder: h.String(), From: now.AddDate(0, 0, -*days), To: now.Add(time.Microsecond), Window: *window}
		res, err := ops.Trace(ctx, st, q)
		if err != nil {
			return err
		}
		entry := ops.Entry{
			Time: now, Operator: o.operator, Action: ops.ActionTrace, Purpose: o.purpose,
			Query: ops.Query{From: q.From, To: q.To, Holder: q.Holder, Window: q.Window},
			Store: storeName, Rows: res.Rows(),
		}
		if err := st.AppendAudit(ctx, entry); err != nil {
			return fmt.Errorf("%w: nothing shown", err)
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		return printTrace(stdout, res, *days)
	}())
}

// printTrace writes the trace as a table, or a sentence when the holder
// has no passages.
func printTrace(w io.Writer, res *ops.TraceResult, days int) error {
	if len(res.Visits) == 0 {
		_, err := fmt.Fprintf(w, "no passages of %s in the last %d days: nothing to trace\n", res.Holder, days)
		return err
	}
	contacts := 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSITE\tCONTACT\tΔT")
	for _, v := range res.Visits {
		t := v.Time.Format(time.RFC3339)
		if len(v.Contacts) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\n", t, v.Site)
			continue
		}
		for _, c := range v.Contacts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t, v.Site, c.Holder, signedDuration(c.Delta))
			contacts++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s of %s in the last %d days, %s within ±%v\n",
		count(len(res.Visits), "passage"), res.Holder, days, count(contacts, "contact passage"), res.Window)
	return err
}

// signedDuration writes d with its sign, "+5m0s" or "-30s".
func signedDuration(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
