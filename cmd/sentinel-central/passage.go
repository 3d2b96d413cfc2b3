package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"sentinel/internal/central/enginecmd"
	"sentinel/internal/cli"
	"sentinel/internal/passage"
)

var passageCommands = map[string]cli.Command{
	"show": {Summary: "find a passage by the reference the holder read off the gate's display, for an appeal", Synopsis: "REF [flags]", Run: runPassageShow},
}

func runPassage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central passage", passageCommands, args, stdin, stdout, stderr)
}

func runPassageShow(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central passage show", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	langS := fs.String("lang", "en", "`LANG`, the language of the reasons: en or zh")
	zone := fs.String("zone", "UTC", "print times in `ZONE`, as Asia/Shanghai")
	purpose := fs.String("purpose", "appeal", "a `TEXT` saying why, recorded in the audit log")
	return cli.Exit(stderr, "sentinel-central passage show", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return cli.Usagef("show takes one passage reference REF, as K7M2-Q9XR-4HTB from the gate's display")
		}
		ref, err := passage.ParseRef(strings.Join(pos, ""))
		if err != nil {
			return cli.Usagef("%v", err)
		}
		if *langS != "en" && *langS != "zh" {
			return cli.Usagef("--lang %q: want en or zh", *langS)
		}
		loc, err := time.LoadLocation(*zone)
		if err != nil {
			return cli.Usagef("--zone %q: not a time zone (as Asia/Shanghai or UTC)", *zone)
		}
		if o.operator == "" || *purpose == "" {
			return cli.Usagef("--operator and --purpose are required: looking at a passage is recorded with who and why")
		}
		var out []enginecmd.ShownPassage
		q := enginecmd.PassageRequest{Ref: ref.String(), Lang: *langS, Zone: *zone, Purpose: *purpose}
		if err := o.run(ctx, "passage/show", q, &out, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, out)
		}
		if len(out) > 1 {
			fmt.Fprintf(stdout, "%d passages have reference %s (the reference is short; these are all of that minute with it):\n\n", len(out), ref)
		}
		for i, p := range out {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printPassage(stdout, p, loc)
		}
		return nil
	}())
}

func printPassage(w io.Writer, p enginecmd.ShownPassage, loc *time.Location) {
	fmt.Fprintf(w, "passage  %s\n", p.Ref)
	fmt.Fprintf(w, "time     %s (%s)\n", p.Time.In(loc).Format("2006-01-02 15:04:05 MST"), p.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "site     %s\n", cmpOr(p.Site, "(not known: the terminal was not enrolled to a site)"))
	fmt.Fprintf(w, "device   %s (journal %s, record %d)\n", p.Device, p.Epoch, p.Seq)
	fmt.Fprintf(w, "verdict  %s\n", p.Decision)
	for i, r := range p.Reasons {
		label := "reasons "
		if i > 0 {
			label = "        "
		}
		fmt.Fprintf(w, "%s %s: %s\n", label, r, p.Messages[i])
	}
	if p.Holder == "" {
		fmt.Fprintln(w, "holder   (not opened at ingest: the centre had no key for this record)")
		return
	}
	fmt.Fprintf(w, "holder   %s\n", p.Holder)
	fmt.Fprintf(w, "\nWhy the holder has their colour, for the appeal:\n  %s\n", p.Explain)
}
