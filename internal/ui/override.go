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
	minPIN, maxPIN  = 4, 12
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
// known lane-sized name, a PIN of 4 to 12 ASCII digits and a reason.
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

var errPINFormat = errors.New("a PIN is 4 to 12 digits")

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

	if !s.overrideMu.TryLock() {
		reply(http.StatusConflict, "override.busy", "busy")
		return
	}
	defer s.overrideMu.Unlock()
	if wait := s.lockedFor(); wait > 0 {
		s.lockedReply(w, lang, wait)
		return
	}
	err = s.opts.OnOverride(r.Context(), o)
	switch {
	case err == nil:
		s.pinSuccess()
		s.logger.Info("override recorded", "lane", o.Lane, "reason", o.Reason)
		reply(http.StatusOK, "override.ok", "")
	case errors.Is(err, ErrWrongPIN):
		s.logger.Warn("override refused: wrong PIN", "lane", o.Lane)
		if wait := s.pinFailure(); wait > 0 {
			s.lockedReply(w, lang, wait)
			return
		}
		reply(http.StatusForbidden, "override.wrongpin", "wrong-pin")
	case errors.Is(err, ErrLocked):
		s.lockedReply(w, lang, s.opts.PINLockout)
	case errors.Is(err, ErrNothingToOverride):
		reply(http.StatusConflict, "override.nothing", "nothing")
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
		Code: "locked", Message: trf(lang, "override.locked", strconv.Itoa(secs)), RetryAfter: secs,
	})
}

// lockedFor returns how long overrides stay locked, or 0.
func (s *Server) lockedFor() time.Duration {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if d := s.lockedTill.Sub(s.opts.Now()); d > 0 {
		return d
	}
	return 0
}

// pinFailure counts a wrong PIN and returns the lockout it starts, or 0.
func (s *Server) pinFailure() time.Duration {
	now := s.opts.Now()
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.failures = slices.DeleteFunc(s.failures, func(t time.Time) bool { return now.Sub(t) >= s.opts.PINWindow })
	s.failures = append(s.failures, now)
	if len(s.failures) < s.opts.MaxPINFailures {
		return 0
	}
	s.failures = s.failures[:0]
	s.lockedTill = now.Add(s.opts.PINLockout)
	return s.opts.PINLockout
}

// pinSuccess forgets earlier wrong PINs.
func (s *Server) pinSuccess() {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.failures = s.failures[:0]
}
