// Command sentinelctl is the installer's, guard's and supervisor's tool on a
// Sentinel terminal: it verifies codes, checks the configuration, probes and
// calibrates the devices and reads the journal.
//
// Every subcommand takes --json for machine output and exits 0 on success,
// 1 when something was refused or failed, and 2 on a usage error.
package main

import (
	"context"
	"io"

	"sentinel/internal/cli"
)

// Exit statuses shared by every subcommand, for the tests: the commands
// return them through cli.Exit.
const (
	exitOK      = cli.ExitOK
	exitRefused = cli.ExitRefused
	exitUsage   = cli.ExitUsage
)

// commands lists every subcommand; each lives in a file of its own.
var commands = map[string]cli.Command{
	"verify":    {Summary: "verify codes offline against trusted keys", Run: runVerify},
	"scan":      {Summary: "decode QR codes from image files or the configured devices", Run: runScan},
	"selftest":  {Summary: "probe every configured device and say what to check", Run: runSelftest},
	"calibrate": {Summary: "calibrate the thermometer against a reference source", Run: runCalibrate},
	"config":    {Summary: "check the terminal's configuration file", Run: runConfig},
	"journal":   {Summary: "verify, tail and export the passage journal", Run: runJournal},
	"enrol":     {Summary: "enrol this terminal with the central system", Run: runEnrol},
	"status":    {Summary: "say whether the running terminal is ready: enrolment, clock, bundles, lanes", Run: runStatus},
	"rules":     {Summary: "check EU business rules (CertLogic) against their tests", Run: runRules},
}

func main() { cli.Main(run) }

// run dispatches to a subcommand; tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinelctl", commands, args, stdin, stdout, stderr)
}
