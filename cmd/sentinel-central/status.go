package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/cli"
	"sentinel/internal/status"
)

var statusCommands = map[string]cli.Command{
	"set":     {Summary: "set a holder's status and publish the status delta", Synopsis: "--holder ISSUER:INDEX|p:HEX --status green|yellow|red|withheld --reason NAME (--key SIGNER.key --root-pub ROOT.pub | --server URL --token-file FILE) [flags]", Run: runStatusSet},
	"revoke":  {Summary: "revoke an EU DCC certificate identifier and publish the status delta", Synopsis: "--dcc UCI [--dcc UCI]... (--key SIGNER.key --root-pub ROOT.pub | --server URL --token-file FILE) [flags]", Run: runStatusRevoke},
	"explain": {Summary: "explain a holder's colour by the rules in force: facts, rule, version, until, in words a holder reads", Synopsis: "(--holder ISSUER:INDEX|p:HEX | --passage REF) [--lang zh] [flags]", Run: runStatusExplain},
	"publish": {Summary: "publish the status base again from the store now (serve's scheduler does it daily)", Synopsis: "(--key SIGNER.key --root-pub ROOT.pub | --server URL --token-file FILE) [flags]", Run: runStatusPublish},
}

func runStatus(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinel-central status", statusCommands, args, stdin, stdout, stderr)
}

// statusPublishing holds the flags every status subcommand shares: where
// the store and repository live and how to sign, or which running server
// publishes instead.
type statusPublishing struct {
	data, key, delegation, rootPub, fresh, grace string
	pgURL, server, tokenFile, ca                 string
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
	fs.StringVar(&p.pgURL, "postgres", "", "the central store in PostgreSQL at `URL` (as serve --postgres) instead of the bbolt store in --data")
	fs.StringVar(&p.server, "server", "", "have the running server at `URL` (https://HOST:PORT of serve --ops-listen) record and publish the change with its own signing key, instead of --key: needed while serve holds the bbolt store")
	fs.StringVar(&p.tokenFile, "token-file", "", "`FILE` holding an ops role token, for --server")
	fs.StringVar(&p.ca, "ca", "", "the device CA `FILE` that verifies --server (default DATA/enrol/ca.pem)")
	fs.BoolVar(&p.asJSON, "json", false, "print JSON")
	return fs, p
}

// remote reports whether the change goes to a running server, refusing
// flags that contradict each other.
func (p *statusPublishing) remote() (bool, error) {
	if p.server == "" {
		if p.tokenFile != "" || p.ca != "" {
			return false, cli.Usagef("--token-file and --ca go with --server")
		}
		return false, nil
	}
	switch {
	case p.pgURL != "":
		return false, cli.Usagef("--server and --postgres: choose one (the server publishes from its own store)")
	case p.key != "" || p.delegation != "" || p.rootPub != "":
		return false, cli.Usagef("--server and --key, --delegation, --root-pub: choose one (the server signs with its own key)")
	}
	return true, nil
}

// statusLockWait bounds the wait for the bbolt store's lock: a running
// server holds it for as long as it runs.
const statusLockWait = time.Second

// openStatusStore opens the central store that p names (PostgreSQL, or the
// bbolt store in the data directory, made when missing) and imports the
// former status record of the data directory into it once. When a running
// serve holds the bbolt store, it returns no store and that serve's
// control socket instead.
func (p *statusPublishing) openStatusStore(ctx context.Context, stderr io.Writer) (central.Store, *controlClient, error) {
	var st central.Store
	switch {
	case p.pgURL != "":
		// Every cluster's passages: rules apply judges the visits there.
		pg, err := pgshard.Open(ctx, p.pgURL, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("--postgres: %w", err)
		}
		st = pg
	default:
		if c := dialControl(p.data); c != nil {
			return nil, c, nil
		}
		if keptInPostgres(p.data) {
			return nil, nil, fmt.Errorf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): pass --postgres URL", p.data)
		}
		if err := os.MkdirAll(p.data, 0o700); err != nil {
			return nil, nil, err
		}
		path := filepath.Join(p.data, server.StoreFile)
		b, err := boltstore.Open(path, &boltstore.Options{Timeout: statusLockWait})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, nil, fmt.Errorf("%s is in use by a running 'sentinel-central serve' that does not answer on %s: run this as the user serve runs as, have it publish with --server https://HOST:PORT --token-file FILE (an ops token), or stop serve",
				path, filepath.Join(p.data, controlFile))
		}
		if err != nil {
			return nil, nil, err
		}
		st = b
	}
	if err := importLegacyStatus(ctx, p.data, st, func(msg string) { fmt.Fprintln(stderr, msg) }); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, nil, nil
}

// importLegacyStatus imports DATA/status.db, the status record of the
// releases before statuses moved into the central store, once, and says
// what it did with say.
func importLegacyStatus(ctx context.Context, data string, st central.StatusStore, say func(string)) error {
	imp, err := boltstore.ImportLegacyStatus(ctx, data, st)
	if err != nil {
		return err
	}
	if imp.From != "" {
		say(fmt.Sprintf("imported the former status record %s into the central store: %d entries (%d kept as the store had them later), %d EU DCC revocations, status version %d; the file is now %s",
			imp.From, imp.Entries, imp.Kept, imp.Revocations, imp.Version, imp.From+boltstore.ImportedSuffix))
	}
	return nil
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
	Bundle   bundles.Entry        `json:"bundle"`
	Record   *central.StatusEntry `json:"record,omitempty"`
	Previous *central.StatusEntry `json:"previous,omitempty"`
	Revoked  []string             `json:"revoked,omitempty"`
	Why      string               `json:"why"` // why a base rather than a delta
	Took     statusPublishTime    `json:"took_ms"`
}

type statusPublishTime time.Duration

func (d statusPublishTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

// publish makes a change: locally, with the signing key on the store p
// names, or through the running server's operator API (path, req).
func (p *statusPublishing) publish(ctx context.Context, stderr io.Writer, local func(*statuspub.Publisher) (statuspub.Result, error), path string, req any, ctlReq ctlStatusReq) (statusPublished, error) {
	remote, err := p.remote()
	if err != nil {
		return statusPublished{}, err
	}
	if remote {
		c, err := newOpsAPI(p.server, p.tokenFile, p.ca, p.data)
		if err != nil {
			return statusPublished{}, err
		}
		defer c.close()
		resp, err := c.post(ctx, path, req)
		if err != nil {
			return statusPublished{}, err
		}
		defer resp.Body.Close()
		var a opsapi.StatusAnswer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return statusPublished{}, fmt.Errorf("the answer of %s: %w", p.server, err)
		}
		return statusPublished{Bundle: a.Bundle, Record: a.Entry, Previous: a.Previous, Revoked: a.Revoked, Why: a.Why,
			Took: statusPublishTime(a.TookMS * float64(time.Millisecond))}, nil
	}
	s, err := p.load()
	if err != nil {
		return statusPublished{}, err
	}
	st, ctl, err := p.openStatusStore(ctx, stderr)
	if err != nil {
		return statusPublished{}, err
	}
	if ctl != nil {
		// serve holds the store: it records and publishes the change with
		// its own signing key, a delegation of the same root.
		defer ctl.Close()
		fmt.Fprintf(stderr, "the running serve holds the store: it records the change and signs the bundle with its own key (serve --key), not --key %s\n", p.key)
		var a opsapi.StatusAnswer
		if err := ctl.do(ctx, http.MethodPost, ctlStatus, ctlReq, &a); err != nil {
			return statusPublished{}, err
		}
		return statusPublished{Bundle: a.Bundle, Record: a.Entry, Previous: a.Previous, Revoked: a.Revoked, Why: a.Why,
			Took: statusPublishTime(a.TookMS * float64(time.Millisecond))}, nil
	}
	defer st.Close()
	pub := &statuspub.Publisher{Store: st, DataDir: p.data, Root: s.root, Now: p.now,
		Signer: statuspub.Signer{Key: s.signer, Delegation: s.d, Fresh: s.fresh, Grace: s.grace}}
	res, err := local(pub)
	if err != nil {
		return statusPublished{}, err
	}
	return statusPublished{Bundle: res.Bundle, Record: res.Entry, Previous: res.Previous, Revoked: res.Revoked, Why: res.Why, Took: statusPublishTime(res.Took)}, nil
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
	note := fs.String("note", "", "the reason in words, kept at the centre only and recorded in the engine's audit")
	operator := fs.String("operator", defaultOperator(), "`WHO` sets it, recorded with the entry and in the engine's audit (with --server: the token's name)")
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
		if *operator == "" {
			return cli.Usagef("--operator is required: no $USER and no account name")
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
		r := central.StatusEntry{Holder: h, Status: st, Effective: effective.Or(now), Until: until.T, Reason: byte(reason), Note: *note,
			Source: "ops:" + *operator, SetAt: now.UTC()}
		if r.Effective.After(now.Add(statuspub.MaxFutureEffective)) {
			return cli.Usagef("--effective %s lies in the future: set the status when it takes effect", r.Effective.Format(time.RFC3339))
		}
		if !r.Until.IsZero() && !r.Until.After(r.Effective) {
			return cli.Usagef("--until %s is not after the effective time %s", r.Until.Format(time.RFC3339), r.Effective.Format(time.RFC3339))
		}
		req := opsapi.StatusSetRequest{Holder: *holderS, Status: *statusS, Reason: *reasonS, Note: *note, Effective: effective.T, Until: until.T}
		out, err := p.publish(ctx, stderr, func(pub *statuspub.Publisher) (statuspub.Result, error) { return pub.SetStatus(ctx, r) }, opsapi.StatusSetPath, req,
			ctlStatusReq{Set: &r})
		if err != nil {
			return err
		}
		if out.Record != nil {
			r = *out.Record
		}
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
		now := p.now()
		end := until.Or(now.Add(statuspub.DefaultRevocationLife))
		if !end.After(now) {
			return cli.Usagef("--until %s is not in the future: a revocation that has lapsed already needs no publishing", end.Format(time.RFC3339))
		}
		req := opsapi.StatusRevokeRequest{DCC: ucis, Until: until.T}
		out, err := p.publish(ctx, stderr, func(pub *statuspub.Publisher) (statuspub.Result, error) { return pub.Revoke(ctx, ucis, end) }, opsapi.StatusRevokePath, req,
			ctlStatusReq{Revoke: ucis, Until: end})
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
		out, err := p.publish(ctx, stderr, func(pub *statuspub.Publisher) (statuspub.Result, error) {
			return pub.PublishBase(ctx, "asked for by sentinel-central status publish")
		}, opsapi.StatusPublishPath, opsapi.StatusPublishRequest{}, ctlStatusReq{Publish: "asked for by sentinel-central status publish"})
		if err != nil {
			return err
		}
		return printStatusPublished(stdout, p.asJSON, "the status base is published again from the record", out)
	}())
}

// ctlStatus is the control socket's path of status changes.
const ctlStatus = "/status"

// ctlStatusReq is a status change sent to a running serve through its
// control socket: one of Set, Revoke (until Until) or Publish (why).
type ctlStatusReq struct {
	Set     *central.StatusEntry `json:"set,omitempty"`
	Revoke  []string             `json:"revoke,omitempty"`
	Until   time.Time            `json:"until,omitzero"`
	Publish string               `json:"publish,omitempty"`
}

// errNoPublisher refuses a status change sent to a serve without a
// signing key.
var errNoPublisher = errors.New("the running serve has no signing key to publish status bundles with (it runs without --key): stop it and run this again, or restart it with --key and --delegation")

// status makes the change q asks for with serve's publisher.
func (h *controlHandler) status(ctx context.Context, q ctlStatusReq) (opsapi.StatusAnswer, error) {
	if h.pub == nil {
		return opsapi.StatusAnswer{}, errNoPublisher
	}
	var (
		res statuspub.Result
		err error
	)
	switch {
	case q.Set != nil:
		res, err = h.pub.SetStatus(ctx, *q.Set)
	case len(q.Revoke) > 0:
		res, err = h.pub.Revoke(ctx, q.Revoke, q.Until)
	case q.Publish != "":
		res, err = h.pub.PublishBase(ctx, q.Publish)
	default:
		err = fmt.Errorf("%w: the request names no change", statuspub.ErrInvalid)
	}
	if err != nil {
		return opsapi.StatusAnswer{}, err
	}
	h.logger.Info("status published for a command on the control socket", "kind", res.Bundle.Kind, "version", res.Bundle.Version, "why", res.Why)
	return opsapi.StatusAnswer{Result: res, TookMS: float64(res.Took) / float64(time.Millisecond)}, nil
}
