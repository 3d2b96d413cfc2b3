package opsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/fleet"
	"sentinel/internal/central/metrics"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/statuspub"
)

// Paths of the operator API.
const (
	DevicesPath = "/v1/ops/devices"
	ExportPath  = "/v1/ops/export"
	TracePath   = "/v1/ops/trace"
	BackupPath  = "/v1/admin/backup"
)

// MaxBody bounds a request body.
const MaxBody = 64 << 10

// NoBackupMessage answers a backup request on a store without Backup.
const NoBackupMessage = "this centre stores passages in PostgreSQL: use pg_dump, see docs/scaling.md"

// Store is what the handler reads: the passages and the fleet.
type Store interface {
	Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error]
	Devices(ctx context.Context) ([]central.Device, error)
}

var _ Store = central.Store(nil)

// BackupFunc writes a consistent copy of the store to w and returns the
// bytes written; boltstore.(*Store).Backup is one.
type BackupFunc func(ctx context.Context, w io.Writer) (int64, error)

// Options configure a Handler.
type Options struct {
	Tokens TokenSource  // required: a fixed *Tokens, or StoreTokens
	Store  Store        // required
	Audit  ops.AuditLog // required: the store's
	// StoreName is recorded in the audit log: a file, or "postgres".
	StoreName string
	// Backup copies the store; nil answers 501 (PostgreSQL: pg_dump).
	Backup BackupFunc
	// Status publishes the status calls (status.go) with serve's signing
	// key; nil (no key) answers 501.
	Status *statuspub.Publisher
	// Engine runs the code engine's calls (engine.go); nil answers 501.
	// Its Audit is replaced by the handler's.
	Engine *enginecmd.Env
	// SpoolDir holds export spools (os.TempDir when empty).
	SpoolDir string
	// Now is the clock of audit entries (time.Now when nil).
	Now func() time.Time
	// Logger gets refusals and failures (discarded when nil).
	Logger *slog.Logger
	// Metrics counts the calls by role and outcome and the audit
	// writes; nil counts nothing. The server's (server.Config.Metrics).
	Metrics *metrics.Metrics
}

// Handler serves the operator API.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// New checks opts and returns the Handler.
func New(opts Options) (*Handler, error) {
	switch {
	case opts.Tokens == nil:
		return nil, errors.New("opsapi: no tokens")
	case opts.Store == nil:
		return nil, errors.New("opsapi: no store")
	case opts.Audit == nil:
		return nil, errors.New("opsapi: no audit log")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics != nil {
		opts.Audit = countedAudit{opts.Audit, opts.Metrics}
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.mux.Handle("GET "+DevicesPath, h.auth(RoleOps, h.devices))
	h.mux.Handle("POST "+ExportPath, h.auth(RoleOps, h.export))
	h.mux.Handle("POST "+TracePath, h.auth(RoleOps, h.trace))
	h.mux.Handle("GET "+BackupPath, h.auth(RoleAdmin, h.backup))
	h.statusRoutes()
	h.engineRoutes()
	page, assets := pageHandler()
	h.mux.Handle("GET "+PagePath+"{$}", page)
	h.mux.Handle("GET "+AssetsPath, assets)
	return h, nil
}

// ServeHTTP routes r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type handlerFunc func(w http.ResponseWriter, r *http.Request, c Caller)

// auth refuses a request without the role's token before fn reads
// anything, and counts the call by the caller's role and its outcome.
func (h *Handler) auth(role Role, fn handlerFunc) http.Handler {
	return h.authLimit(role, MaxBody, fn)
}

// authLimit is auth with a request body of at most limit bytes.
func (h *Handler) authLimit(role Role, limit int64, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w0 http.ResponseWriter, r *http.Request) {
		w := &metrics.StatusRecorder{ResponseWriter: w0}
		var c Caller
		defer func() { h.opts.Metrics.OpsCall(string(c.Role), w.Code()) }()
		tokens, err := h.opts.Tokens.CurrentTokens(r.Context())
		if err != nil {
			h.opts.Logger.Error("reading the role tokens", "error", err)
			httpError(w, http.StatusServiceUnavailable, "the centre cannot read its role tokens now: try again later")
			return
		}
		c, err = tokens.Authenticate(r, role)
		switch {
		case errors.Is(err, ErrRole):
			h.opts.Logger.Warn("refused: wrong role", "path", r.URL.Path, "caller", c.Name, "error", err)
			httpError(w, http.StatusForbidden, err.Error())
			return
		case err != nil:
			c = Caller{}
			h.opts.Logger.Warn("refused: no valid token", "path", r.URL.Path, "remote", r.RemoteAddr, "error", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="sentinel-central"`)
			httpError(w, http.StatusUnauthorized, err.Error())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		fn(w, r, c)
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// DeviceOut is one terminal in the fleet answer.
type DeviceOut struct {
	ID       string         `json:"id"`
	LastSeen time.Time      `json:"last_seen,omitzero"`
	Marks    []central.Mark `json:"marks"`
	// Forks are the places where the terminal ran on a restored or
	// cloned copy of its data, oldest first.
	Forks []fleet.Fork `json:"forks"`
	// Health is the terminal's latest health report; null when it never
	// reported or the store keeps none.
	Health *fleet.Health `json:"health"`
	// HealthError says why a stored report could not be shown.
	HealthError string `json:"health_error,omitempty"`
}

func (h *Handler) devices(w http.ResponseWriter, r *http.Request, _ Caller) {
	ds, err := h.opts.Store.Devices(r.Context())
	if err != nil {
		h.opts.Logger.Error("devices", "error", err)
		httpError(w, http.StatusInternalServerError, "reading the fleet: "+err.Error())
		return
	}
	hs, _ := h.opts.Store.(central.HealthStore)
	now := h.opts.Now()
	out := make([]DeviceOut, 0, len(ds))
	for _, d := range ds {
		o := DeviceOut{ID: d.ID, LastSeen: d.LastSeen, Marks: d.Marks, Forks: fleet.Forks(d.Forks)}
		if hs != nil {
			rep, ok, err := hs.Health(r.Context(), d.ID)
			if ok && err == nil {
				o.Health, err = fleet.View(rep, now)
			}
			if err != nil {
				o.HealthError = err.Error()
			}
		}
		out = append(out, o)
	}
	writeJSON(w, map[string]any{"devices": out})
}

// ExportRequest is the body of POST /v1/ops/export.
type ExportRequest struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Site    string    `json:"site,omitempty"`
	Device  string    `json:"device,omitempty"`
	Format  string    `json:"format"`
	Purpose string    `json:"purpose"`
}

// TraceRequest is the body of POST /v1/ops/trace. Window is a Go
// duration such as "30m".
type TraceRequest struct {
	Holder  string    `json:"holder"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Window  string    `json:"window"`
	Purpose string    `json:"purpose"`
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("request body over %d bytes", MaxBody)
		}
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: more than one JSON value")
	}
	return nil
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request, c Caller) {
	var req ExportRequest
	if err := decode(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	format, err := ops.ParseFormat(req.Format)
	switch {
	case err != nil:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want csv or jsonl", req.Format))
		return
	case req.From.IsZero() || req.To.IsZero():
		httpError(w, http.StatusBadRequest, "from and to are required (RFC 3339)")
		return
	case !req.To.After(req.From):
		httpError(w, http.StatusBadRequest, "to is not after from")
		return
	case req.Purpose == "":
		httpError(w, http.StatusBadRequest, ops.ErrNoPurpose.Error())
		return
	}
	ctx := r.Context()
	spool, err := os.CreateTemp(h.opts.SpoolDir, ".sentinel-export-*")
	if err != nil {
		h.opts.Logger.Error("export spool", "error", err)
		httpError(w, http.StatusInternalServerError, "export spool: "+err.Error())
		return
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	filter := central.Filter{From: req.From, To: req.To, Site: req.Site, Device: req.Device}
	n, err := ops.Export(ctx, h.opts.Store, filter, format, spool)
	if err != nil {
		h.opts.Logger.Error("export", "error", err)
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	entry := ops.Entry{
		Time: h.opts.Now().UTC(), Operator: c.Name, Action: ops.ActionExport, Purpose: req.Purpose,
		Query: ops.Query{From: req.From, To: req.To, Site: req.Site, Device: req.Device},
		Store: h.opts.StoreName, Format: string(format), Rows: n,
	}
	if err := h.opts.Audit.AppendAudit(ctx, entry); err != nil {
		h.opts.Logger.Error("export not audited: refused", "error", err)
		httpError(w, http.StatusInternalServerError, "the audit log cannot be written: nothing exported")
		return
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		httpError(w, http.StatusInternalServerError, "export spool: "+err.Error())
		return
	}
	if format == ops.CSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/jsonl")
	}
	w.Header().Set("X-Sentinel-Rows", fmt.Sprint(n))
	if _, err := io.Copy(w, spool); err != nil {
		h.opts.Logger.Warn("export cut off", "operator", c.Name, "error", err)
	}
}

func (h *Handler) trace(w http.ResponseWriter, r *http.Request, c Caller) {
	var req TraceRequest
	if err := decode(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	window, err := time.ParseDuration(req.Window)
	holder, herr := credential.ParseHolderID(req.Holder)
	switch {
	case herr != nil:
		httpError(w, http.StatusBadRequest, "holder: "+herr.Error())
		return
	case err != nil || window < 0:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("window %q: want a duration such as 30m", req.Window))
		return
	case req.From.IsZero() || req.To.IsZero() || !req.To.After(req.From):
		httpError(w, http.StatusBadRequest, "from and to are required (RFC 3339), to after from")
		return
	case req.Purpose == "":
		httpError(w, http.StatusBadRequest, ops.ErrNoPurpose.Error())
		return
	}
	ctx := r.Context()
	res, err := ops.Trace(ctx, h.opts.Store, ops.TraceQuery{Holder: holder.String(), From: req.From, To: req.To, Window: window})
	if err != nil {
		h.opts.Logger.Error("trace", "error", err)
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	entry := ops.Entry{
		Time: h.opts.Now().UTC(), Operator: c.Name, Action: ops.ActionTrace, Purpose: req.Purpose,
		Query: ops.Query{From: req.From, To: req.To, Holder: holder.String(), Window: window},
		Store: h.opts.StoreName, Rows: res.Rows(),
	}
	if err := h.opts.Audit.AppendAudit(ctx, entry); err != nil {
		h.opts.Logger.Error("trace not audited: refused", "error", err)
		httpError(w, http.StatusInternalServerError, "the audit log cannot be written: no trace given")
		return
	}
	writeJSON(w, res)
}

func (h *Handler) backup(w http.ResponseWriter, r *http.Request, c Caller) {
	if h.opts.Backup == nil {
		httpError(w, http.StatusNotImplemented, NoBackupMessage)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="central.db"`)
	n, err := h.opts.Backup(r.Context(), w)
	if err != nil {
		h.opts.Logger.Error("backup cut off", "admin", c.Name, "bytes", n, "error", err)
		panic(http.ErrAbortHandler) // the client must not take a truncated copy for a whole one
	}
	h.opts.Logger.Info("backup served", "admin", c.Name, "bytes", n)
}

// countedAudit counts the audit log's writes.
type countedAudit struct {
	ops.AuditLog
	m *metrics.Metrics
}

func (a countedAudit) AppendAudit(ctx context.Context, e central.AuditEntry) error {
	err := a.AuditLog.AppendAudit(ctx, e)
	a.m.AuditWrite(err)
	return err
}
