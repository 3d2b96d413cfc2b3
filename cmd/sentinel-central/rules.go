package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/cli"
	"sentinel/internal/passage"
)

var rulesCommands = map[string]cli.Command{
	"test":   {Summary: "dry-run rule sets against the centre's data: who would change colour, how many, and why", Synopsis: "--rules FILE [--rules FILE]... [--at TIME] [flags]", Run: runRulesTest},
	"deploy": {Summary: "compile, sign and deploy a rule set as its region's next version", Synopsis: "FILE --key SIGNER.key --delegation SIGNER.delegation --root-pub ROOT.pub --why TEXT [flags]", Run: runRulesDeploy},
	"list":   {Summary: "list the rule sets deployed, the one in force of each region first", Run: runRulesList},
	"apply":  {Summary: "sweep: judge every holder by the rules in force and publish the changes as a status delta", Synopsis: "--key SIGNER.key --delegation SIGNER.delegation --root-pub ROOT.pub [flags]", Run: runRulesApply},
}

func runRules(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central rules", rulesCommands, args, stdin, stdout, stderr)
}

// compileFiles compiles rule set files; errors name file, line and column.
func compileFiles(paths []string) ([]*engine.RuleSet, error) {
	var out []*engine.RuleSet
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		rs, err := engine.Compile(p, src)
		if err != nil {
			return nil, fmt.Errorf("%s does not compile; nothing was changed:\n%w", p, err)
		}
		out = append(out, rs)
	}
	return out, nil
}

// rulesTestReport is what rules test prints with --json.
type rulesTestReport = enginecmd.RulesTestReport

func runRulesTest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules test", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	var files cli.Strings
	fs.Var(&files, "rules", "a rule set `FILE` to test in place of its region's deployed one (repeatable; the format of docs/rules/README.md)")
	var at cli.Time
	fs.Var(&at, "at", "judge as at `TIME` (default now): facts after it are not seen")
	show := fs.Int("show", 50, "list at most `N` of the holders who would change colour (0: all)")
	purpose := fs.String("purpose", "dry run of rule sets", "a `TEXT` saying why, recorded in the audit log (the dry run lists holders)")
	return cli.Exit(stderr, "sentinel-central rules test", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if len(files) == 0 {
			return cli.Usagef("--rules FILE is required: the rule set to test (docs/rules/ has examples)")
		}
		if *show < 0 {
			return cli.Usagef("--show %d: want 0 (all) or more", *show)
		}
		sets, err := compileFiles(files)
		if err != nil {
			return err
		}
		given := map[string]bool{}
		for _, rs := range sets {
			if given[rs.Region()] {
				return cli.Usagef("two rule sets given for region %s: test one at a time", rs.Region())
			}
			given[rs.Region()] = true
		}
		q := enginecmd.RulesTestRequest{At: at.Or(time.Now()), Purpose: *purpose}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			q.Rules = append(q.Rules, enginecmd.RulesFile{File: f, Source: string(src)})
		}
		var rep rulesTestReport
		if err := o.run(ctx, "rules/test", q, &rep, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, rep)
		}
		printRulesTest(stdout, rep, *show)
		return nil
	}())
}

func printRulesTest(w io.Writer, rep rulesTestReport, show int) {
	fmt.Fprintf(w, "dry run at %s; nothing was changed\n", rep.At.Format(time.RFC3339))
	for _, n := range rep.RuleSets {
		fmt.Fprintf(w, "  rule set %s\n", n)
	}
	fmt.Fprintf(w, "%d holders judged", rep.Judged)
	if rep.Unjudged > 0 {
		fmt.Fprintf(w, ", %d not (no home area with a rule set)", rep.Unjudged)
	}
	fmt.Fprintf(w, "; %d would change colour\n\n", len(rep.Changes))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tGREEN\tYELLOW\tRED\tWITHHELD")
	regions := make([]string, 0, len(rep.Counts))
	for r := range rep.Counts {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		c := rep.Counts[r]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", r, c["green"], c["yellow"], c["red"], c["withheld"])
	}
	tw.Flush()
	if len(rep.Moves) > 0 {
		moves := make([]string, 0, len(rep.Moves))
		for m, n := range rep.Moves {
			moves = append(moves, fmt.Sprintf("%s: %d", strings.Replace(m, ">", " to ", 1), n))
		}
		slices.Sort(moves)
		fmt.Fprintf(w, "\nchanges: %s\n", strings.Join(moves, ", "))
	}
	if len(rep.Changes) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "HOLDER\tFROM\tTO\tRULE\tREASON\tUNTIL\tBECAUSE")
		for i, c := range rep.Changes {
			if show > 0 && i == show {
				fmt.Fprintf(tw, "… %d more (--show 0 lists all, --json gives all)\n", len(rep.Changes)-show)
				break
			}
			until := "open"
			if !c.Until.IsZero() {
				until = c.Until.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", c.Holder, c.From, c.To, c.Region, c.Rule, c.Reason, until, c.Because)
		}
		tw.Flush()
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "not judged (keeps their status): %s\n", e)
	}
}

func runRulesDeploy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules deploy", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	key := fs.String("key", "", "the online signing key's private key `FILE` (required; its delegation must allow colour-rules)")
	delegation := fs.String("delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	rootPub := fs.String("root-pub", "", "the operator root's public key `FILE` (required)")
	why := fs.String("why", "", "a `TEXT` saying why it is deployed, recorded in the engine's audit (required)")
	force := fs.Bool("force", false, "deploy even when the region's rule set in force has the same source (it gets the next number, signed anew); without it such a deploy changes nothing")
	return cli.Exit(stderr, "sentinel-central rules deploy", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return cli.Usagef("deploy takes one rule set FILE")
		}
		if *key == "" || *rootPub == "" {
			return cli.Usagef("--key FILE and --root-pub FILE are required: a rule set is deployed signed")
		}
		if *why == "" {
			return cli.Usagef("--why is required: say why this rule set goes live (it is recorded with who and when)")
		}
		if o.operator == "" {
			return cli.Usagef("--operator is required: no $USER and no account name")
		}
		sets, err := compileFiles(pos)
		if err != nil {
			return err
		}
		rs := sets[0]
		src, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		root, err := readPublicKey(*rootPub)
		if err != nil {
			return err
		}
		signer, d, err := loadSigningKey("--key", *key, "--delegation", *delegation, root)
		if err != nil {
			return err
		}
		// Signed as the region's next number; a deployment in between
		// refuses this one (enginecmd.ErrConflict), and the next try signs
		// the number after it.
		var listed []enginecmd.RulesListed
		if err := o.run(ctx, "rules/list", enginecmd.RulesListRequest{Region: rs.Region()}, &listed, root, nil); err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		sealed, err := trust.SealBundle(signer, d, trust.Bundle{Kind: trust.KindColourRules, Version: enginecmd.NextNumber(listed, rs.Region()), IssuedAt: now,
			FreshUntil: now.AddDate(1, 0, 0), GraceUntil: now.AddDate(1, 0, 0), Payload: src})
		if errors.Is(err, trust.ErrKindNotDelegated) {
			return fmt.Errorf("%w: make a delegation that allows it (sentinel-central trust delegate --kinds ...,colour-rules)", err)
		}
		if err != nil {
			return err
		}
		if _, _, err := trust.OpenBundle(sealed, root, now, trust.State{}); err != nil {
			return fmt.Errorf("the signed rule set does not verify under --root-pub: %w", err)
		}
		var out enginecmd.Deployed
		q := enginecmd.RulesDeployRequest{File: pos[0], Source: string(src), Signed: sealed, Why: *why, Force: *force}
		if err := o.run(ctx, "rules/deploy", q, &out, root, nil); err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, out)
		}
		if out.Unchanged {
			fmt.Fprintf(stdout, "%s #%d (%s) is deployed already with the same source (since %s): nothing deployed; to deploy it again as the next number, add --force\n",
				out.Region, out.Number, out.Label, out.At.UTC().Format(time.RFC3339))
			return nil
		}
		fmt.Fprintf(stdout, "deployed %s #%d (%s), signed by key %s", out.Region, out.Number, out.Label, out.Signer)
		if out.Replace != "" {
			fmt.Fprintf(stdout, "; it replaces %s", out.Replace)
		}
		fmt.Fprintln(stdout)
		return nil
	}())
}

func runRulesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	region := fs.String("region", "", "list only `REGION`'s deployments")
	rootPub := fs.String("root-pub", "", "verify each deployment's signature under the operator root's public key `FILE` and name the key that signed it (a running serve verifies under its own)")
	return cli.Exit(stderr, "sentinel-central rules list", func() (err error) {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		var root crypto.PublicKey
		if *rootPub != "" {
			if root, err = readPublicKey(*rootPub); err != nil {
				return err
			}
		}
		var out []enginecmd.RulesListed
		if err := o.run(ctx, "rules/list", enginecmd.RulesListRequest{Region: *region}, &out, root, nil); err != nil {
			return err
		}
		if o.asJSON {
			if out == nil {
				out = []enginecmd.RulesListed{}
			}
			return printJSON(stdout, out)
		}
		if len(out) == 0 {
			fmt.Fprintln(stdout, "no rule set is deployed: deploy one with 'sentinel-central rules deploy FILE' (docs/rules/ has examples)")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REGION\tNUMBER\tVERSION\tSTATE\tDEPLOYED\tBY\tSIGNED BY")
		for _, l := range out {
			state := "replaced"
			if l.InForce {
				state = "in force"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", l.Region, l.Number, l.Label, state, l.Deployed.Format(time.RFC3339), l.By, l.Signer)
		}
		return tw.Flush()
	}())
}

func runStatusExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central status explain", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	holderS := fs.String("holder", "", "the holder: `ISSUER:INDEX` or p:HEX (this or --passage)")
	passageS := fs.String("passage", "", "the holder of the passage with reference `REF`, as read off the gate's display for an appeal (see passage show)")
	langS := fs.String("lang", "en", "`LANG`, the language of the explanation: en or zh")
	zone := fs.String("zone", "UTC", "the holder's time `ZONE`, as Asia/Shanghai")
	purpose := fs.String("purpose", "appeal", "a `TEXT` saying why, recorded in the audit log")
	var at cli.Time
	fs.Var(&at, "at", "explain the status as at `TIME` (default now)")
	return cli.Exit(stderr, "sentinel-central status explain", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if (*holderS == "") == (*passageS == "") {
			return cli.Usagef("--holder is required, or --passage REF in its place: give one of them")
		}
		q := enginecmd.ExplainRequest{Lang: *langS, Zone: *zone, At: at.Or(time.Now()), Purpose: *purpose}
		if *holderS != "" {
			h, err := credential.ParseHolderID(*holderS)
			if err != nil {
				return cli.Usagef("--holder: %v", err)
			}
			q.Holder = h.String()
		} else {
			ref, err := passage.ParseRef(*passageS)
			if err != nil {
				return cli.Usagef("--passage: %v", err)
			}
			q.Passage = ref.String()
		}
		if _, err := engine.ParseLang(*langS); err != nil {
			return cli.Usagef("--lang: %v", err)
		}
		if _, err := time.LoadLocation(*zone); err != nil {
			return cli.Usagef("--zone %q: not a time zone (as Asia/Shanghai or UTC)", *zone)
		}
		if *purpose == "" {
			return cli.Usagef("--purpose is required: an explanation is recorded in the audit log with who and why")
		}
		var ans enginecmd.Explained
		if err := o.run(ctx, "status/explain", q, &ans, nil, nil); err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, ans)
		}
		fmt.Fprint(stdout, ans.Text)
		fmt.Fprint(stdout, ans.Note)
		return nil
	}())
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func runRulesApply(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules apply", stderr, cli.CommandHelp(ctx))
	p := &statusPublishing{now: time.Now}
	fs.StringVar(&p.key, "key", "", "the online signing key's private key `FILE` (required)")
	fs.StringVar(&p.delegation, "delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	fs.StringVar(&p.rootPub, "root-pub", "", "the operator root's public key `FILE` (required)")
	fs.StringVar(&p.data, "data", defaultCentralData, "the centre's data `DIR`")
	fs.StringVar(&p.pgURL, "postgres", "", "the central store in PostgreSQL at `URL` (as serve --postgres) instead of the bbolt store in --data")
	fs.StringVar(&p.fresh, "fresh", "24h", "how long the status bundle stays fresh after issue")
	fs.StringVar(&p.grace, "grace", "72h", "how long after issue it is still usable in grace")
	fs.BoolVar(&p.asJSON, "json", false, "print JSON")
	operator := fs.String("operator", defaultOperator(), "`WHO` runs the sweep, recorded in the engine's audit")
	return cli.Exit(stderr, "sentinel-central rules apply", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		s, err := p.load()
		if err != nil {
			return err
		}
		st, ctl, err := p.openStatusStore(ctx, stderr)
		if err != nil {
			return err
		}
		var out sweep.Report
		if ctl != nil {
			// serve holds the store: it sweeps and signs the bundle with
			// its own key, a delegation of the same root.
			defer ctl.Close()
			ctl.untimed()
			fmt.Fprintf(stderr, "the running serve holds the store: it sweeps and signs the bundle with its own key (serve --key), not --key %s\n", p.key)
			err = ctl.do(ctx, http.MethodPost, ctlEngine+"rules/apply?operator="+url.QueryEscape(*operator), enginecmd.RulesApplyRequest{}, &out)
		} else {
			defer st.Close()
			pub := &statuspub.Publisher{Store: st, DataDir: p.data, Root: s.root, Now: p.now,
				Signer: statuspub.Signer{Key: s.signer, Delegation: s.d, Fresh: s.fresh, Grace: s.grace}}
			env := &enginecmd.Env{Store: st, Publisher: pub, Now: p.now}
			err = enginecmd.Do(ctx, env, enginecmd.Caller{Name: *operator}, "rules/apply", enginecmd.RulesApplyRequest{}, &out)
		}
		if err != nil {
			return err
		}
		now := out.At
		if p.asJSON {
			return printJSON(stdout, out)
		}
		if out.Published == nil {
			fmt.Fprintf(stdout, "nothing to publish at %s: every holder's status is what the rules give", now.Format(time.RFC3339))
		} else {
			e := out.Published
			fmt.Fprintf(stdout, "published %s version %d with %d changes at %s", e.Kind, e.Version, len(out.Changes), now.Format(time.RFC3339))
		}
		if out.ByHand > 0 {
			fmt.Fprintf(stdout, "; %d statuses set by hand stand", out.ByHand)
		}
		if out.Raced > 0 {
			fmt.Fprintf(stdout, "; %d changed meanwhile and were left for the next sweep", out.Raced)
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, c := range out.Changes {
			until := "open"
			if !c.Until.IsZero() {
				until = c.Until.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s to %s\t%s %s\t%s\tuntil %s\n", c.Holder, c.From, c.To, c.Region, c.Rule, c.Reason, until)
		}
		tw.Flush()
		for _, e := range out.Errors {
			fmt.Fprintf(stdout, "not judged (keeps their status): %s\n", e)
		}
		return nil
	}())
}
