package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/cli"
)

var bundlesCommands = map[string]cli.Command{
	"publish": {Summary: "sign a trust, policy or config payload and publish it as the next version", Run: runBundlesPublish},
	"list":    {Summary: "list the published bundles", Run: runBundlesList},
}

func runBundles(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central bundles", bundlesCommands, args, stdin, stdout, stderr)
}

func bundlesFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sentinel-central bundles "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func bundlesFinish(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "sentinel-central bundles %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRefused
}

// openRepo opens the repository under the centre's data directory; root
// is needed to publish only.
func openRepo(data string, root crypto.PublicKey) (*bundles.Repo, error) {
	return bundles.Open(bundles.Options{Dir: filepath.Join(data, "bundles"), Root: root})
}

func runBundlesPublish(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := bundlesFlags("publish", stderr)
	keyPath := fs.String("key", "", "the online signing key's private key `FILE` (required)")
	delPath := fs.String("delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	rootPub := fs.String("root-pub", "", "the operator root's public key `FILE` (required)")
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`")
	fresh := fs.String("fresh", "24h", "how long the bundle stays fresh after issue")
	grace := fs.String("grace", "72h", "how long after issue it is still usable in grace")
	asJSON := fs.Bool("json", false, "print JSON")
	return bundlesFinish(stderr, "publish", func() error {
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("want KIND FILE: publish trust|policy|config FILE --key SIGNER --delegation FILE --root-pub ROOT")
		}
		kind := trust.Kind(pos[0])
		switch kind {
		case trust.KindTrust, trust.KindPolicy, trust.KindConfig:
		default:
			return usagef("kind %q: want trust, policy or config (status is published by `sentinel-central status`)", pos[0])
		}
		if *keyPath == "" || *rootPub == "" {
			return usagef("--key FILE and --root-pub FILE are required")
		}
		freshD, err := parseDays(*fresh)
		if err != nil {
			return usagef("--fresh: %v", err)
		}
		graceD, err := parseDays(*grace)
		if err != nil {
			return usagef("--grace: %v", err)
		}
		if graceD < freshD {
			return usagef("--grace %s is shorter than --fresh %s: grace counts from the issue time too", *grace, *fresh)
		}
		payload, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		signer, err := readPrivateKey(*keyPath)
		if err != nil {
			return err
		}
		root, err := readPublicKey(*rootPub)
		if err != nil {
			return err
		}
		repo, err := openRepo(*data, root)
		if err != nil {
			return err
		}
		var d *trust.Delegation
		if *delPath != "" {
			raw, err := os.ReadFile(*delPath)
			if err != nil {
				return err
			}
			if d, err = trust.ParseDelegation(raw, root); err != nil {
				return fmt.Errorf("%s: %w", *delPath, err)
			}
		}
		e, err := repo.Publish(kind, payload, signer, d, freshD, graceD)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[1], err)
		}
		if *asJSON {
			return printJSON(stdout, e)
		}
		fmt.Fprintf(stdout, "published %s version %d, fresh until %s, grace until %s\n", e.Kind, e.Version,
			e.FreshUntil.Format(time.RFC3339), e.GraceUntil.Format(time.RFC3339))
		return nil
	}())
}

func runBundlesList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := bundlesFlags("list", stderr)
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`")
	asJSON := fs.Bool("json", false, "print JSON")
	return bundlesFinish(stderr, "list", func() error {
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return usagef("list takes no arguments")
		}
		if err := needData(*data); err != nil {
			return err
		}
		repo, err := openRepo(*data, nil)
		if err != nil {
			return err
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
