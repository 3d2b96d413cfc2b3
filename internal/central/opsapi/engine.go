package opsapi

import (
	"errors"
	"io"
	"net/http"

	"sentinel/internal/central"
	"sentinel/internal/central/enginecmd"
)

// EnginePrefix is the prefix of the code engine's calls: POST
// /v1/ops/areas/set runs `sentinel-central areas set`, and so on for each
// command of enginecmd.Commands, with its request as the JSON body.
const EnginePrefix = "/v1/ops/"

// engineRoutes adds a route of the ops role for each engine command.
func (h *Handler) engineRoutes() {
	for _, cm := range enginecmd.Commands() {
		limit := cm.MaxBody
		if limit == 0 {
			limit = MaxBody
		}
		h.mux.Handle("POST "+EnginePrefix+cm.Name, h.authLimit(RoleOps, limit, func(w http.ResponseWriter, r *http.Request, c Caller) {
			h.engine(w, r, c, cm)
		}))
	}
}

// engine runs cm for c, the token's name standing as the operator: a
// change is recorded in the engine's audit as "ops:NAME", a look-up of
// holders in the audit log under NAME.
func (h *Handler) engine(w http.ResponseWriter, r *http.Request, c Caller, cm enginecmd.Command) {
	if h.opts.Engine == nil {
		httpError(w, http.StatusNotImplemented, NoEngineMessage)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, "request body over the limit of "+cm.Name+": split it into several calls")
			return
		}
		httpError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	env := *h.opts.Engine
	env.Audit = h.opts.Audit
	out, err := enginecmd.Run(r.Context(), &env, enginecmd.Caller{Name: c.Name}, cm.Name, raw)
	if err != nil {
		code := EngineErrorStatus(err)
		if code == http.StatusInternalServerError {
			h.opts.Logger.Error("engine call failed", "operator", c.Name, "path", r.URL.Path, "error", err)
		} else {
			h.opts.Logger.Info("engine call refused", "operator", c.Name, "path", r.URL.Path, "error", err)
		}
		httpError(w, code, err.Error())
		return
	}
	if cm.Change {
		h.opts.Logger.Info("engine data changed", "operator", c.Name, "path", r.URL.Path)
	}
	writeJSON(w, out)
}

// NoEngineMessage answers an engine call on a handler without the engine.
const NoEngineMessage = "this server does not run the code engine's commands"

// EngineErrorStatus is the HTTP status of an engine command's error: 400
// for a request refused as it stands (the CLI's exit 1 with the same
// words), 404 for a passage or whitelist entry not found or a passage
// whose holder was not opened at ingest, 409 for a rule set signed as a
// number taken meanwhile or a passage reference several holders share,
// 501 for a sweep without a publisher, 500 otherwise.
func EngineErrorStatus(err error) int {
	switch {
	case errors.Is(err, enginecmd.ErrInvalid), errors.Is(err, central.ErrEngineInput), errors.Is(err, enginecmd.ErrUnknown):
		return http.StatusBadRequest
	case errors.Is(err, enginecmd.ErrNotFound), errors.Is(err, central.ErrNoFact), errors.Is(err, enginecmd.ErrNotOpened):
		return http.StatusNotFound
	case errors.Is(err, enginecmd.ErrConflict), errors.Is(err, enginecmd.ErrAmbiguous):
		return http.StatusConflict
	case errors.Is(err, enginecmd.ErrNoPublisher):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
