package main

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/cli"
	"sentinel/internal/passage"
	"sentinel/internal/status"
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

// engineFlags are the flags that name the store of the engine's commands.
type engineFlags struct {
	data, pgURL string
	asJSON      bool
}

func (o *engineFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&o.data, "data", defaultCentralData, "the centre's data `DIR` (its bbolt store)")
	fs.StringVar(&o.pgURL, "postgres", "", "use the central store in PostgreSQL at `URL` instead of the bbolt store in --data")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
}

// open opens the central store the flags name. The bbolt store must exist
// already and not be held by a running serve.
func (o *engineFlags) open(ctx context.Context) (central.Store, error) {
	if o.pgURL != "" {
		st, err := pgstore.Open(ctx, o.pgURL, nil)
		if err != nil {
			return nil, fmt.Errorf("--postgres: %w", err)
		}
		return st, nil
	}
	if err := needData(o.data); err != nil {
		return nil, err
	}
	if keptInPostgres(o.data) {
		return nil, fmt.Errorf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): pass --postgres URL", o.data)
	}
	path := filepath.Join(o.data, server.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no central store at %s: check --data, or use --postgres: %w", path, err)
	}
	st, err := boltstore.Open(path, &boltstore.Options{Timeout: opsLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is in use by a running 'sentinel-central serve': stop it for this command, or run the centre on PostgreSQL (--postgres)", path)
	}
	return st, err
}

// openOrServe is open, but when a running serve holds the bbolt store it
// returns no store and serve's control socket instead, for the commands
// ops need at a live centre (passage show, status explain).
func (o *engineFlags) openOrServe(ctx context.Context) (central.Store, *controlClient, error) {
	if o.pgURL == "" {
		if c := dialControl(o.data); c != nil {
			return nil, c, nil
		}
	}
	st, err := o.open(ctx)
	return st, nil, err
}

// loadEngine reads the engine's snapshot and the current statuses.
func loadEngine(ctx context.Context, st central.Store, at time.Time) (*engine.Snapshot, map[string]status.Status, error) {
	var snap *engine.Snapshot
	err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) {
		snap, err = engine.Load(ctx, r)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	current := map[string]status.Status{}
	err = st.ViewStatus(ctx, func(r central.StatusReader) error {
		for e, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			if !e.Lapsed(at) && !e.Effective.After(at) {
				current[e.Holder.String()] = e.Status
			}
		}
		return nil
	})
	return snap, current, err
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
type rulesTestReport struct {
	At       time.Time                 `json:"at"`
	RuleSets []string                  `json:"rule_sets"`
	Judged   int                       `json:"judged"`
	Unjudged int                       `json:"unjudged"`
	Counts   map[string]map[string]int `json:"counts"` // region -> status -> holders
	Moves    map[string]int            `json:"moves"`  // "green>red" -> holders
	Changes  []rulesTestChange         `json:"changes"`
	Errors   []string                  `json:"errors,omitempty"`
}

type rulesTestChange struct {
	Holder  string    `json:"holder"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Region  string    `json:"region"`
	Rule    string    `json:"rule,omitempty"`
	Reason  string    `json:"reason"`
	Until   time.Time `json:"until,omitzero"`
	Because string    `json:"because,omitempty"` // the first deciding fact
}

func runRulesTest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules test", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	var files cli.Strings
	fs.Var(&files, "rules", "a rule set `FILE` to test in place of its region's deployed one (repeatable; the format of docs/rules/README.md)")
	var at cli.Time
	fs.Var(&at, "at", "judge as at `TIME` (default now): facts after it are not seen")
	show := fs.Int("show", 50, "list at most `N` of the holders who would change colour (0: all)")
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
		now := at.Or(time.Now())
		st, err := o.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		snap, current, err := loadEngine(ctx, st, now)
		if err != nil {
			return err
		}
		set, err := snap.With(sets...)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		if _, err := snap.AddVisits(ctx, st, now, set.Lookback()); err != nil {
			return err
		}
		sim := engine.Simulate(snap.Holders, current, set, snap.World(), now)
		rep := rulesTestReport{At: now, Judged: sim.Judged, Unjudged: sim.Unjudged, Counts: map[string]map[string]int{}, Moves: map[string]int{}, Changes: []rulesTestChange{}}
		for _, region := range set.Regions() {
			rs, _ := set.Get(region)
			name := fmt.Sprintf("%s %s", region, rs.Version())
			if slices.Contains(sets, rs) {
				name += " (from " + rs.Source().File + ", not deployed)"
			} else if rec, ok := snap.Records[region]; ok {
				name = engine.RuleSetName(rec) + " (deployed)"
			}
			rep.RuleSets = append(rep.RuleSets, name)
		}
		for region, byStatus := range sim.Counts {
			rep.Counts[region] = map[string]int{}
			for s, n := range byStatus {
				rep.Counts[region][s.String()] = n
			}
		}
		for m, n := range sim.Moves() {
			rep.Moves[m[0].String()+">"+m[1].String()] = n
		}
		for _, c := range sim.Changes {
			ch := rulesTestChange{Holder: c.Holder, From: c.From.String(), To: c.To.String(), Region: c.Result.Region,
				Rule: c.Result.Rule, Reason: c.Result.Reason.String(), Until: c.Result.Until}
			if len(c.Result.Facts) > 0 {
				f := c.Result.Facts[len(c.Result.Facts)-1]
				ch.Because = fmt.Sprintf("%s %s", f.Kind, f.At.UTC().Format(time.RFC3339))
				if f.Site != "" {
					ch.Because += " at " + f.Site
				}
			}
			rep.Changes = append(rep.Changes, ch)
		}
		for _, e := range sim.Errors {
			rep.Errors = append(rep.Errors, e.Error())
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

// rulesDeployed is what rules deploy prints with --json.
type rulesDeployed struct {
	Region  string    `json:"region"`
	Number  uint64    `json:"number"`
	Label   string    `json:"label"`
	Signer  string    `json:"signer"`
	At      time.Time `json:"at"`
	Replace string    `json:"replaces,omitempty"`
}

func runRulesDeploy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules deploy", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	key := fs.String("key", "", "the online signing key's private key `FILE` (required; its delegation must allow colour-rules)")
	delegation := fs.String("delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	rootPub := fs.String("root-pub", "", "the operator root's public key `FILE` (required)")
	operator := fs.String("operator", defaultOperator(), "who deploys it, recorded in the engine's audit")
	why := fs.String("why", "", "why it is deployed, recorded in the engine's audit (required)")
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
		if *operator == "" {
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
		st, err := o.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		now := time.Now().UTC().Truncate(time.Second)
		var out rulesDeployed
		err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			all, err := tx.RuleSets(ctx)
			if err != nil {
				return err
			}
			var next uint64 = 1
			for _, r := range all {
				if r.Region == rs.Region() {
					next, out.Replace = r.Number+1, engine.RuleSetName(r)
				}
			}
			sealed, err := trust.SealBundle(signer, d, trust.Bundle{Kind: trust.KindColourRules, Version: next, IssuedAt: now,
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
			rec, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: rs.Region(), Label: rs.Version(), Source: src, Signed: sealed},
				central.ChangeBy{Time: now, By: "ops:" + *operator, Why: *why})
			if err != nil {
				return err
			}
			if rec.Number != next {
				return fmt.Errorf("deploy %s: numbered %d, signed as %d", rs.Region(), rec.Number, next)
			}
			kid, _ := trust.KeyIDOfPublic(signer.Public())
			out = rulesDeployed{Region: rec.Region, Number: rec.Number, Label: rec.Label, Signer: kid.String(), At: now, Replace: out.Replace}
			return nil
		})
		if err != nil {
			return err
		}
		if o.asJSON {
			return printJSON(stdout, out)
		}
		fmt.Fprintf(stdout, "deployed %s #%d (%s), signed by key %s", out.Region, out.Number, out.Label, out.Signer)
		if out.Replace != "" {
			fmt.Fprintf(stdout, "; it replaces %s", out.Replace)
		}
		fmt.Fprintln(stdout)
		return nil
	}())
}

// rulesListed is one line of rules list.
type rulesListed struct {
	Region   string    `json:"region"`
	Number   uint64    `json:"number"`
	Label    string    `json:"label"`
	InForce  bool      `json:"in_force"`
	Deployed time.Time `json:"deployed"`
	By       string    `json:"by"`
	Signer   string    `json:"signer,omitempty"`
}

func runRulesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central rules list", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	region := fs.String("region", "", "list only `REGION`'s deployments")
	rootPub := fs.String("root-pub", "", "verify each deployment's signature under the operator root's public key `FILE` and name the key that signed it")
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
		st, err := o.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		var recs []central.RuleSet
		err = st.ViewEngine(ctx, func(r central.EngineReader) (err error) {
			recs, err = r.RuleSets(ctx)
			return err
		})
		if err != nil {
			return err
		}
		var out []rulesListed
		for i, r := range recs {
			if *region != "" && r.Region != *region {
				continue
			}
			l := rulesListed{Region: r.Region, Number: r.Number, Label: r.Label, Deployed: r.Deployed, By: r.By,
				InForce: i == len(recs)-1 || recs[i+1].Region != r.Region}
			l.Signer = signature(r, root)
			out = append(out, l)
		}
		// The one in force of each region first, then the older ones.
		slices.SortStableFunc(out, func(a, b rulesListed) int {
			if a.Region != b.Region {
				return strings.Compare(a.Region, b.Region)
			}
			return int(b.Number) - int(a.Number)
		})
		if o.asJSON {
			if out == nil {
				out = []rulesListed{}
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

// signature says who signed a deployment: the key, verified under root
// when root is not nil.
func signature(r central.RuleSet, root crypto.PublicKey) string {
	switch {
	case len(r.Signed) == 0:
		return "unsigned"
	case root == nil:
		return "signed (--root-pub verifies)"
	}
	b, _, err := trust.OpenBundle(r.Signed, root, r.Deployed, trust.State{})
	switch {
	case err != nil:
		return "DOES NOT VERIFY: " + err.Error()
	case b.Kind != trust.KindColourRules || !bytes.Equal(b.Payload, r.Source) || b.Version != r.Number:
		return "DOES NOT MATCH the source stored"
	}
	return "key " + b.Signer.String()
}

func runStatusExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central status explain", stderr, cli.CommandHelp(ctx))
	var o engineFlags
	o.register(fs)
	holderS := fs.String("holder", "", "the holder: `ISSUER:INDEX` or p:HEX (this or --passage)")
	passageS := fs.String("passage", "", "the holder of the passage with reference `REF`, as read off the gate's display for an appeal (see passage show)")
	langS := fs.String("lang", "en", "the language of the explanation: en or zh")
	zone := fs.String("zone", "UTC", "the holder's time `ZONE`, as Asia/Shanghai")
	var at cli.Time
	fs.Var(&at, "at", "explain the status as at `TIME` (default now)")
	return cli.Exit(stderr, "sentinel-central status explain", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if (*holderS == "") == (*passageS == "") {
			return cli.Usagef("--holder is required, or --passage REF in its place: give one of them")
		}
		var (
			h   credential.Holder
			ref passage.Ref
			err error
		)
		if *holderS != "" {
			if h, err = credential.ParseHolderID(*holderS); err != nil {
				return cli.Usagef("--holder: %v", err)
			}
		} else if ref, err = passage.ParseRef(*passageS); err != nil {
			return cli.Usagef("--passage: %v", err)
		}
		if _, err := engine.ParseLang(*langS); err != nil {
			return cli.Usagef("--lang: %v", err)
		}
		if _, err := time.LoadLocation(*zone); err != nil {
			return cli.Usagef("--zone %q: not a time zone (as Asia/Shanghai or UTC)", *zone)
		}
		q := appeal.ExplainRequest{Lang: *langS, Zone: *zone, At: at.Or(time.Now())}
		if *holderS != "" {
			q.Holder = h.String()
		} else {
			q.Passage = ref.String()
		}
		st, ctl, err := o.openOrServe(ctx)
		if err != nil {
			return err
		}
		var ans appeal.Explanation
		if ctl != nil {
			defer ctl.Close()
			err = ctl.do(ctx, http.MethodPost, ctlExplain, q, &ans)
		} else {
			defer st.Close()
			ans, err = appeal.Explain(ctx, st, q)
		}
		if err != nil {
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

// ctlExplain is the control socket's path of status explanations.
const ctlExplain = "/explain"

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
	operator := fs.String("operator", defaultOperator(), "who runs the sweep, recorded in the engine's audit")
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
		if ctl != nil {
			ctl.Close()
			return fmt.Errorf("the running serve holds the store, and this build does not sweep inside serve yet: stop serve for the sweep, or run the centre on PostgreSQL (--postgres)")
		}
		defer st.Close()
		pub := &statuspub.Publisher{Store: st, DataDir: p.data, Root: s.root, Now: p.now,
			Signer: statuspub.Signer{Key: s.signer, Delegation: s.d, Fresh: s.fresh, Grace: s.grace}}
		now := p.now()
		out, err := sweep.Run(ctx, st, pub, now, central.ChangeBy{Time: now, By: engine.SourceEngine, Why: "rules apply by ops:" + *operator})
		if err != nil {
			return err
		}
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
