package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/cli"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
)

var passageCommands = map[string]cli.Command{
	"show": {Summary: "find a passage by the reference the holder read off the gate's display, for an appeal", Synopsis: "REF [flags]", Run: runPassageShow},
}

func runPassage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central passage", passageCommands, args, stdin, stdout, stderr)
}

// shownPassage is a passage as `passage show --json` prints it.
type shownPassage struct {
	Ref      string    `json:"ref"`
	Time     time.Time `json:"time"`
	Site     string    `json:"site"`
	Device   string    `json:"device"`
	Epoch    string    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Decision string    `json:"decision"`
	Reasons  []string  `json:"reasons"`
	Messages []string  `json:"messages"` // the reasons as the guard read them
	Holder   string    `json:"holder,omitempty"`
	Explain  string    `json:"explain,omitempty"` // the command that explains the holder's colour
}

func runPassageShow(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central passage show", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	langS := fs.String("lang", "en", "the language of the reasons: en or zh")
	zone := fs.String("zone", "UTC", "print times in `ZONE`, as Asia/Shanghai")
	operator := fs.String("operator", defaultOperator(), "who looks, recorded in the audit log")
	purpose := fs.String("purpose", "appeal", "why, recorded in the audit log")
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
		if *operator == "" || *purpose == "" {
			return cli.Usagef("--operator and --purpose are required: looking at a passage is recorded with who and why")
		}
		storeName := "postgres"
		if o.pgURL == "" {
			storeName = o.data
		}
		q := appeal.LookUpRequest{Ref: ref.String(), Operator: *operator, Purpose: *purpose, Store: storeName}
		st, ctl, err := o.openOrServe(ctx)
		if err != nil {
			return err
		}
		var found []central.Passage
		if ctl != nil {
			defer ctl.Close()
			err = ctl.do(ctx, http.MethodPost, ctlPassage, q, &found)
		} else {
			defer st.Close()
			found, err = appeal.LookUp(ctx, st, q)
		}
		if err != nil {
			return err
		}
		if len(found) == 0 {
			from, to := ref.Window()
			return fmt.Errorf("no passage at the centre has reference %s (recorded %s): check that the terminal has synced since (sentinel-central devices list shows its last upload), and the reference as read: %w",
				ref, describeWindow(from, to, loc), appeal.ErrNotFound)
		}
		out := make([]shownPassage, len(found))
		for i, p := range found {
			out[i] = shownPassage{Ref: ref.String(), Time: p.Time, Site: p.Site, Device: p.Device, Epoch: p.Epoch.String(), Seq: p.Seq,
				Decision: p.Decision, Reasons: p.Reasons, Holder: p.Holder}
			for _, r := range p.Reasons {
				out[i].Messages = append(out[i].Messages, gate.Message(r, *langS))
			}
			if p.Holder != "" {
				out[i].Explain = "sentinel-central status explain --holder " + p.Holder
				if *langS == "zh" {
					out[i].Explain += " --lang zh"
				}
			}
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

// ctlPassage is the control socket's path of passage look-ups.
const ctlPassage = "/passage"

func describeWindow(from, to time.Time, loc *time.Location) string {
	switch {
	case from.IsZero():
		return "before " + to.In(loc).Format("2006-01-02 15:04 MST") + " (the terminal's clock was not set)"
	case to.IsZero():
		return "after " + from.In(loc).Format("2006-01-02 15:04 MST")
	}
	return "in the minute " + from.In(loc).Format("2006-01-02 15:04 MST")
}

func printPassage(w io.Writer, p shownPassage, loc *time.Location) {
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
