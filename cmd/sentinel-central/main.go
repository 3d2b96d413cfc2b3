// Command sentinel-central is the operator's tool at the centre of a Sentinel
// deployment: it keeps the offline root, delegates signing keys, builds and
// inspects the signed bundles terminals download, and issues native codes.
//
// Every subcommand exits 0 on success, 1 when something was refused or
// failed, and 2 on a usage error. Subcommands that print take --json.
package main

import (
	"context"
	"io"

	"sentinel/internal/cli"
)

// Exit statuses shared by every subcommand.
const (
	exitOK      = cli.ExitOK
	exitRefused = cli.ExitRefused
	exitUsage   = cli.ExitUsage
)

// commands lists every subcommand; each lives in a file of its own.
var commands = map[string]cli.Command{
	"trust":     {Summary: "manage the root key, delegations, issuer keys and trust bundles", Run: runTrust},
	"issue":     {Summary: "issue native codes signed by an issuer key", Run: runIssue},
	"devices":   {Summary: "enrol terminals: tokens, the device CA, revocation", Run: runDevices},
	"bundles":   {Summary: "sign and publish trust, policy and config bundles", Run: runBundles},
	"config":    {Summary: "write site settings for the config bundle: example, guard PINs, check", Run: runConfig},
	"serve":     {Summary: "run the central server: enrolment, journal upload, bundle download", Synopsis: "--root-pub ROOT.pub --key SIGNER.key --delegation SIGNER.delegation [flags]", Run: runServe},
	"status":    {Summary: "set a holder's status and publish the status delta", Run: runStatus},
	"export":    {Summary: "export passages for a time range, recording who, when and why", Synopsis: "--from TIME --to TIME --format csv|jsonl --purpose TEXT [flags]", Run: runExport},
	"trace":     {Summary: "trace a holder's contacts, recording who, when and why", Synopsis: "--holder ISSUER:INDEX|p:HEX --purpose TEXT [flags]", Run: runTrace},
	"areas":     {Summary: "the code engine's areas tree and risk levels: set, risk, list", Run: runAreas},
	"sites":     {Summary: "place sites in areas for the code engine: set, list", Run: runSites},
	"whitelist": {Summary: "lists of essential workers for the code engine: add, remove, list", Run: runWhitelist},
	"cases":     {Summary: "record confirmed cases and derive their close contacts: add, import", Run: runCases},
	"rules":     {Summary: "the code engine's colour rule sets: test against the data, deploy, list", Run: runRules},
	"passage":   {Summary: "find a passage by the reference the holder read off the gate, for an appeal: show", Run: runPassage},
	"policy":    {Summary: "print the default policy of a type of site to start from", Run: runPolicy},
	"backup":    {Summary: "write a consistent copy of the central store while it serves", Synopsis: "--out FILE [flags]", Run: runBackup},
	"compact":   {Summary: "rewrite the bbolt store without the free pages that hold purged data (serve stopped)", Run: runCompact},
	"tokens":    {Summary: "manage the operator API's role tokens: add, list, remove", Run: runTokens},
	"audit":     {Summary: "print the audit log: who exported or traced what, when and why", Run: runAudit},
	"clusters":  {Summary: "spread passages over PostgreSQL clusters by site: add, list, sites, move", Run: runClusters},
}

func main() { cli.Main(run) }

// run dispatches to a subcommand; tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central", commands, args, stdin, stdout, stderr)
}
