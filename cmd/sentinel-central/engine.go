package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
)

// The code engine's commands (areas, sites, whitelist, cases, rules,
// status explain, passage show) run enginecmd's commands: on the store
// their flags name, or, while serve holds the bbolt store, in serve
// through its control socket, so that they work unchanged on a live
// centre. serve runs them as the operator API does.

// ctlEngine is the control socket's prefix of the engine's commands:
// POST /engine/areas/set?operator=NAME with the request as JSON.
const ctlEngine = "/engine/"

// ctlEngineMaxBody bounds a request of the engine's commands on the
// control socket: a cases import of some millions of rows.
const ctlEngineMaxBody = 256 << 20

// engineFlags are the flags that name the store of the engine's commands
// and who runs them.
type engineFlags struct {
	data, pgURL string
	operator    string
	asJSON      bool
}

func (o *engineFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&o.data, "data", defaultCentralData, "the centre's data `DIR` (its bbolt store, or the running serve that holds it)")
	fs.StringVar(&o.pgURL, "postgres", "", "use the central store in PostgreSQL at `URL` instead of the bbolt store in --data")
	fs.StringVar(&o.operator, "operator", defaultOperator(), "`WHO` runs the command, recorded in the engine's audit or the audit log")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
}

// storeName is what audit entries name as the store.
func (o *engineFlags) storeName() string {
	if o.pgURL != "" {
		return "postgres"
	}
	return o.data
}

// openStore opens the central store the flags name. The bbolt store
// must not be held by a running serve (run reaches that one); with
// create it makes the data directory and the bbolt store when they are
// missing.
func (o *engineFlags) openStore(ctx context.Context, create bool) (central.Store, error) {
	if o.pgURL != "" {
		// The home database and every cluster its map names: the
		// engine reads passages (visits, contacts, a passage's
		// reference) wherever their site lies, as serve does.
		st, err := pgshard.Open(ctx, o.pgURL, nil)
		if err != nil {
			return nil, fmt.Errorf("--postgres: %w", err)
		}
		return st, nil
	}
	if create {
		if err := os.MkdirAll(o.data, 0o700); err != nil {
			return nil, err
		}
	} else if err := needData(o.data); err != nil {
		return nil, err
	}
	if keptInPostgres(o.data) {
		return nil, fmt.Errorf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): pass --postgres URL", o.data)
	}
	path := filepath.Join(o.data, server.StoreFile)
	if _, err := os.Stat(path); err != nil && !create {
		return nil, fmt.Errorf("no central store at %s, so nothing to read yet: check --data (the directory of 'sentinel-central serve'), or use --postgres; 'serve', 'devices add' and the engine's changes (areas set, sites set, cases, rules deploy) make it: %w", path, err)
	}
	st, err := boltstore.Open(path, &boltstore.Options{Timeout: opsLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is in use by a running 'sentinel-central serve' that does not answer on %s: run this as the user serve runs as, or stop serve",
			path, filepath.Join(o.data, controlFile))
	}
	return st, err
}

// openOrServe is open, but when a running serve holds the bbolt store it
// returns no store and serve's control socket instead.
func (o *engineFlags) openOrServe(ctx context.Context, create bool) (central.Store, *controlClient, error) {
	if o.pgURL == "" {
		if c := dialControl(o.data); c != nil {
			return nil, c, nil
		}
	}
	st, err := o.openStore(ctx, create)
	return st, nil, err
}

// run runs the engine command name with the request q and decodes its
// answer into a: in the running serve through its socket when it holds
// the bbolt store, else on the store the flags name, with root (may be
// nil) and pub (may be nil) for the commands that need them.
func (o *engineFlags) run(ctx context.Context, name string, q, a any, root crypto.PublicKey, pub func(central.Store) *statuspub.Publisher) error {
	if o.operator == "" {
		return fmt.Errorf("--operator is required: no $USER and no account name")
	}
	// A change makes the bbolt store of a new centre, as status set does
	// (areas and sites are set up before the first terminal uploads); a
	// command that only reads refuses a store that is not there.
	c, _ := enginecmd.Lookup(name)
	st, ctl, err := o.openOrServe(ctx, c.Change)
	if err != nil {
		return err
	}
	if ctl != nil {
		defer ctl.Close()
		ctl.untimed()
		return ctl.do(ctx, http.MethodPost, ctlEngine+name+"?operator="+url.QueryEscape(o.operator), q, a)
	}
	defer st.Close()
	env := &enginecmd.Env{Store: st, StoreName: o.storeName(), Root: root}
	if pub != nil {
		env.Publisher = pub(st)
	}
	return enginecmd.Do(ctx, env, enginecmd.Caller{Name: o.operator}, name, q, a)
}

// engine runs an engine command that came through the control socket, in
// serve, with serve's store, root, publisher and event path.
func (h *controlHandler) engine(ctx context.Context, r *http.Request) (any, error) {
	name := strings.TrimPrefix(r.URL.Path, ctlEngine)
	if _, ok := enginecmd.Lookup(name); !ok {
		return nil, fmt.Errorf("%w %q: this serve is of another version than the command; run the command of serve's version", enginecmd.ErrUnknown, name)
	}
	// The socket is the data directory owner's: a large import goes
	// through whole, as it does with serve stopped.
	const limit = ctlEngineMaxBody
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err == nil && int64(len(raw)) > limit {
		err = fmt.Errorf("over %d bytes", limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: request body: %v", enginecmd.ErrInvalid, err)
	}
	env := h.engineEnv
	env.Store = h.st
	env.Publisher = h.pub
	return enginecmd.Run(ctx, &env, enginecmd.Caller{Name: r.URL.Query().Get("operator")}, name, raw)
}

// untimed lifts the client's time limit for the engine's commands: a
// sweep, a dry run or an import with contact derivation over many
// passages may take minutes, and serve finishes it whether or not the
// command waits. An interrupt (the command's context) still ends the wait.
func (c *controlClient) untimed() { c.hc.Timeout = 0 }
