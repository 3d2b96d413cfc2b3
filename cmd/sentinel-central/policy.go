package main

import (
	"context"
	"fmt"
	"io"

	"sentinel/crypto/trust"
	"sentinel/internal/cli"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// policyCommands are the subcommands of "policy".
var policyCommands = map[string]cli.Command{
	"example": {Summary: "print the default policy of a type of site, the source to start a site's policy from", Synopsis: "--site-type supermarket|pharmacy|intersection|compound|custom [--out FILE]", Run: runPolicyExample},
}

func runPolicy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central policy", policyCommands, args, stdin, stdout, stderr)
}

// runPolicyExample prints the policy a terminal of the site type runs
// before it has a policy bundle: the source ops edit and publish with
// "bundles publish policy".
func runPolicyExample(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-central policy example", stderr, cli.CommandHelp(ctx))
	site := fs.String("site-type", "", "the `TYPE` of site: supermarket, pharmacy, intersection, compound or custom (required)")
	out := fs.String("out", "", "write the policy to `FILE` instead of standard output (never overwritten)")
	return cli.Exit(stderr, "sentinel-central policy example", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if *site == "" || len(pos) != 0 {
			return cli.Usagef("usage: sentinel-central policy example --site-type supermarket|pharmacy|intersection|compound|custom [--out FILE]")
		}
		src, err := policy.DefaultRules(siteconfig.SiteType(*site))
		if err != nil {
			return cli.Usagef("--site-type %q: want supermarket, pharmacy, intersection, compound or custom", *site)
		}
		if *out == "" {
			_, err := io.WriteString(stdout, src)
			return err
		}
		if err := writeNew(*out, []byte(src), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: edit it (docs/policy.md), then publish it with your data directory and signing keys in place of DATA, SIGNER.key, SIGNER.delegation and ROOT.pub:\n  %s\n",
			*out, publishHint(trust.KindPolicy, *out, "--site-type", *site))
		return nil
	}())
}
