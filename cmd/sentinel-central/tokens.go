package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"sentinel/internal/central"
	"sentinel/internal/cli"
)

// tokenCmds are the subcommands of "tokens".
var tokenCmds = map[string]cli.Command{
	"add":    {Summary: "make a role token of the operator API and print it once", Synopsis: "--name NAME --role ops|admin|issuer [flags]", Run: runTokensAdd},
	"list":   {Summary: "list the operator API's role tokens (names and roles, never the tokens)", Run: runTokensList},
	"remove": {Summary: "remove a role token: the next request with it is refused", Synopsis: "--name NAME [flags]", Run: runTokensRemove},
}

func runTokens(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central tokens", tokenCmds, args, stdin, stdout, stderr)
}

// tokensFlags returns the flag set of a tokens subcommand with --data,
// --postgres and --json.
func tokensFlags(ctx context.Context, name string, stderr io.Writer) (fs *flag.FlagSet, data, pgURL *string, asJSON *bool) {
	fs = cli.NewFlagSet("sentinel-central tokens "+name, stderr, cli.CommandHelp(ctx))
	data = fs.String("data", defaultCentralData, "the centre's data `DIR` (its store, or its running serve)")
	pgURL = fs.String("postgres", "", "the store in PostgreSQL at `URL` (a centre that serves with --postgres, when serve is not running)")
	asJSON = fs.Bool("json", false, "print JSON")
	return fs, data, pgURL, asJSON
}

// opsTokenOut is a role token as tokens prints it.
type opsTokenOut struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	SHA256 string `json:"sha256"`
	// Token is the token itself, printed by add only.
	Token string `json:"token,omitempty"`
}

func runTokensAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, pgURL, asJSON := tokensFlags(ctx, "add", stderr)
	name := fs.String("name", "", "the token's `NAME`, recorded as the operator in the audit log (required); an existing name gets a new token")
	role := fs.String("role", "", "ops (devices, export, trace), admin (backup) or issuer (the issuance endpoint) (required)")
	outFile := fs.String("out", "", "write the token to `FILE` (0600, a new file: the --token-file of the operator) instead of printing it")
	return cli.Exit(stderr, "sentinel-central tokens add", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *name == "" || *role == "" {
			return cli.Usagef("--name and --role are required")
		}
		var tf *os.File
		if *outFile != "" {
			f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("--out: %w (give a new file)", err)
			}
			tf = f
			defer func() {
				if tf != nil { // not written: leave no empty token file
					tf.Close()
					os.Remove(*outFile)
				}
			}()
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		tok := base64.RawURLEncoding.EncodeToString(b[:])
		t := central.OpsToken{Name: *name, Role: central.OpsRole(*role), SHA256: sha256.Sum256([]byte(tok))}
		if err := central.CheckOpsToken(t); err != nil {
			return cli.Usagef("%v", err)
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		if err := reg.PutOpsToken(ctx, t); err != nil {
			return err
		}
		out := opsTokenOut{Name: t.Name, Role: string(t.Role), SHA256: hex.EncodeToString(t.SHA256[:]), Token: tok}
		if tf != nil {
			_, err := fmt.Fprintln(tf, tok)
			if err == nil {
				err = tf.Sync()
			}
			if cerr := tf.Close(); err == nil {
				err = cerr
			}
			tf = nil
			if err != nil {
				return fmt.Errorf("--out %s: %w; the token is stored: run tokens add again for a new one", *outFile, err)
			}
			out.Token = ""
			if *asJSON {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "token of %s (role %s) written to %s: give it to the operator\n", t.Name, t.Role, *outFile)
			return nil
		}
		if *asJSON {
			return printJSON(stdout, out)
		}
		fmt.Fprintf(stdout, "token of %s (role %s), shown this once: give it to the operator (--token-file FILE holding it):\n\n%s\n", t.Name, t.Role, tok)
		return nil
	}())
}

func runTokensList(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, pgURL, asJSON := tokensFlags(ctx, "list", stderr)
	return cli.Exit(stderr, "sentinel-central tokens list", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if err := needData(*data); err != nil && *pgURL == "" {
			return err
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		ts, err := reg.ListOpsTokens(ctx)
		if err != nil {
			return err
		}
		out := make([]opsTokenOut, len(ts))
		for i, t := range ts {
			out[i] = opsTokenOut{Name: t.Name, Role: string(t.Role), SHA256: hex.EncodeToString(t.SHA256[:])}
		}
		if *asJSON {
			return printJSON(stdout, out)
		}
		if len(out) == 0 {
			fmt.Fprintln(stdout, "no role tokens: make one with 'sentinel-central tokens add --name NAME --role ops'")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSHA-256")
		for _, t := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.SHA256)
		}
		return tw.Flush()
	}())
}

func runTokensRemove(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, data, pgURL, asJSON := tokensFlags(ctx, "remove", stderr)
	name := fs.String("name", "", "the token's `NAME`, as tokens list shows it (required)")
	return cli.Exit(stderr, "sentinel-central tokens remove", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		if *name == "" {
			return cli.Usagef("--name is required")
		}
		if err := needData(*data); err != nil && *pgURL == "" {
			return err
		}
		reg, err := openRegistry(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer reg.Close()
		if err := reg.RemoveOpsToken(ctx, *name); err != nil {
			return fmt.Errorf("%w: see 'sentinel-central tokens list'", err)
		}
		if *asJSON {
			return printJSON(stdout, map[string]string{"removed": *name})
		}
		fmt.Fprintf(stdout, "token %s removed: the operator API refuses it from the next request on\n", *name)
		return nil
	}())
}
