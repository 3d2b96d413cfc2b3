package enginecmd

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/statuspub"
)

// Errors of the commands, beside central.ErrEngineInput (a change the
// store refuses) and central.ErrNoFact.
var (
	// ErrInvalid wraps a request refused before anything was read or
	// changed: a field missing or malformed, a rule set that does not
	// compile or whose signature does not verify.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound wraps a passage reference no stored passage has.
	ErrNotFound = appeal.ErrNotFound
	// ErrAmbiguous is a passage reference that passages of several
	// holders have; ErrNotOpened one whose holder was not opened at
	// ingest.
	ErrAmbiguous = appeal.ErrAmbiguous
	ErrNotOpened = appeal.ErrNotOpened
	// ErrConflict wraps a deployment signed as a number another
	// deployment of the region took meanwhile: sign it again.
	ErrConflict = errors.New("deployed meanwhile")
	// ErrNoPublisher refuses rules/apply where no status publisher runs
	// (serve without a signing key).
	ErrNoPublisher = errors.New("no status publisher: serve runs without --key, so it cannot publish what the rules give; run 'sentinel-central rules apply' with serve stopped, or restart serve with --key and --delegation")
	// ErrUnknown wraps a command name that Commands does not list.
	ErrUnknown = errors.New("unknown engine command")
)

// invalid returns an error wrapping ErrInvalid with the text alone.
func invalid(format string, args ...any) error {
	return refused(ErrInvalid, format, args...)
}

// refused returns an error that is is, with the text alone.
func refused(is error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), is: is}
}

type refusal struct {
	msg string
	is  error
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.is }

// Env is what the commands run against.
type Env struct {
	// Store is the central store (required).
	Store central.Store
	// StoreName is recorded in audit log entries: a file, or "postgres".
	StoreName string
	// Root is the operator root's public key: rules/deploy verifies the
	// signed rule set under it, and rules/list names each deployment's
	// signer by it. Nil: rules/deploy is refused, rules/list does not
	// verify.
	Root crypto.PublicKey
	// Publisher publishes what the rules give (rules/apply); nil refuses
	// it with ErrNoPublisher.
	Publisher *statuspub.Publisher
	// Notify is called after a change the rules must see; nil: nobody is
	// told.
	Notify func()
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Audit is the audit log of look-ups (Store's when nil).
	Audit central.AuditLog
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) notify() {
	if e.Notify != nil {
		e.Notify()
	}
}

// Caller is who runs a command: an operator's name (the --operator of the
// CLI, the token's name in the operator API). Changes are recorded as
// "ops:NAME".
type Caller struct {
	Name string
}

func (c Caller) by(now time.Time, why string) (central.ChangeBy, error) {
	if c.Name == "" {
		return central.ChangeBy{}, invalid("no operator: a change is recorded with who made it")
	}
	if why == "" {
		return central.ChangeBy{}, invalid("why is required: say why (it is recorded with who and when)")
	}
	return central.ChangeBy{Time: now.UTC().Truncate(time.Second), By: "ops:" + c.Name, Why: why}, nil
}

// audit records a look-up in the audit log before its answer is handed
// out.
func (e *Env) audit(ctx context.Context, c Caller, action, purpose string, q central.AuditQuery, rows int) error {
	if purpose == "" {
		return invalid("purpose is required: say why you look (it is recorded in the audit log with who and when)")
	}
	entry := central.AuditEntry{Time: e.now().UTC(), Operator: c.Name, Action: action, Purpose: purpose, Query: q, Store: e.StoreName, Rows: rows}
	log := e.Audit
	if log == nil {
		log = e.Store
	}
	if err := log.AppendAudit(ctx, entry); err != nil {
		return fmt.Errorf("the look-up was not recorded in the audit log, so nothing is shown: %w", err)
	}
	return nil
}

// Command is one engine command.
type Command struct {
	// Name is the command's path: "areas/set" is `sentinel-central areas
	// set`, the operator API's POST /v1/ops/areas/set and the control
	// socket's POST /engine/areas/set.
	Name string
	// Change is true for a command that changes the engine's data.
	Change bool
	// MaxBody bounds its request (0: the transport's default).
	MaxBody int64
	run     func(ctx context.Context, env *Env, c Caller, raw []byte) (any, error)
}

// cmd makes a Command of a typed function.
func cmd[Q any, A any](name string, change bool, maxBody int64, fn func(ctx context.Context, env *Env, c Caller, q Q) (A, error)) Command {
	return Command{Name: name, Change: change, MaxBody: maxBody, run: func(ctx context.Context, env *Env, c Caller, raw []byte) (any, error) {
		var q Q
		if err := decodeStrict(raw, &q); err != nil {
			return nil, err
		}
		return fn(ctx, env, c, q)
	}}
}

func decodeStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("request body: %v", err)
	}
	if dec.More() {
		return invalid("request body: more than one JSON value")
	}
	return nil
}

// Commands returns every engine command, by name.
func Commands() []Command {
	return []Command{
		cmd("areas/set", true, 0, AreasSet),
		cmd("areas/risk", true, 0, AreasRisk),
		cmd("areas/list", false, 0, AreasList),
		cmd("sites/set", true, 0, SitesSet),
		cmd("sites/list", false, 0, SitesList),
		cmd("whitelist/add", true, 0, WhitelistAdd),
		cmd("whitelist/remove", true, 0, WhitelistRemove),
		cmd("whitelist/list", false, 0, WhitelistList),
		cmd("cases/add", true, 0, CasesAdd),
		cmd("cases/import", true, MaxImport, CasesImport),
		cmd("rules/test", false, MaxRules, RulesTest),
		cmd("rules/deploy", true, MaxRules, RulesDeploy),
		cmd("rules/list", false, 0, RulesList),
		cmd("rules/apply", false, 0, RulesApply),
		cmd("status/explain", false, 0, StatusExplain),
		cmd("passage/show", false, 0, PassageShow),
		cmd("changes/list", false, 0, ChangesList),
	}
}

// Limits of request bodies beyond the transports' defaults.
const (
	// MaxImport bounds a cases/import request (the CSV inside): about
	// 40,000 cases.
	MaxImport = 4 << 20
	// MaxRules bounds a rules/test or rules/deploy request.
	MaxRules = 1 << 20
)

// Lookup returns the command named name.
func Lookup(name string) (Command, bool) {
	i := slices.IndexFunc(Commands(), func(c Command) bool { return c.Name == name })
	if i < 0 {
		return Command{}, false
	}
	return Commands()[i], true
}

// Run runs the command named name with the JSON request raw for c and
// returns its answer.
func Run(ctx context.Context, env *Env, c Caller, name string, raw []byte) (any, error) {
	cm, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	return cm.run(ctx, env, c, raw)
}

// Do runs the command named name with the request q and decodes its
// answer into a, as a client over a transport would: what the CLI does on
// a store it opened itself, so that its answers are the same bytes as
// through serve.
func Do(ctx context.Context, env *Env, c Caller, name string, q, a any) error {
	raw, err := json.Marshal(q)
	if err != nil {
		return err
	}
	out, err := Run(ctx, env, c, name, raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, a)
}
