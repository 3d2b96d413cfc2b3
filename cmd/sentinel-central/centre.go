package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/atomicfile"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/legacy"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
)

// The centre's state is one central.Store: the bbolt file DATA/central.db,
// or PostgreSQL. A running serve holds the bbolt file's lock, so the
// commands that change the registry or the operator tokens while it runs
// (devices add and revoke, tokens) reach its store through a Unix socket
// in the data directory, which only the data directory's owner can open:
// the same people who could write the files these lived in before.

// controlFile is serve's socket in the data directory.
const controlFile = "control.sock"

// storeKindFile records which store serve last ran on, so that a command
// without --postgres does not make a bbolt store beside a centre that keeps
// its state in PostgreSQL.
const storeKindFile = "store-kind"

// importLegacy imports the files older versions kept in data (enrol.json,
// audit.jsonl, ops-tokens.json) into st once, and says so on w.
func importLegacy(ctx context.Context, st central.Store, data string, w io.Writer) error {
	rep, err := legacy.Import(ctx, st, data)
	if err != nil {
		return err
	}
	if len(rep.Files) > 0 && w != nil {
		fmt.Fprintf(w, "imported %s into the store (%d devices, %d enrolment tokens, %d audit entries, %d operator tokens); the files are kept as *%s\n",
			strings.Join(rep.Files, ", "), rep.Devices, rep.Tokens, rep.AuditEntries, rep.OpsTokens, legacy.ImportedSuffix)
	}
	return nil
}

// recordStoreKind writes which store serve runs on into data.
func recordStoreKind(data, kind string) error {
	return atomicfile.WriteFile(filepath.Join(data, storeKindFile), []byte(kind+"\n"), 0o600)
}

// keptInPostgres reports whether serve last ran on PostgreSQL with data.
func keptInPostgres(data string) bool {
	b, err := os.ReadFile(filepath.Join(data, storeKindFile))
	return err == nil && strings.TrimSpace(string(b)) == "postgres"
}

// registryAdmin is what devices and tokens change: a store, or a running
// serve's through its socket.
type registryAdmin interface {
	AddEnrolToken(ctx context.Context, t central.EnrolToken) error
	Enrolled(ctx context.Context) ([]central.EnrolledDevice, error)
	RevokeDevice(ctx context.Context, id string, now time.Time) error
	central.OpsTokens
	Audit(ctx context.Context, f central.AuditFilter) ([]central.AuditEntry, error)
	Close() error
}

var (
	_ registryAdmin = (*boltstore.Store)(nil)
	_ registryAdmin = (*pgstore.Store)(nil)
	_ registryAdmin = (*controlClient)(nil)
)

// openRegistry opens what holds the registry: PostgreSQL at pgURL, the
// running serve through its socket, or the bbolt store in data (made when
// missing; the legacy files imported).
func openRegistry(ctx context.Context, data, pgURL string, stderr io.Writer) (registryAdmin, error) {
	if pgURL != "" {
		st, err := pgstore.Open(ctx, pgURL, nil)
		if err != nil {
			return nil, fmt.Errorf("--postgres: %w", err)
		}
		if err := importLegacy(ctx, st, data, stderr); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
	if c := dialControl(data); c != nil {
		return c, nil
	}
	if keptInPostgres(data) {
		return nil, fmt.Errorf("this centre keeps its state in PostgreSQL ('serve --postgres' ran with --data %s): pass --postgres URL, or run this while serve runs", data)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(data, server.StoreFile)
	st, err := boltstore.Open(path, &boltstore.Options{Timeout: opsLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is in use by a running 'sentinel-central serve' that does not answer on %s: run this as the user serve runs as, or stop serve",
			path, filepath.Join(data, controlFile))
	}
	if err != nil {
		return nil, err
	}
	if err := importLegacy(ctx, st, data, stderr); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// serveControl serves st's registry and operator tokens on the socket in
// data until the returned function is called.
func serveControl(data string, st central.Store, pub *statuspub.Publisher, env enginecmd.Env, logger *slog.Logger) (stop func(), err error) {
	path := filepath.Join(data, controlFile)
	// A socket left by a serve that died: this serve holds the store (the
	// bbolt lock), so no other one answers on it.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{Handler: &controlHandler{st: st, pub: pub, engineEnv: env, logger: logger}, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		srv.Close()
		<-done
		os.Remove(path)
	}, nil
}

// Paths of the control socket.
const (
	ctlEnrolTokens = "/enrol-tokens"
	ctlEnrolled    = "/enrolled"
	ctlRevoke      = "/revoke"
	ctlOpsTokens   = "/ops-tokens"
	ctlAudit       = "/audit"
)

type controlHandler struct {
	st  central.Store
	pub *statuspub.Publisher // status changes (status.go); nil: none
	// engineEnv runs the engine's commands (engine.go): serve's root,
	// the event path and the store's name; Store and Publisher are st
	// and pub.
	engineEnv enginecmd.Env
	logger    *slog.Logger
}

type ctlRevokeReq struct {
	Device string    `json:"device"`
	At     time.Time `json:"at"`
}

type ctlError struct {
	Error string `json:"error"`
	Is    string `json:"is,omitempty"`
}

// ctlErrors are the errors that cross the socket as themselves.
var ctlErrors = map[string]error{
	"registry": central.ErrRegistry, "unknown-device": central.ErrUnknownDevice,
	"ops-token": central.ErrOpsToken, "unknown-ops-token": central.ErrUnknownOpsToken,
	"status-invalid": statuspub.ErrInvalid, "no-publisher": errNoPublisher,
	"passage-not-found": enginecmd.ErrNotFound, "engine-invalid": enginecmd.ErrInvalid,
	"engine-input": central.ErrEngineInput, "no-fact": central.ErrNoFact, "deploy-conflict": enginecmd.ErrConflict,
	"engine-no-publisher": enginecmd.ErrNoPublisher, "engine-unknown": enginecmd.ErrUnknown,
}

func (h *controlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var (
		out any
		err error
	)
	decode := func(v any) error {
		return json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "POST " + ctlEnrolTokens:
		var t central.EnrolToken
		if err = decode(&t); err == nil {
			err = h.st.AddEnrolToken(ctx, t)
		}
	case "GET " + ctlEnrolled:
		out, err = h.st.Enrolled(ctx)
	case "POST " + ctlRevoke:
		var q ctlRevokeReq
		if err = decode(&q); err == nil {
			err = h.st.RevokeDevice(ctx, q.Device, q.At)
		}
	case "GET " + ctlOpsTokens:
		out, err = h.st.ListOpsTokens(ctx)
	case "PUT " + ctlOpsTokens:
		var t central.OpsToken
		if err = decode(&t); err == nil {
			err = h.st.PutOpsToken(ctx, t)
		}
	case "POST " + ctlAudit:
		var f central.AuditFilter
		if err = decode(&f); err == nil {
			out, err = h.st.Audit(ctx, f)
		}
	case "DELETE " + ctlOpsTokens:
		err = h.st.RemoveOpsToken(ctx, r.URL.Query().Get("name"))
	case "POST " + ctlStatus:
		var q ctlStatusReq
		if err = decode(&q); err == nil {
			out, err = h.status(ctx, q)
		}
	default:
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, ctlEngine) {
			http.NotFound(w, r)
			return
		}
		out, err = h.engine(ctx, r)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		e := ctlError{Error: err.Error()}
		for k, v := range ctlErrors {
			if errors.Is(err, v) {
				e.Is = k
			}
		}
		code := http.StatusUnprocessableEntity
		if e.Is == "" {
			code = http.StatusInternalServerError
			h.logger.Error("control socket", "path", r.URL.Path, "error", err)
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(e)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	json.NewEncoder(w).Encode(out)
}

// controlClient is a registryAdmin over serve's socket.
type controlClient struct {
	hc   *http.Client
	path string
}

// dialControl returns a client of the serve that answers on data's socket,
// or nil when none does.
func dialControl(data string) *controlClient {
	path := filepath.Join(data, controlFile)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil
	}
	conn.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &controlClient{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, path: path}
}

// remoteError is an error of serve's store: its text, and the error it
// is when it is one of ctlErrors.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }

func (c *controlClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://serve"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("the running serve on %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e ctlError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
			return fmt.Errorf("the running serve on %s answered %s", c.path, resp.Status)
		}
		return &remoteError{msg: e.Error, is: ctlErrors[e.Is]}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("the running serve on %s: %w", c.path, err)
	}
	return nil
}

func (c *controlClient) AddEnrolToken(ctx context.Context, t central.EnrolToken) error {
	return c.do(ctx, http.MethodPost, ctlEnrolTokens, t, nil)
}

func (c *controlClient) Enrolled(ctx context.Context) ([]central.EnrolledDevice, error) {
	var out []central.EnrolledDevice
	return out, c.do(ctx, http.MethodGet, ctlEnrolled, nil, &out)
}

func (c *controlClient) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	return c.do(ctx, http.MethodPost, ctlRevoke, ctlRevokeReq{Device: id, At: now}, nil)
}

func (c *controlClient) PutOpsToken(ctx context.Context, t central.OpsToken) error {
	return c.do(ctx, http.MethodPut, ctlOpsTokens, t, nil)
}

func (c *controlClient) RemoveOpsToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, ctlOpsTokens+"?name="+url.QueryEscape(name), nil, nil)
}

func (c *controlClient) ListOpsTokens(ctx context.Context) ([]central.OpsToken, error) {
	var out []central.OpsToken
	return out, c.do(ctx, http.MethodGet, ctlOpsTokens, nil, &out)
}

func (c *controlClient) Audit(ctx context.Context, f central.AuditFilter) ([]central.AuditEntry, error) {
	var out []central.AuditEntry
	return out, c.do(ctx, http.MethodPost, ctlAudit, f, &out)
}

func (c *controlClient) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
