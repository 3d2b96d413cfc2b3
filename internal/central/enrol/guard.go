package enrol

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	syncenrol "sentinel/sync/enrol"
)

// revokedLogEvery bounds how often a revoked device's refusals are logged.
const revokedLogEvery = 10 * time.Minute

// Guard refuses every request of a revoked device, so that a revocation
// takes effect on connections opened before it: 403 with the code
// device-revoked in the body and in the RefusalHeader, which the terminal
// reads and shows its guard, and "Connection: close", so that the
// connection ends after the answer. rev is asked at each request
// (Revocations reads the registry, which `devices revoke` changes). Requests that name no device pass on to next, which
// refuses them.
type Guard struct {
	Rev     RevocationChecker
	Next    http.Handler
	Now     func() time.Time // time.Now when nil
	Logger  *slog.Logger     // slog.Default when nil
	Contact string           // whom a revoked terminal's guard should call; may be empty

	mu   sync.Mutex
	last map[string]time.Time // when a device's refusal was last logged
}

var _ http.Handler = (*Guard)(nil)

// ServeHTTP implements http.Handler.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := RequestDevice(r)
	if !ok {
		g.Next.ServeHTTP(w, r)
		return
	}
	revoked, err := g.Rev.CheckRevoked(id)
	if err != nil {
		// Not "revoked": the terminal would take itself out of service.
		g.logger().Error("cannot tell whether a device is revoked: refused for now", "device", id, "error", err)
		w.Header().Set("Retry-After", "30")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(syncenrol.Refusal{Code: "unavailable", Message: "the centre cannot read its device registry now: try again later"})
		return
	}
	if !revoked {
		g.Next.ServeHTTP(w, r)
		return
	}
	g.log(id, r)
	msg := fmt.Sprintf("this terminal (%s) was removed from service by the central office", id)
	if g.Contact != "" {
		msg += ": call " + g.Contact
	}
	h := w.Header()
	h.Set(syncenrol.RefusalHeader, syncenrol.CodeRevoked)
	h.Set("Connection", "close")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(syncenrol.Refusal{Code: syncenrol.CodeRevoked, Message: msg})
}

// log logs a revoked device's refusal once per device per revokedLogEvery:
// a revoked terminal keeps asking, slowly.
func (g *Guard) log(id string, r *http.Request) {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	g.mu.Lock()
	if g.last == nil || len(g.last) >= 1024 {
		g.last = map[string]time.Time{} // many revoked devices: start counting again
	}
	t, seen := g.last[id]
	logIt := !seen || now.Sub(t) >= revokedLogEvery
	if logIt {
		g.last[id] = now
	}
	g.mu.Unlock()
	if !logIt {
		return
	}
	g.logger().Warn("refused a revoked device", "device", id, "path", r.URL.Path, "repeats_suppressed_for", revokedLogEvery)
}

// RequestDevice returns the device its verified client certificate names.
func RequestDevice(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", false
	}
	return syncenrol.DeviceID(r.TLS.VerifiedChains[0][0])
}

func (g *Guard) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}
