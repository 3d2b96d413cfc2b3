package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/cli"
)

// The commands that feed the code engine: areas and their risk levels,
// sites, whitelists of essential workers, confirmed cases. Every change is
// recorded in the engine's audit with who (--operator) and why (--why).

var areasCommands = map[string]cli.Command{
	"set":  {Summary: "add an area (province, city, district, compound) or rename one", Synopsis: "ID --kind KIND [--parent ID] [--name NAME] --why TEXT [flags]", Run: runAreasSet},
	"risk": {Summary: "grade an area high, medium or low risk from a time on", Synopsis: "ID --level high|medium|low [--effective TIME] --why TEXT [flags]", Run: runAreasRisk},
	"list": {Summary: "list the areas as a tree with their risk levels", Run: runAreasList},
}

var sitesCommands = map[string]cli.Command{
	"set":  {Summary: "place a site (the site id of its terminals) in an area", Synopsis: "ID --area AREA [--name NAME] --why TEXT [flags]", Run: runSitesSet},
	"list": {Summary: "list the sites and their areas", Run: runSitesList},
}

var whitelistCommands = map[string]cli.Command{
	"add":    {Summary: "put a holder on a list of essential workers for an area or a site", Synopsis: "--holder ISSUER:INDEX|p:HEX (--area AREA | --site SITE) --why TEXT [flags]", Run: runWhitelistAdd},
	"remove": {Summary: "take a whitelist entry off by its number (whitelist list shows it)", Synopsis: "--fact N --why TEXT [flags]", Run: runWhitelistRemove},
	"list":   {Summary: "list the whitelist entries", Run: runWhitelistList},
}

var casesCommands = map[string]cli.Command{
	"add":    {Summary: "record a confirmed case and derive its close contacts from the passages", Synopsis: "--holder ISSUER:INDEX|p:HEX --at TIME --why TEXT [flags]", Run: runCasesAdd},
	"import": {Summary: "record the confirmed cases of a CSV file and derive their close contacts", Synopsis: "FILE --why TEXT [flags]", Run: runCasesImport},
}

func runAreas(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central areas", areasCommands, args, stdin, stdout, stderr)
}

func runSites(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central sites", sitesCommands, args, stdin, stdout, stderr)
}

func runWhitelist(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central whitelist", whitelistCommands, args, stdin, stdout, stderr)
}

func runCases(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central cases", casesCommands, args, stdin, stdout, stderr)
}

// changeFlags are who and why of a change.
type changeFlags struct {
	engineFlags
	why string
}

func (c *changeFlags) register(fs *flag.FlagSet) {
	c.engineFlags.register(fs)
	fs.StringVar(&c.why, "why", "", "a `TEXT` saying why, recorded in the engine's audit (required)")
}

// check checks who and why.
func (c *changeFlags) check() error {
	if c.why == "" {
		return cli.Usagef("--why is required: say why (it is recorded with who and when)")
	}
	if c.operator == "" {
		return cli.Usagef("--operator is required: no $USER and no account name")
	}
	return nil
}

// oneArg parses a command that takes one positional argument.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", cli.Usagef("give one %s", what)
	}
	return pos[0], nil
}

func runAreasSet(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central areas set", stderr, cli.CommandHelp(ctx))
	var c changeFlags
	c.register(fs)
	kind := fs.String("kind", "", "province, city, district or compound (required)")
	parent := fs.String("parent", "", "the `ID` of the area it lies in (required but for a province)")
	name := fs.String("name", "", "its name, as holders know it")
	return cli.Exit(stderr, "sentinel-central areas set", func() error {
		id, err := oneArg(fs, args, "area ID, as ZJ-HZ-XH")
		if err != nil {
			return err
		}
		if _, err := engine.ParseAreaKind(*kind); err != nil {
			return cli.Usagef("--kind: %v", err)
		}
		if err := c.check(); err != nil {
			return err
		}
		var a central.Area
		if err := c.run(ctx, "areas/set", enginecmd.AreaSetRequest{ID: id, Kind: *kind, Parent: *parent, Name: *name, Why: c.why}, &a, nil, nil); err != nil {
			return err
		}
		if c.asJSON {
			return printJSON(stdout, a)
		}
		fmt.Fprintf(stdout, "area %s is a %s", a.ID, a.Kind)
		if a.Parent != "" {
			fmt.Fprintf(stdout, " in %s", a.Parent)
		}
		fmt.Fprintln(stdout)
		return nil
	}())
}

func runAreasRisk(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central areas risk", stderr, cli.CommandHelp(ctx))
	var c changeFlags
	c.register(fs)
	level := fs.String("level", "", "high, medium or low (required)")
	var effective cli.Time
	fs.Var(&effective, "effective", "the `TIME` the level takes effect (default now; an earlier time grades passages since then)")
	return cli.Exit(stderr, "sentinel-central areas risk", func() error {
		id, err := oneArg(fs, args, "area ID")
		if err != nil {
			return err
		}
		if _, err := engine.ParseLevel(*level); err != nil {
			return cli.Usagef("--level: %v", err)
		}
		if err := c.check(); err != nil {
			return err
		}
		var g central.Grade
		q := enginecmd.AreaRiskRequest{ID: id, Level: *level, Effective: effective.Or(time.Now()), Why: c.why}
		if err := c.run(ctx, "areas/risk", q, &g, nil, nil); err != nil {
			return err
		}
		if c.asJSON {
			return printJSON(stdout, g)
		}
		fmt.Fprintf(stdout, "area %s is %s risk from %s\n", g.Area, g.Level, g.Effective.Format(time.RFC3339))
		return nil
	}())
}

func runAreasList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central areas list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	var at cli.Time
	fs.Var(&at, "at", "the risk levels at `TIME` (default now)")
	return cli.Exit(stderr, "sentinel-central areas list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		var out enginecmd.AreasListAnswer
		if err := o.run(ctx, "areas/list", enginecmd.AreasListRequest{At: at.Or(time.Now())}, &out, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, out.Areas)
		}
		if len(out.Areas) == 0 {
			fmt.Fprintln(stdout, "no areas: add one with 'sentinel-central areas set ID --kind province --why TEXT'")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "AREA\tKIND\tNAME\tRISK AT %s\n", out.At.Format(time.RFC3339))
		for _, l := range out.Areas {
			risk := l.Level
			if l.Own == "" && l.Level != string(central.LevelLow) {
				risk += " (by the area it lies in)"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", strings.Repeat("  ", l.Depth), l.ID, l.Kind, l.Name, risk)
		}
		return tw.Flush()
	}())
}

func runSitesSet(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central sites set", stderr, cli.CommandHelp(ctx))
	var c changeFlags
	c.register(fs)
	area := fs.String("area", "", "the `ID` of the area the site lies in (required)")
	name := fs.String("name", "", "its name, as holders know it")
	return cli.Exit(stderr, "sentinel-central sites set", func() error {
		id, err := oneArg(fs, args, "site ID (the --site of its terminals' enrolment)")
		if err != nil {
			return err
		}
		if *area == "" {
			return cli.Usagef("--area is required")
		}
		if err := c.check(); err != nil {
			return err
		}
		var s central.Site
		if err := c.run(ctx, "sites/set", enginecmd.SiteSetRequest{ID: id, Area: *area, Name: *name, Why: c.why}, &s, nil, nil); err != nil {
			return err
		}
		if c.asJSON {
			return printJSON(stdout, s)
		}
		fmt.Fprintf(stdout, "site %s lies in %s\n", s.ID, s.Area)
		return nil
	}())
}

func runSitesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central sites list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	return cli.Exit(stderr, "sentinel-central sites list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		var sites []central.Site
		if err := o.run(ctx, "sites/list", enginecmd.SitesListRequest{}, &sites, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			if sites == nil {
				sites = []central.Site{}
			}
			return printJSON(stdout, sites)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tAREA\tNAME")
		for _, s := range sites {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Area, s.Name)
		}
		return tw.Flush()
	}())
}

// holderFlag parses --holder with the one holder-id validator.
func holderFlag(s string) (string, error) {
	if s == "" {
		return "", cli.Usagef("--holder is required")
	}
	h, err := credential.ParseHolderID(s)
	if err != nil {
		return "", cli.Usagef("--holder: %v", err)
	}
	return h.String(), nil
}

func runWhitelistAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central whitelist add", stderr, cli.CommandHelp(ctx))
	var c changeFlags
	c.register(fs)
	holderS := fs.String("holder", "", "the holder: `ISSUER:INDEX` or p:HEX (required)")
	area := fs.String("area", "", "the `AREA` the list is for")
	site := fs.String("site", "", "the `SITE` the list is for (instead of --area)")
	list := fs.String("list", "essential", "the list's `NAME`")
	var from, until cli.Time
	fs.Var(&from, "from", "from `TIME` (default now)")
	fs.Var(&until, "until", "until `TIME` (default open)")
	return cli.Exit(stderr, "sentinel-central whitelist add", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		h, err := holderFlag(*holderS)
		if err != nil {
			return err
		}
		if (*area == "") == (*site == "") {
			return cli.Usagef("give --area or --site: the place the list is for")
		}
		if err := c.check(); err != nil {
			return err
		}
		var got central.Fact
		q := enginecmd.WhitelistAddRequest{Holder: h, Area: *area, Site: *site, List: *list, From: from.Or(time.Now()), Until: until.T, Why: c.why}
		if err := c.run(ctx, "whitelist/add", q, &got, nil, nil); err != nil {
			return err
		}
		if c.asJSON {
			return printJSON(stdout, got)
		}
		fmt.Fprintf(stdout, "whitelist entry %d: %s on %s for %s\n", got.Seq, got.Holder, got.Value, cmpOr(got.Site, got.Area))
		return nil
	}())
}

func runWhitelistRemove(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central whitelist remove", stderr, cli.CommandHelp(ctx))
	var c changeFlags
	c.register(fs)
	seq := fs.Uint64("fact", 0, "the entry's `NUMBER`, as whitelist list shows it (required)")
	return cli.Exit(stderr, "sentinel-central whitelist remove", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *seq == 0 {
			return cli.Usagef("--fact N is required: the entry's number from whitelist list")
		}
		if err := c.check(); err != nil {
			return err
		}
		var f central.Fact
		if err := c.run(ctx, "whitelist/remove", enginecmd.WhitelistRemoveRequest{Fact: *seq, Why: c.why}, &f, nil, nil); err != nil {
			return err
		}
		if c.asJSON {
			return printJSON(stdout, f)
		}
		fmt.Fprintf(stdout, "whitelist entry %d removed: %s is no longer on %s for %s\n", f.Seq, f.Holder, f.Value, cmpOr(f.Site, f.Area))
		return nil
	}())
}

func runWhitelistList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central whitelist list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	holderS := fs.String("holder", "", "only the entries of `ISSUER:INDEX` or p:HEX")
	purpose := fs.String("purpose", "whitelist review", "a `TEXT` saying why, recorded in the audit log (the list names holders)")
	return cli.Exit(stderr, "sentinel-central whitelist list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		var h string
		if *holderS != "" {
			var err error
			if h, err = holderFlag(*holderS); err != nil {
				return err
			}
		}
		if *purpose == "" {
			return cli.Usagef("--purpose is required: the look-up is recorded in the audit log with who and why")
		}
		var out []central.Fact
		if err := o.run(ctx, "whitelist/list", enginecmd.WhitelistListRequest{Holder: h, Purpose: *purpose}, &out, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			if out == nil {
				out = []central.Fact{}
			}
			return printJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tHOLDER\tLIST\tFOR\tFROM\tUNTIL")
		for _, f := range out {
			until := "open"
			if !f.Until.IsZero() {
				until = f.Until.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", f.Seq, f.Holder, f.Value, cmpOr(f.Site, f.Area), f.At.Format(time.RFC3339), until)
		}
		return tw.Flush()
	}())
}

// casesFlags are the flags cases add and import share.
type casesFlags struct {
	changeFlags
	noContacts bool
}

func (c *casesFlags) register(fs *flag.FlagSet) {
	c.changeFlags.register(fs)
	fs.BoolVar(&c.noContacts, "no-contacts", false, "record the cases only; derive no close contacts from the passages")
}

// record runs the cases command name with q and prints the report.
func (c *casesFlags) record(ctx context.Context, name string, q any, stdout io.Writer) error {
	var rep enginecmd.CasesReport
	if err := c.run(ctx, name, q, &rep, nil, nil); err != nil {
		return err
	}
	if c.asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "recorded %d confirmed cases", rep.Cases)
	if rep.Known > 0 {
		fmt.Fprintf(stdout, " (%d were recorded already)", rep.Known)
	}
	if rep.Derived {
		fmt.Fprintf(stdout, " and %d close contacts from the passages", rep.Contacts)
		if rep.Capped > 0 {
			fmt.Fprintf(stdout, "; %d more overlapped but were left out by the rule sets' caps", rep.Capped)
		}
	}
	fmt.Fprintln(stdout)
	return nil
}

func runCasesAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central cases add", stderr, cli.CommandHelp(ctx))
	var c casesFlags
	c.register(fs)
	holderS := fs.String("holder", "", "the case: `ISSUER:INDEX` or p:HEX (required)")
	home := fs.String("home", "", "the case's home `AREA`, when the centre does not know it")
	var at cli.Time
	fs.Var(&at, "at", "when the case was confirmed, `TIME` (required)")
	return cli.Exit(stderr, "sentinel-central cases add", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		h, err := holderFlag(*holderS)
		if err != nil {
			return err
		}
		if at.T.IsZero() {
			return cli.Usagef("--at TIME is required: when the case was confirmed")
		}
		if *home != "" && !central.ValidAreaID(*home) {
			return cli.Usagef("--home %q is not an area id", *home)
		}
		if err := c.check(); err != nil {
			return err
		}
		q := enginecmd.CasesAddRequest{Cases: []enginecmd.CaseIn{{Holder: h, ConfirmedAt: at.T, Home: *home}}, NoContacts: c.noContacts, Why: c.why}
		return c.record(ctx, "cases/add", q, stdout)
	}())
}

func runCasesImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central cases import", stderr, cli.CommandHelp(ctx))
	var c casesFlags
	c.register(fs)
	return cli.Exit(stderr, "sentinel-central cases import", func() error {
		path, err := oneArg(fs, args, "CSV FILE (header holder,confirmed_at[,home]; docs/rules/README.md)")
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Checked here first, so that a bad file is refused with its line
		// before anything reaches the store.
		if _, err := engine.ParseCases(path, bytes.NewReader(raw), cli.ParseTime); err != nil {
			return fmt.Errorf("%w; nothing was recorded", err)
		}
		if err := c.check(); err != nil {
			return err
		}
		return c.record(ctx, "cases/import", enginecmd.CasesImportRequest{File: path, CSV: string(raw), NoContacts: c.noContacts, Why: c.why}, stdout)
	}())
}
