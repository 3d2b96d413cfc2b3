package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/engine"
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
	operator, why string
}

func (c *changeFlags) register(fs *flag.FlagSet) {
	c.engineFlags.register(fs)
	fs.StringVar(&c.operator, "operator", defaultOperator(), "who makes the change, recorded in the engine's audit")
	fs.StringVar(&c.why, "why", "", "why, recorded in the engine's audit (required)")
}

// by checks who and why and returns them.
func (c *changeFlags) by(now time.Time) (central.ChangeBy, error) {
	if c.why == "" {
		return central.ChangeBy{}, cli.Usagef("--why is required: say why (it is recorded with who and when)")
	}
	if c.operator == "" {
		return central.ChangeBy{}, cli.Usagef("--operator is required: no $USER and no account name")
	}
	return central.ChangeBy{Time: now.UTC(), By: "ops:" + c.operator, Why: c.why}, nil
}

// update runs fn in an engine transaction of the store the flags name.
func (c *changeFlags) update(ctx context.Context, fn func(tx central.EngineTx) error) error {
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.UpdateEngine(ctx, fn)
}

// view runs fn on a snapshot of the store the flags name.
func (o *engineFlags) view(ctx context.Context, fn func(r central.EngineReader) error) error {
	st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.ViewEngine(ctx, fn)
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
		k, err := engine.ParseAreaKind(*kind)
		if err != nil {
			return cli.Usagef("--kind: %v", err)
		}
		by, err := c.by(time.Now())
		if err != nil {
			return err
		}
		a := central.Area{ID: id, Kind: k, Parent: *parent, Name: *name}
		if err := c.update(ctx, func(tx central.EngineTx) error { return tx.PutArea(ctx, a, by) }); err != nil {
			return err
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
		l, err := engine.ParseLevel(*level)
		if err != nil {
			return cli.Usagef("--level: %v", err)
		}
		now := time.Now()
		by, err := c.by(now)
		if err != nil {
			return err
		}
		g := central.Grade{Area: id, Level: l, Effective: effective.Or(now), Source: by.By}
		if err := c.update(ctx, func(tx central.EngineTx) error { return tx.AddGrade(ctx, g, by) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "area %s is %s risk from %s\n", id, l, g.Effective.Format(time.RFC3339))
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
		now := at.Or(time.Now())
		type listed struct {
			central.Area
			Level string `json:"level"`
			Own   string `json:"own_level,omitempty"`
		}
		var out []listed
		err := o.view(ctx, func(r central.EngineReader) error {
			snap, err := engine.Load(ctx, r)
			if err != nil {
				return err
			}
			areas, err := r.Areas(ctx)
			if err != nil {
				return err
			}
			for _, a := range areas {
				l := listed{Area: a, Level: string(snap.Areas.Level(a.ID, now))}
				for _, g := range snap.Areas.Grades(a.ID) {
					if !g.Effective.After(now) {
						l.Own = string(g.Level)
					}
				}
				out = append(out, l)
			}
			// Tree order: by the path from the province.
			slices.SortFunc(out, func(a, b listed) int {
				return slices.Compare(snap.Areas.Path(a.ID), snap.Areas.Path(b.ID))
			})
			return nil
		})
		if err != nil {
			return err
		}
		if o.asJSON {
			if out == nil {
				out = []listed{}
			}
			return printJSON(stdout, out)
		}
		if len(out) == 0 {
			fmt.Fprintln(stdout, "no areas: add one with 'sentinel-central areas set ID --kind province --why TEXT'")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "AREA\tKIND\tNAME\tRISK AT %s\n", now.Format(time.RFC3339))
		for _, l := range out {
			depth := l.Kind.Depth()
			risk := l.Level
			if l.Own == "" && l.Level != string(central.LevelLow) {
				risk += " (by the area it lies in)"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", strings.Repeat("  ", max(depth, 0)), l.ID, l.Kind, l.Name, risk)
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
		by, err := c.by(time.Now())
		if err != nil {
			return err
		}
		s := central.Site{ID: id, Area: *area, Name: *name}
		if err := c.update(ctx, func(tx central.EngineTx) error { return tx.PutSite(ctx, s, by) }); err != nil {
			return err
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
		if err := o.view(ctx, func(r central.EngineReader) (err error) { sites, err = r.Sites(ctx); return err }); err != nil {
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
		now := time.Now()
		by, err := c.by(now)
		if err != nil {
			return err
		}
		f := central.Fact{Holder: h, Kind: central.FactWhitelist, At: from.Or(now), Area: *area, Site: *site, Value: *list, Until: until.T, Source: by.By}
		var got central.Fact
		err = c.update(ctx, func(tx central.EngineTx) (err error) { got, err = tx.AddFact(ctx, f, by); return err })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "whitelist entry %d: %s on %s for %s\n", got.Seq, h, *list, cmpOr(*site, *area))
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
		by, err := c.by(time.Now())
		if err != nil {
			return err
		}
		var f central.Fact
		err = c.update(ctx, func(tx central.EngineTx) error {
			got, ok, err := factBySeq(ctx, tx, *seq)
			if err != nil {
				return err
			}
			if !ok || got.Kind != central.FactWhitelist {
				return fmt.Errorf("no whitelist entry %d: see whitelist list", *seq)
			}
			f, err = tx.RemoveFact(ctx, *seq, by)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "whitelist entry %d removed: %s is no longer on %s for %s\n", f.Seq, f.Holder, f.Value, cmpOr(f.Site, f.Area))
		return nil
	}())
}

// factBySeq finds a fact by its number.
func factBySeq(ctx context.Context, r central.EngineReader, seq uint64) (central.Fact, bool, error) {
	all, err := r.AllFacts(ctx)
	if err != nil {
		return central.Fact{}, false, err
	}
	for _, f := range all {
		if f.Seq == seq {
			return f, true, nil
		}
	}
	return central.Fact{}, false, nil
}

func runWhitelistList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central whitelist list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	holderS := fs.String("holder", "", "only the entries of `ISSUER:INDEX` or p:HEX")
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
		out := []central.Fact{}
		err := o.view(ctx, func(r central.EngineReader) error {
			all, err := r.AllFacts(ctx)
			for _, f := range all {
				if f.Kind == central.FactWhitelist && (h == "" || f.Holder == h) {
					out = append(out, f)
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		if o.asJSON {
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

// record adds rows with AddCases and prints the report.
func (c *casesFlags) record(ctx context.Context, rows []engine.CaseRow, by central.ChangeBy, stdout io.Writer) error {
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := engine.AddCases(ctx, st, rows, !c.noContacts, by, by.Time)
	if err != nil {
		return err
	}
	if c.asJSON {
		return printJSON(stdout, struct {
			Cases    int `json:"cases"`
			Known    int `json:"already_recorded"`
			Homes    int `json:"homes"`
			Contacts int `json:"contacts"`
			Capped   int `json:"capped"`
		}{rep.Cases, rep.Known, rep.Homes, rep.Contacts, rep.Capped})
	}
	fmt.Fprintf(stdout, "recorded %d confirmed cases", rep.Cases)
	if rep.Known > 0 {
		fmt.Fprintf(stdout, " (%d were recorded already)", rep.Known)
	}
	if !c.noContacts {
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
		by, err := c.by(time.Now())
		if err != nil {
			return err
		}
		return c.record(ctx, []engine.CaseRow{{Holder: h, Confirmed: at.T, Home: *home}}, by, stdout)
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
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rows, err := engine.ParseCases(path, f, cli.ParseTime)
		if err != nil {
			return fmt.Errorf("%w; nothing was recorded", err)
		}
		by, err := c.by(time.Now())
		if err != nil {
			return err
		}
		return c.record(ctx, rows, by, stdout)
	}())
}
