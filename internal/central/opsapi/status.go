package opsapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

// Paths of the status calls: the same changes as `sentinel-central status
// set|revoke|publish`, made and signed by the running server with its own
// signing key (serve --key), for a centre whose bbolt store the server
// holds.
const (
	StatusSetPath     = "/v1/ops/status/set"
	StatusRevokePath  = "/v1/ops/status/revoke"
	StatusPublishPath = "/v1/ops/status/publish"
)

// NoStatusMessage answers a status call on a server that publishes no
// status.
const NoStatusMessage = "this server has no signing key to publish status bundles with (serve runs without --key): change statuses with sentinel-central status --key on the centre"

// StatusSetRequest is the body of POST /v1/ops/status/set. Reason is the
// reason's name (docs/reasons.md); a zero Effective means now, a zero
// Until an open status.
type StatusSetRequest struct {
	Holder    string    `json:"holder"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note,omitempty"`
	Effective time.Time `json:"effective,omitzero"`
	Until     time.Time `json:"until,omitzero"`
}

// StatusRevokeRequest is the body of POST /v1/ops/status/revoke: EU DCC
// certificate identifiers and when their revocation lapses (zero:
// statuspub.DefaultRevocationLife from now).
type StatusRevokeRequest struct {
	DCC   []string  `json:"dcc"`
	Until time.Time `json:"until,omitzero"`
}

// StatusPublishRequest is the body of POST /v1/ops/status/publish.
type StatusPublishRequest struct{}

// StatusAnswer is the answer of the status calls: what was published.
type StatusAnswer struct {
	statuspub.Result
	TookMS float64 `json:"took_ms"`
}

// statusRoutes adds the status calls to the mux.
func (h *Handler) statusRoutes() {
	h.mux.Handle("POST "+StatusSetPath, h.auth(RoleOps, h.statusSet))
	h.mux.Handle("POST "+StatusRevokePath, h.auth(RoleOps, h.statusRevoke))
	h.mux.Handle("POST "+StatusPublishPath, h.auth(RoleOps, h.statusPublish))
}

// ParseStatusSet checks a status set request as `status set` checks its
// flags and returns the entry it asks for, or an error that names the
// field.
func ParseStatusSet(req StatusSetRequest) (central.StatusEntry, error) {
	if req.Holder == "" || req.Status == "" || req.Reason == "" {
		return central.StatusEntry{}, errors.New("holder, status and reason are required")
	}
	h, err := credential.ParseHolderID(req.Holder)
	if err != nil {
		return central.StatusEntry{}, fmt.Errorf("holder: %w", err)
	}
	st, err := status.ParseStatus(req.Status)
	if err != nil {
		return central.StatusEntry{}, fmt.Errorf("status %q: want green, yellow, red or withheld", req.Status)
	}
	reason, err := status.ParseReason(req.Reason)
	if err != nil {
		return central.StatusEntry{}, fmt.Errorf("reason: %w", err)
	}
	return central.StatusEntry{Holder: h, Status: st, Reason: byte(reason), Note: req.Note, Effective: req.Effective, Until: req.Until}, nil
}

func (h *Handler) statusSet(w http.ResponseWriter, r *http.Request, c Caller) {
	var req StatusSetRequest
	if err := decode(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	e, err := ParseStatusSet(req)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	e.Source = "ops:" + c.Name
	h.publishStatus(w, r, c, func(p *statuspub.Publisher) (statuspub.Result, error) { return p.SetStatus(r.Context(), e) })
}

func (h *Handler) statusRevoke(w http.ResponseWriter, r *http.Request, c Caller) {
	var req StatusRevokeRequest
	if err := decode(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.publishStatus(w, r, c, func(p *statuspub.Publisher) (statuspub.Result, error) {
		return p.Revoke(r.Context(), req.DCC, req.Until)
	})
}

func (h *Handler) statusPublish(w http.ResponseWriter, r *http.Request, c Caller) {
	var req StatusPublishRequest
	if err := decode(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.publishStatus(w, r, c, func(p *statuspub.Publisher) (statuspub.Result, error) {
		return p.PublishBase(r.Context(), "asked for by "+c.Name+" through the operator API")
	})
}

// publishStatus runs do on the server's publisher and answers what it
// published: 400 for a change refused before anything was recorded, 500
// when publishing failed (nothing of the change is kept).
func (h *Handler) publishStatus(w http.ResponseWriter, r *http.Request, c Caller, do func(*statuspub.Publisher) (statuspub.Result, error)) {
	if h.opts.Status == nil {
		httpError(w, http.StatusNotImplemented, NoStatusMessage)
		return
	}
	res, err := do(h.opts.Status)
	switch {
	case errors.Is(err, statuspub.ErrInvalid):
		httpError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		h.opts.Logger.Error("status change not published; nothing of it was kept", "operator", c.Name, "path", r.URL.Path, "error", err)
		httpError(w, http.StatusInternalServerError, "not published, nothing recorded: "+err.Error())
		return
	}
	h.opts.Logger.Info("status published", "operator", c.Name, "path", r.URL.Path, "kind", res.Bundle.Kind, "version", res.Bundle.Version, "why", res.Why)
	writeJSON(w, StatusAnswer{Result: res, TookMS: float64(res.Took) / float64(time.Millisecond)})
}
