package main

import (
	"context"
	"crypto"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/statusdb"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/cli"
	"sentinel/internal/status"
)

var statusCommands = map[string]cli.Command{
	"set":     {Summary: "set a holder's status and publish the status delta", Synopsis: "--holder ISSUER:INDEX|p:HEX --status green|yellow|red|withheld --reason NAME --key SIGNER.key --root-pub ROOT.pub [flags]", Run: runStatusSet},
	"revoke":  {Summary: "revoke an EU DCC certificate identifier and publish the status delta", Synopsis: "--dcc UCI [--dcc UCI]... --key SIGNER.key --root-pub ROOT.pub [flags]", Run: runStatusRevoke},
	"explain": {Summary: "explain a holder's colour by the rules in force: facts, rule, version, until, in words a holder reads", Synopsis: "--holder ISSUER:INDEX|p:HEX [--lang zh] [flags]", Run: runStatusExplain},
	"publish": {Summary: "publish the status base again from the record now (serve's scheduler does it daily)", Synopsis: "--key SIGNER.key --root-pub ROOT.pub [flags]", Run: runStatusPublish},
}

func runStatus(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central status", statusCommands, args, stdin, stdout, stderr)
}

// maxFutureEffective bounds how far ahead an effective time may lie: a
// terminal keeps entries by their effective time, and entries dated far in
// the future break its layout (see internal/status).
const maxFutureEffective = 5 * time.Minute

// defaultRevocationLife is how long an EU DCC revocation lasts when
// status revoke is given no --until: no EU DCC is valid for longer.
const defaultRevocationLife = 365 * 24 * time.Hour

// statusPublishing holds the flags every status subcommand shares: where
// the record and repository live and how to sign.
type statusPublishing struct {
	data, key, delegation, rootPub, fresh, grace string
	asJSON                                       bool
	now                                          func() time.Time
}

func statusFlags(ctx context.Context, name string, stderr io.Writer) (*flag.FlagSet, *statusPublishing) {
	fs := cli.NewFlagSet("sentinel-central status "+name, stderr, cli.CommandHelp(ctx))
	p := &statusPublishing{now: time.Now}
	fs.StringVar(&p.key, "key", "", "the online signing key's private key `FILE` (required)")
	fs.StringVar(&p.delegation, "delegation", "", "the signing key's delegation `FILE` from the root (required unless --key is the root)")
	fs.StringVar(&p.rootPub, "root-pub", "", "the operator root's public key `FILE` (required)")
	fs.StringVar(&p.data, "data", defaultCentralData, "the centre's data `DIR`")
	fs.StringVar(&p.fresh, "fresh", "24h", "how long the status bundle stays fresh after issue")
	fs.StringVar(&p.grace, "grace", "72h", "how long after issue it is still usable in grace")
	fs.BoolVar(&p.asJSON, "json", false, "print JSON")
	return fs, p
}

// signing is what publishing needs, loaded before anything is recorded.
type signing struct {
	signer       crypto.Signer
	root         crypto.PublicKey
	d            *trust.Delegation
	fresh, grace time.Duration
}

func (p *statusPublishing) load() (*signing, error) {
	if p.key == "" || p.rootPub == "" {
		return nil, cli.Usagef("--key FILE and --root-pub FILE are required")
	}
	var s signing
	var err error
	if s.fresh, s.grace, err = parseFreshGrace(p.fresh, p.grace); err != nil {
		return nil, err
	}
	if s.root, err = readPublicKey(p.rootPub); err != nil {
		return nil, err
	}
	if s.signer, s.d, err = loadSigningKey("--key", p.key, "--delegation", p.delegation, s.root); err != nil {
		return nil, err
	}
	return &s, nil
}

// statusPublished says what a status subcommand published.
type statusPublished struct {
	Bundle   bundles.Entry     `json:"bundle"`
	Record   *statusdb.Record  `json:"record,omitempty"`
	Previous *statusdb.Record  `json:"previous,omitempty"`
	Revoked  []string          `json:"revoked,omitempty"`
	Why      string            `json:"why"` // why a base rather than a delta
	Took     statusPublishTime `json:"took_ms"`
}

type statusPublishTime time.Duration

func (d statusPublishTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

// publisher returns the status publisher for p's data directory and s.
func (p *statusPublishing) publisher(s *signing) *statuspub.Publisher {
	return &statuspub.Publisher{DataDir: p.data, Root: s.root, Now: p.now,
		Signer: statuspub.Signer{Key: s.signer, Delegation: s.d, Fresh: s.fresh, Grace: s.grace}}
}

// publishStatus records a change and publishes it (statuspub.Publish).
func publishStatus(p *statusPublishing, s *signing, change statuspub.Change) (statusPublished, error) {
	res, err := p.publisher(s).Publish(change)
	return statusPublished{Bundle: res.Bundle, Why: res.Why, Took: statusPublishTime(res.Took)}, err
}

func printStatusPublished(w io.Writer, asJSON bool, what string, out statusPublished) error {
	if asJSON {
		return printJSON(w, out)
	}
	fmt.Fprintln(w, what)
	e := out.Bundle
	fmt.Fprintf(w, "published %s version %d", e.Kind, e.Version)
	if e.Kind == trust.KindStatusDelta {
		fmt.Fprintf(w, " (applies to version %d)", e.Base)
	}
	fmt.Fprintf(w, ", fresh until %s, in %.1f ms\n", e.FreshUntil.Format(time.RFC3339), float64(out.Took)/float64(time.Millisecond))
	if out.Why != "" {
		fmt.Fprintf(w, "a base, not a delta: %s\n", out.Why)
	}
	return nil
}

func runStatusSet(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, p := statusFlags(ctx, "set", stderr)
	holderS := fs.String("holder", "", "the holder: `ISSUER:INDEX` for a native holder, p:HEX for an EU DCC or SHC pseudonym (required)")
	statusS := fs.String("status", "", "green, yellow, red or withheld (required)")
	reasonS := fs.String("reason", "", "why, by `NAME`: confirmed, close-contact, fever, test-negative, ... (the table in docs/reasons.md; required)")
	note := fs.String("note", "", "the reason in words, kept at the centre only")
	var effective, until cli.Time
	fs.Var(&effective, "effective", "the `TIME` the status takes effect, RFC 3339 (default now)")
	fs.Var(&until, "until", "the `TIME` the status lapses, RFC 3339 (default open)")
	return cli.Exit(stderr, "sentinel-central status set", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return cli.Usagef("set takes no arguments: set --holder ISSUER:INDEX --status red --reason confirmed --key SIGNER --delegation FILE --root-pub ROOT")
		}
		if *holderS == "" || *statusS == "" || *reasonS == "" {
			return cli.Usagef("--holder, --status and --reason are required")
		}
		h, err := credential.ParseHolderID(*holderS)
		if err != nil {
			return cli.Usagef("--holder: %v", err)
		}
		st, err := status.ParseStatus(*statusS)
		if err != nil {
			return cli.Usagef("--status %q: want green, yellow, red or withheld", *statusS)
		}
		reason, err := status.ParseReason(*reasonS)
		if err != nil {
			return cli.Usagef("--reason: %v", err)
		}
		now := p.now()
		r := statusdb.Record{Holder: h, Status: st, Effective: effective.Or(now), Until: until.T, Reason: byte(reason), Note: *note, SetAt: now.UTC()}
		if r.Effective.After(now.Add(maxFutureEffective)) {
			return cli.Usagef("--effective %s lies in the future: set the status when it takes effect", r.Effective.Format(time.RFC3339))
		}
		if !r.Until.IsZero() && !r.Until.After(r.Effective) {
			return cli.Usagef("--until %s is not after the effective time %s", r.Until.Format(time.RFC3339), r.Effective.Format(time.RFC3339))
		}
		s, err := p.load()
		if err != nil {
			return err
		}
		var previous *statusdb.Record
		out, err := publishStatus(p, s, func(tx *statusdb.Tx, delta *status.Builder) error {
			prev, had, err := tx.Set(r)
			if err != nil {
				return err
			}
			if had {
				previous = &prev
			}
			return statusdb.AddTo(delta, r)
		})
		if err != nil {
			return err
		}
		out.Record, out.Previous = &r, previous
		what := fmt.Sprintf("%s is %s (%s) from %s", h, st, reason, r.Effective.UTC().Format(time.RFC3339))
		if !r.Until.IsZero() {
			what += " until " + r.Until.UTC().Format(time.RFC3339)
		}
		return printStatusPublished(stdout, p.asJSON, what, out)
	}())
}

func runStatusRevoke(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, p := statusFlags(ctx, "revoke", stderr)
	var ucis cli.Strings
	fs.Var(&ucis, "dcc", "an EU DCC certificate identifier (`UCI`) to revoke; repeat for several (required)")
	var until cli.Time
	fs.Var(&until, "until", "the `TIME` the revocation lapses, RFC 3339: the certificate's expiry, after which terminals refuse it anyway (default one year from now; serve's scheduler republishes without it then)")
	return cli.Exit(stderr, "sentinel-central status revoke", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 || len(ucis) == 0 {
			return cli.Usagef("want revoke --dcc UCI --key SIGNER --delegation FILE --root-pub ROOT")
		}
		for _, u := range ucis {
			if u == "" || len(u) > 256 {
				return cli.Usagef("--dcc %q: want a certificate identifier such as URN:UVCI:01:DE:…", u)
			}
		}
		s, err := p.load()
		if err != nil {
			return err
		}
		now := p.now()
		end := until.Or(now.Add(defaultRevocationLife))
		if !end.After(now) {
			return cli.Usagef("--until %s is not in the future: a revocation that has lapsed already needs no publishing", end.Format(time.RFC3339))
		}
		out, err := publishStatus(p, s, func(tx *statusdb.Tx, delta *status.Builder) error {
			for _, u := range ucis {
				if _, err := tx.Revoke(u, now, end); err != nil {
					return err
				}
				delta.Revoke(u)
			}
			return nil
		})
		if err != nil {
			return err
		}
		out.Revoked = ucis
		return printStatusPublished(stdout, p.asJSON, fmt.Sprintf("revoked %d EU DCC certificate identifier(s)", len(ucis)), out)
	}())
}

// runStatusPublish republishes the status base from the record: what
// serve's scheduler does daily, for a centre run with --no-schedule or
// before a planned outage.
func runStatusPublish(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, p := statusFlags(ctx, "publish", stderr)
	return cli.Exit(stderr, "sentinel-central status publish", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return cli.Usagef("publish takes no arguments: publish --key SIGNER --delegation FILE --root-pub ROOT")
		}
		s, err := p.load()
		if err != nil {
			return err
		}
		res, err := p.publisher(s).PublishBase("asked for by sentinel-central status publish")
		if err != nil {
			return err
		}
		out := statusPublished{Bundle: res.Bundle, Why: res.Why, Took: statusPublishTime(res.Took)}
		return printStatusPublished(stdout, p.asJSON, "the status base is published again from the record", out)
	}())
}
