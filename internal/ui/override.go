package ui

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Limits on an override request, which comes from outside bytes.
const (
	maxOverrideBody = 1 << 10
	minPIN, maxPIN  = 6, 12 // as the gate: gate.MinPINLength, gate.MaxPINLength
	maxLaneName     = 64
)

// tokenHeader carries the page's CSRF token.
const tokenHeader = "X-Sentinel-Token"

// overrideRequest is the page's POST /override body.
type overrideRequest struct {
	Lane   string `json:"lane"`
	PIN    string `json:"pin"`
	Reason string `json:"reason"`
}

// overrideResponse is the answer: ok, or a code and a sentence in the
// page's language.
type overrideResponse struct {
	OK         bool   `json:"ok"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, when locked
}

// errBadRequest marks a request that is not a well-formed override.
var errBadRequest = errors.New("ui: bad override request")

// decodeOverride parses and checks an override body: a JSON object with a
// known lane-sized name, a PIN of 6 to 12 ASCII digits and a reason.
func decodeOverride(r io.Reader) (Override, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxOverrideBody+1))
	dec.DisallowUnknownFields()
	var req overrideRequest
	if err := dec.Decode(&req); err != nil {
		return Override{}, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	if dec.More() {
		return Override{}, fmt.Errorf("%w: trailing data", errBadRequest)
	}
	if req.Lane == "" || len(req.Lane) > maxLaneName {
		return Override{}, fmt.Errorf("%w: lane name of %d bytes", errBadRequest, len(req.Lane))
	}
	if !validPIN(req.PIN) {
		return Override{}, fmt.Errorf("%w: %w", errBadRequest, errPINFormat)
	}
	if req.Reason == "" || len(req.Reason) > maxLaneName {
		return Override{}, fmt.Errorf("%w: %w", errBadRequest, ErrOverrideReason)
	}
	return Override(req), nil
}

var errPINFormat = errors.New("a PIN is 6 to 12 digits")

func validPIN(p string) bool {
	if len(p) < minPIN || len(p) > maxPIN {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) serveOverride(w http.ResponseWriter, r *http.Request) {
	lang, _ := s.pageLang(r)
	reply := func(code int, key, c string) {
		writeJSON(w, code, overrideResponse{OK: code == http.StatusOK, Code: c, Message: tr(lang, key)})
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(tokenHeader)), []byte(s.token)) != 1 {
		http.Error(w, "ui: override without the page's token: reload the page", http.StatusForbidden)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "ui: override must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	if s.opts.OnOverride == nil {
		reply(http.StatusNotImplemented, "override.unavailable", "unavailable")
		return
	}
	o, err := decodeOverride(r.Body)
	switch {
	case errors.Is(err, errPINFormat):
		reply(http.StatusBadRequest, "override.badpin", "bad-pin")
		return
	case errors.Is(err, ErrOverrideReason):
		reply(http.StatusBadRequest, "override.noreason", "bad-reason")
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !slices.Contains(s.opts.OverrideReasons, o.Reason) {
		reply(http.StatusBadRequest, "override.badreason", "bad-reason")
		return
	}

	// One override at a time, so that wrong PINs are counted in order.
	if !s.overrideMu.TryLock() {
		reply(http.StatusConflict, "override.busy", "busy")
		return
	}
	defer s.overrideMu.Unlock()
	err = s.opts.OnOverride(r.Context(), o)
	var retry interface{ RetryAfter() time.Duration }
	switch {
	case err == nil:
		s.logger.Info("override recorded", "lane", o.Lane, "reason", o.Reason)
		reply(http.StatusOK, "override.ok", "")
	case errors.Is(err, ErrWrongPIN):
		s.logger.Warn("override refused: wrong PIN", "lane", o.Lane)
		reply(http.StatusForbidden, "override.wrongpin", "wrong-pin")
	case errors.Is(err, ErrNoGuards):
		s.logger.Warn("override refused: no guard PINs on this terminal", "lane", o.Lane)
		reply(http.StatusConflict, "override.noguards", "no-guards")
	case errors.Is(err, ErrLocked):
		// The gate counts wrong PINs and keeps the lockout across
		// restarts; it says how long to wait.
		wait := DefaultPINLockout
		if errors.As(err, &retry) && retry.RetryAfter() > 0 {
			wait = retry.RetryAfter()
		}
		s.logger.Warn("override refused: locked after wrong PINs", "lane", o.Lane, "wait", wait)
		s.lockedReply(w, lang, wait)
	case errors.Is(err, ErrNothingToOverride):
		reply(http.StatusConflict, "override.nothing", "nothing")
	case errors.Is(err, ErrNotOverridable):
		reply(http.StatusConflict, "override.notgenuine", "not-overridable")
	case errors.Is(err, ErrEmergencyOnly):
		reply(http.StatusConflict, "override.emergencyonly", "emergency-only")
	case errors.Is(err, ErrOverrideReason):
		reply(http.StatusBadRequest, "override.badreason", "bad-reason")
	case errors.Is(err, ErrUnknownLane):
		s.logger.Warn("override refused: no such lane", "lane", o.Lane)
		reply(http.StatusNotFound, "override.nolane", "unknown-lane")
	default:
		s.logger.Error("override not recorded", "lane", o.Lane, "error", err)
		reply(http.StatusInternalServerError, "override.failed", "failed")
	}
}

func (s *Server) lockedReply(w http.ResponseWriter, lang string, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, overrideResponse{
		Code: "locked", Message: trf(lang, "override.locked", waitWords(lang, wait)), RetryAfter: secs,
	})
}

// waitWords says a wait in seconds, minutes or hours.
func waitWords(lang string, d time.Duration) string {
	d = (d + time.Second - 1).Truncate(time.Second)
	var n int
	var unit string
	switch {
	case d <= 2*time.Minute:
		n, unit = int(d/time.Second), "s"
	case d <= 2*time.Hour:
		n, unit = int((d+time.Minute-1)/time.Minute), "min"
	default:
		n, unit = int((d+time.Hour-1)/time.Hour), "h"
	}
	if lang == LangZH {
		return strconv.Itoa(n) + map[string]string{"s": " 秒", "min": " 分钟", "h": " 小时"}[unit]
	}
	return strconv.Itoa(n) + " " + unit
}
