package main

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/cli"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

var bundlesCommands = map[string]cli.Command{
	"publish": {Summary: "sign a trust, policy or config payload, or EU value sets, and publish it as the next version", Synopsis: "trust|policy|config FILE | valuesets DIR --key SIGNER.key --delegation SIGNER.delegation --root-pub ROOT.pub [flags]", Run: runBundlesPublish},
	"list":    {Summary: "list the published bundles", Synopsis: "[flags]", Run: runBundlesList},
}

func runBundles(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central bundles", bundlesCommands, args, stdin, stdout, stderr)
}

// openRepo opens the repository under the centre's data directory; root
// is needed to publish only.
func openRepo(data string, root crypto.PublicKey) (*bundles.Repo, error) {
	return bundles.Open(bundles.Options{Dir: filepath.Join(data, "bundles"), Root: root})
}

// bundlesPostgresFlag is the help of bundles publish|list --postgres.
const bundlesPostgresFlag = "the centre's PostgreSQL at `URL` (as serve --postgres), which keeps the bundles for every server on it, instead of --data's bundles directory"

// openSharedRepo opens the store at pgURL, which keeps the bundles of
// every server on it, for a publisher of data's directory.
func openSharedRepo(ctx context.Context, pgURL string) (*pgstore.Store, error) {
	st, err := pgstore.Open(ctx, pgURL, nil)
	if err != nil {
		return nil, fmt.Errorf("--postgres: %w", err)
	}
	return st, nil
}

// publishUsage is the synopsis of bundles publish.
const publishUsage = `usage: sentinel-central bundles publish KIND FILE --key SIGNER.key --delegation SIGNER.delegation --root-pub ROOT.pub

KIND and FILE:
  trust FILE    the signed trust bundle that "sentinel-central trust build" writes
                (its content is signed again as the next trust version), or a trust payload
  policy FILE   a policy source file, as internal/policy/defaults/supermarket.policy
                (docs/policy.md); --site-type, --fever, --yellow, --thermometer-unavailable,
                --paper-accepted and --residents complete it
  config FILE   a site settings file (TOML): start from
                "sentinel-central config example --site-type supermarket"
  valuesets DIR a directory of the EU DCC value-set files (the EU's valueSetValues
                JSON): published as the next trust version, the published trust
                bundle's keys with these value sets (files that are no value set the
                verifier checks are skipped and listed)

Every file is checked as a terminal would load it before anything is signed.
`

// publishHint is the whole command that publishes file as kind, for an
// operator to paste once config example or policy example has written it:
// extra are kind's own flags; the data directory and the signing flags
// take the placeholders of docs/central.md, to be replaced by the
// deployment's paths.
func publishHint(kind trust.Kind, file string, extra ...string) string {
	args := []string{"sentinel-central", "bundles", "publish", string(kind), shellWord(file)}
	args = append(args, extra...)
	args = append(args, "--data", "DATA", "--key", "SIGNER.key", "--delegation", "SIGNER.delegation", "--root-pub", "ROOT.pub")
	return strings.Join(args, " ")
}

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters of ordinary paths.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+,@=%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func runBundlesPublish(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central bundles publish", stderr, cli.CommandHelp(ctx))
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), publishUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	keyPath := fs.String("key", "", "the online signing key's private key `FILE` (required)")
	delPath := fs.String("delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	rootPub := fs.String("root-pub", "", "the operator root's public key `FILE` (required)")
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`")
	pgURL := fs.String("postgres", "", bundlesPostgresFlag)
	fresh := fs.String("fresh", "24h", "how long the bundle stays fresh after issue")
	grace := fs.String("grace", "72h", "how long after issue it is still usable in grace")
	siteType := fs.String("site-type", "", "policy: the `TYPE` of site it is for (default: the published config bundle's site_type)")
	label := fs.String("label", "", "policy: its version `LABEL` for ops and the journal (default: the file name and the time)")
	fever := fs.String("fever", "", "policy: the fever threshold in `°C`, 35 to 42 (default 37.3)")
	yellow := fs.String("yellow", "", "policy: the `VERDICT` for a yellow code: admit, deny or refer (default: deny; refer at a pharmacy)")
	thermo := fs.String("thermometer-unavailable", "", "policy: the `VERDICT` when the thermometer has a fault: admit, deny or refer (default refer)")
	paper := fs.String("paper-accepted", "", "policy: whether paper codes are accepted: `yes or no` (default yes)")
	residents := fs.String("residents", "", "policy: the compound's access list `FILE`: one holder id (ZJ:42, p:HEX) a line, # for comments")
	euRules := fs.String("eu-rules", "", "policy: enforce EU business rules on EU DCCs: the `DIR` of rules in the EU format (rule.json files or one rule per *.json); needs --eu-country")
	euCountry := fs.String("eu-country", "", "policy: the country (`CC`, as AT) whose EU acceptance rules of --eu-rules apply")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central bundles publish", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return cli.Usagef("want KIND FILE: publish trust|policy|config FILE or valuesets DIR --key SIGNER --delegation FILE --root-pub ROOT (-h says what FILE is for each kind)")
		}
		kind := trust.Kind(pos[0])
		var valueSets *valueset.Sets
		switch kind {
		case trust.KindTrust, trust.KindPolicy, trust.KindConfig:
		case "valuesets":
			// The value sets travel in the trust bundle.
			kind = trust.KindTrust
		default:
			return cli.Usagef("kind %q: want trust, policy, config or valuesets (the status is published by sentinel-central status set, status revoke and status publish, and by serve's scheduler)", pos[0])
		}
		if *keyPath == "" || *rootPub == "" {
			return cli.Usagef("--key FILE and --root-pub FILE are required")
		}
		freshD, graceD, err := parseFreshGrace(*fresh, *grace)
		if err != nil {
			return err
		}
		popts, err := policyOptions(kind, *siteType, *label, *fever, *yellow, *thermo, *paper, *residents)
		if err != nil {
			return err
		}
		if err := euRulesOptions(&popts, kind, *euRules, *euCountry); err != nil {
			return err
		}
		var raw []byte
		if pos[0] == "valuesets" {
			vs, skipped, err := valueset.LoadDir(pos[1])
			if err != nil {
				return fmt.Errorf("%w; nothing was published", err)
			}
			for _, s := range skipped {
				fmt.Fprintf(stderr, "skipped %s: %s\n", filepath.Join(pos[1], s.File), s.Why)
			}
			valueSets = vs
		} else if raw, err = os.ReadFile(pos[1]); err != nil {
			return fmt.Errorf("read the %s file: %w", kind, err)
		}
		root, err := readPublicKey(*rootPub)
		if err != nil {
			return err
		}
		signer, d, err := loadSigningKey("--key", *keyPath, "--delegation", *delPath, root)
		if err != nil {
			return err
		}
		// Under the repository's lock, which serve's scheduler holds
		// while it re-signs: two writers of the repository would each
		// write an index without the other's bundle.
		var (
			prep *bundles.Prepared
			e    bundles.Entry
		)
		pub := &statuspub.Publisher{DataDir: *data, Root: root}
		if *pgURL != "" {
			st, err := openSharedRepo(ctx, *pgURL)
			if err != nil {
				return err
			}
			defer st.Close()
			pub.Shared = st
		}
		err = pub.Locked(func(repo *bundles.Repo) error {
			var err error
			if valueSets != nil {
				prep, err = repo.PrepareValueSets(pos[1], valueSets)
			} else {
				prep, err = repo.Prepare(kind, bundles.Input{Name: pos[1], Data: raw, Policy: popts})
			}
			if err != nil {
				return err
			}
			if e, err = repo.Publish(kind, prep.Payload, signer, d, freshD, graceD); err != nil {
				return fmt.Errorf("%s: %w", pos[1], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, publishOut{Entry: e, From: prep.From, Notes: prep.Notes})
		}
		fmt.Fprintf(stdout, "published %s version %d from %s (%s), fresh until %s, grace until %s\n", e.Kind, e.Version, pos[1], prep.From,
			e.FreshUntil.Format(time.RFC3339), e.GraceUntil.Format(time.RFC3339))
		for _, n := range prep.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		return nil
	}())
}

// publishOut is what publish --json prints: the published entry, what the
// file was, and the notes.
type publishOut struct {
	bundles.Entry
	From  string   `json:"from"`
	Notes []string `json:"notes,omitempty"`
}

// policyOptions reads the policy flags; they are a usage error with
// another kind.
func policyOptions(kind trust.Kind, site, label, fever, yellow, thermo, paper, residents string) (bundles.PolicyOptions, error) {
	var o bundles.PolicyOptions
	if kind != trust.KindPolicy {
		for flag, v := range map[string]string{"--site-type": site, "--label": label, "--fever": fever, "--yellow": yellow,
			"--thermometer-unavailable": thermo, "--paper-accepted": paper, "--residents": residents} {
			if v != "" {
				return o, cli.Usagef("%s sets a policy; the %s bundle does not take it", flag, kind)
			}
		}
		return o, nil
	}
	if site != "" {
		o.Site = siteconfig.SiteType(site)
		if !o.Site.Valid() {
			return o, cli.Usagef("--site-type %q: want supermarket, pharmacy, intersection, compound or custom", site)
		}
	}
	o.Label = label
	if fever != "" {
		c, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(fever, "C"), "°"), 64)
		if err != nil || c < 35 || c > 42 {
			return o, cli.Usagef("--fever %q: want degrees Celsius from 35 to 42, such as 37.3", fever)
		}
		o.Fever = physic.ZeroCelsius + physic.Temperature(math.Round(c*100))*physic.Celsius/100
	}
	for _, v := range []struct {
		flag, val string
		dst       *passage.Verdict
	}{{"--yellow", yellow, &o.Yellow}, {"--thermometer-unavailable", thermo, &o.ThermometerUnavailable}} {
		if v.val == "" {
			continue
		}
		if *v.dst = passage.Verdict(v.val); !v.dst.Valid() {
			return o, cli.Usagef("%s %q: want admit, deny or refer", v.flag, v.val)
		}
	}
	switch strings.ToLower(paper) {
	case "":
	case "yes", "true":
		o.PaperAccepted = new(true)
	case "no", "false":
		o.PaperAccepted = new(false)
	default:
		return o, cli.Usagef("--paper-accepted %q: want yes or no", paper)
	}
	if residents != "" {
		ids, err := readResidents(residents)
		if err != nil {
			return o, err
		}
		o.Residents = ids
	}
	return o, nil
}

// readResidents reads an access list: one holder id a line, blank lines
// and # comments skipped.
func readResidents(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the access list: %w", err)
	}
	var ids []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h, err := credential.ParseHolderID(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w; one holder id a line", path, i+1, err)
		}
		ids = append(ids, h.String())
	}
	return ids, nil
}

func runBundlesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central bundles list", stderr, cli.CommandHelp(ctx))
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`")
	pgURL := fs.String("postgres", "", bundlesPostgresFlag)
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinel-central bundles list", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return cli.Usagef("list takes no arguments")
		}
		var repo *bundles.Repo
		if *pgURL != "" {
			st, err := openSharedRepo(ctx, *pgURL)
			if err != nil {
				return err
			}
			defer st.Close()
			repo, err = bundles.Open(bundles.Options{Shared: st})
			if err != nil {
				return err
			}
		} else {
			if err := needData(*data); err != nil {
				return err
			}
			if repo, err = openRepo(*data, nil); err != nil {
				return err
			}
		}
		list := repo.List()
		if *asJSON {
			if list == nil {
				list = []bundles.Entry{}
			}
			return printJSON(stdout, list)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no bundles published")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tVERSION\tISSUED\tFRESH UNTIL\tGRACE UNTIL\tSIZE\tDIGEST")
		for _, e := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", e.Kind, e.Version, e.IssuedAt.Format(time.RFC3339),
				e.FreshUntil.Format(time.RFC3339), e.GraceUntil.Format(time.RFC3339), e.Size, e.Digest[:min(16, len(e.Digest))])
		}
		return tw.Flush()
	}())
}
