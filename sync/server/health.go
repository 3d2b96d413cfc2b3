package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"sentinel/internal/keyrate"
	"sentinel/sync/protocol"
)

// HealthStore keeps the latest health report of each device.
type HealthStore interface {
	// PutHealth replaces the device's report; receivedAt is the centre's
	// clock when the report arrived.
	PutHealth(ctx context.Context, device string, report *protocol.Health, receivedAt time.Time) error
}

// HealthOptions configure a HealthHandler.
type HealthOptions struct {
	Store HealthStore   // required
	Auth  Authenticator // required
	// Rate and Burst are a token bucket per device (DefaultRate,
	// DefaultBurst when 0), as for uploads.
	Rate  float64
	Burst int
	// Timeout bounds one store (DefaultTimeout when 0).
	Timeout time.Duration
	// Now is the centre's clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger // slog.Default when nil
	// Observe, when set, is given each report stored, with the centre's
	// clock when it arrived, for the centre's metrics.
	Observe func(rep *protocol.Health, received time.Time)
}

// HealthHandler serves POST protocol.HealthPath(v) for every served
// version: it stores the latest report of the authenticated device.
type HealthHandler struct {
	opts HealthOptions
	mux  *http.ServeMux

	limit *keyrate.Limiter
}

var _ http.Handler = (*HealthHandler)(nil)

// NewHealth returns a HealthHandler.
func NewHealth(opts HealthOptions) (*HealthHandler, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("server: new health: Store and Auth are required")
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &HealthHandler{opts: opts, mux: http.NewServeMux(), limit: keyrate.New(rate.Limit(opts.Rate), opts.Burst)}
	for v := protocol.MinVersion; v <= protocol.Version; v++ {
		h.mux.HandleFunc("POST "+protocol.HealthPath(v), func(w http.ResponseWriter, r *http.Request) { h.health(w, r, v) })
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *HealthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *HealthHandler) health(w http.ResponseWriter, r *http.Request, version int) {
	received := h.opts.Now()
	device, err := h.opts.Auth.Device(r)
	if err != nil {
		refuse(w, http.StatusUnauthorized, protocol.CodeIdentity, "the terminal is not identified: enrol it and use its client certificate")
		return
	}
	if wait := h.limit.Take(device, received); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		refuse(w, http.StatusTooManyRequests, protocol.CodeRate, "too many health reports from this terminal: wait for Retry-After")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxHealth))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			refuse(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, fmt.Sprintf("health report larger than %d bytes", protocol.MaxHealth))
			return
		}
		refuse(w, http.StatusBadRequest, protocol.CodeMalformed, "request body could not be read: "+err.Error())
		return
	}
	rep, err := protocol.DecodeHealth(body)
	switch {
	case errors.Is(err, protocol.ErrVersion):
		refuse(w, http.StatusBadRequest, protocol.CodeVersion, err.Error())
		return
	case errors.Is(err, protocol.ErrTooLarge):
		refuse(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, err.Error())
		return
	case err != nil:
		refuse(w, http.StatusBadRequest, protocol.CodeMalformed, err.Error()+": nothing was stored")
		return
	}
	if rep.Version != version {
		refuse(w, http.StatusBadRequest, protocol.CodeVersion, fmt.Sprintf("body of version %d sent to the path of version %d", rep.Version, version))
		return
	}
	if rep.Device != device {
		refuse(w, http.StatusForbidden, protocol.CodeIdentity, fmt.Sprintf("report names device %q but the certificate is %q: nothing was stored", rep.Device, device))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	if err := h.opts.Store.PutHealth(ctx, device, rep, received); err != nil {
		if r.Context().Err() == nil {
			h.opts.Logger.Error("sync: store health", "device", device, "err", err)
		}
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusServiceUnavailable, protocol.CodeUnavailable, "the centre cannot store the report now: the terminal retries")
		return
	}
	if h.opts.Observe != nil {
		h.opts.Observe(rep, received)
	}
	answer(w, http.StatusOK, &protocol.Response{Version: version})
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	answer(w, status, &protocol.Response{Code: code, Message: msg})
}

func answer(w http.ResponseWriter, status int, r *protocol.Response) {
	b, err := protocol.EncodeResponse(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", protocol.ResponseType)
	w.WriteHeader(status)
	w.Write(b)
}
