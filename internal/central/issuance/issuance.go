package issuance

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

// Path is where the handler expects to be mounted.
const Path = "/v1/issue"

// MaxRequest bounds a request body.
const MaxRequest = 8 << 10

// Errors of New.
var (
	// ErrNoIssuers: the handler was given no issuer.
	ErrNoIssuers = errors.New("issuance: no issuer configured")
	// ErrToken: a token is empty or names an issuer the handler lacks.
	ErrToken = errors.New("issuance: invalid token")
)

// Statuses is the centre's record of status entries: the status part of
// the central store (central.StatusStore) is one.
type Statuses interface {
	StatusOf(ctx context.Context, h credential.Holder) (central.StatusEntry, bool, error)
}

var _ Statuses = central.StatusStore(nil)

// Token lets the backend holding Secret issue codes for Issuer.
type Token struct {
	Name   string // who holds it, for the log
	Secret string
	Issuer string
}

// Options configure a Handler.
type Options struct {
	// Issuers sign codes, one per region id.
	Issuers []*healthcode.Issuer
	// Tokens are the issuer tokens the handler accepts.
	Tokens []Token
	// Statuses gives the holder's colour; required.
	Statuses Statuses
	// Now is the clock for lapses and issue times (time.Now when nil); it
	// must match the Issuers' clocks.
	Now func() time.Time
	// Logger logs each issue without personal data (discarded when nil).
	Logger *slog.Logger
}

type token struct {
	name, issuer string
	hash         [sha256.Size]byte
}

// Handler serves Path.
type Handler struct {
	issuers  map[string]*healthcode.Issuer
	tokens   []token
	statuses Statuses
	now      func() time.Time
	log      *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if len(opts.Issuers) == 0 {
		return nil, ErrNoIssuers
	}
	if opts.Statuses == nil {
		return nil, errors.New("issuance: no status record: Options.Statuses is required")
	}
	h := &Handler{issuers: map[string]*healthcode.Issuer{}, statuses: opts.Statuses, now: opts.Now, log: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, is := range opts.Issuers {
		h.issuers[is.ID()] = is
	}
	for _, t := range opts.Tokens {
		if len(t.Secret) < 16 {
			return nil, fmt.Errorf("%w: token %q is shorter than 16 characters", ErrToken, t.Name)
		}
		if h.issuers[t.Issuer] == nil {
			return nil, fmt.Errorf("%w: token %q names issuer %q, which has no key here", ErrToken, t.Name, t.Issuer)
		}
		h.tokens = append(h.tokens, token{name: t.Name, issuer: t.Issuer, hash: sha256.Sum256([]byte(t.Secret))})
	}
	return h, nil
}

// Request is the body of an issue request.
type Request struct {
	Index       uint32 `json:"index"`
	DisplayName string `json:"display_name,omitempty"`
	// HolderKey is the holder's public key, base64 of its PKIX (X.509
	// SubjectPublicKeyInfo) DER form, Ed25519 or P-256: a phone code.
	// Empty makes a paper code.
	HolderKey string `json:"holder_key,omitempty"`
	// TTL is the code's lifetime as a Go duration ("24h"); empty means
	// healthcode.DefaultTTL.
	TTL string `json:"ttl,omitempty"`
}

// Response is the body of a successful issue.
type Response struct {
	Code        string            `json:"code"`
	Issuer      string            `json:"issuer"`
	Index       uint32            `json:"index"`
	Colour      credential.Colour `json:"colour"`
	ColourSince time.Time         `json:"colour_since"`
	IssuedAt    time.Time         `json:"issued_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	Paper       bool              `json:"paper"`
}

type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, who, err := h.serve(w, r)
	if err != nil {
		code := http.StatusInternalServerError
		msg := "internal error"
		var he *httpError
		if errors.As(err, &he) {
			code, msg = he.code, he.msg
		} else {
			h.log.Error("issue", "error", err)
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sentinel-issuance"`)
		}
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	h.log.Info("issued", "token", who, "issuer", resp.Issuer, "colour", resp.Colour.String(), "paper", resp.Paper)
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// authorize returns the token the request carries.
func (h *Handler) authorize(r *http.Request) (token, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		return token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	var found token
	match := 0
	for _, t := range h.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			found, match = t, 1
		}
	}
	return found, match == 1
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (Response, string, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return Response{}, "", fail(http.StatusMethodNotAllowed, "use POST")
	}
	tok, ok := h.authorize(r)
	if !ok {
		return Response{}, "", fail(http.StatusUnauthorized, "an issuer token is required: Authorization: Bearer TOKEN")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Response{}, tok.name, fail(http.StatusRequestEntityTooLarge, "request over %d bytes", MaxRequest)
		}
		return Response{}, tok.name, fail(http.StatusBadRequest, "read request: %v", err)
	}
	var req Request
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Response{}, tok.name, fail(http.StatusBadRequest, "request: %v", err)
	}
	c := healthcode.Claims{Index: req.Index, DisplayName: req.DisplayName}
	if req.TTL != "" {
		if c.TTL, err = time.ParseDuration(req.TTL); err != nil || c.TTL <= 0 {
			return Response{}, tok.name, fail(http.StatusBadRequest, "ttl %q: want a duration such as 24h", req.TTL)
		}
	}
	if req.HolderKey != "" {
		if c.HolderKey, err = parseHolderKey(req.HolderKey); err != nil {
			return Response{}, tok.name, fail(http.StatusBadRequest, "holder_key: %v", err)
		}
	}
	holder := credential.Holder{Kind: credential.HolderNative, Issuer: tok.issuer, Index: req.Index}
	now := h.now()
	c.IssuedAt = now
	c.Colour, c.ColourSince = credential.ColourGreen, time.Time{}
	rec, ok, err := h.statuses.StatusOf(r.Context(), holder)
	if err != nil {
		return Response{}, tok.name, fmt.Errorf("issue: status of %s: %w", holder, err)
	}
	if ok && (rec.Until.IsZero() || rec.Until.After(now)) && !rec.Effective.After(now) {
		if rec.Status == status.Withheld {
			return Response{}, tok.name, fail(http.StatusForbidden, "the holder's code is withheld")
		}
		c.Colour, c.ColourSince = rec.Status.Colour(), rec.Effective
	}
	code, err := h.issuers[tok.issuer].Issue(c)
	if err != nil {
		if errors.Is(err, healthcode.ErrClaims) {
			return Response{}, tok.name, fail(http.StatusBadRequest, "%v", err)
		}
		return Response{}, tok.name, err
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = healthcode.DefaultTTL
	}
	since := c.ColourSince
	if since.IsZero() {
		since = now
	}
	return Response{Code: code, Issuer: tok.issuer, Index: req.Index, Colour: c.Colour, ColourSince: since.UTC().Truncate(time.Second),
		IssuedAt: now.UTC().Truncate(time.Second), ExpiresAt: now.Add(ttl).UTC().Truncate(time.Second), Paper: c.HolderKey == nil}, tok.name, nil
}

func parseHolderKey(s string) (crypto.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("want base64 of a PKIX public key: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("want an Ed25519 or P-256 public key: %w", err)
	}
	return k, nil
}
