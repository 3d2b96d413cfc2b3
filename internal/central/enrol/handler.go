package enrol

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"sentinel/crypto/trust"
	syncenrol "sentinel/sync/enrol"
)

// Path is where the Handler serves enrolment.
const Path = syncenrol.Path

// MaxRequest bounds an enrolment request's body.
const MaxRequest = syncenrol.MaxRequest

// DecodeRequest decodes and checks a request body: strict JSON with
// exactly the two fields, a token of the right shape, and a CSR whose
// signature holds with a P-256 or Ed25519 key. It returns the parsed CSR.
func DecodeRequest(body []byte) (*syncenrol.Request, *x509.CertificateRequest, error) {
	if len(body) > MaxRequest {
		return nil, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req syncenrol.Request
	if err := dec.Decode(&req); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: data after the request", ErrMalformed)
	}
	if t, err := tokenEncoding.DecodeString(syncenrol.NormToken(req.Token)); err != nil || len(t) != 16 {
		return nil, nil, fmt.Errorf("%w: the token is not 26 letters and digits: check it was typed or scanned whole", ErrMalformed)
	}
	if len(req.Root) > 128 || strings.ContainsFunc(req.Root, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return nil, nil, fmt.Errorf("%w: the pinned root's key id is not printable ASCII of at most 128 bytes", ErrMalformed)
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: certificate request: %v", ErrMalformed, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("%w: certificate request signature: %v", ErrMalformed, err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().Name != "P-256" {
			return nil, nil, fmt.Errorf("%w: certificate request key: want P-256 or Ed25519", ErrMalformed)
		}
	case ed25519.PublicKey:
	default:
		return nil, nil, fmt.Errorf("%w: certificate request key %T: want P-256 or Ed25519", ErrMalformed, k)
	}
	return &req, csr, nil
}

// BundleSource returns the current bundle files by kind; nil means none.
type BundleSource func() (map[trust.Kind][]byte, error)

// Handler serves POST Path: a token and a CSR in, a device certificate
// and the terminal's first trust out.
type Handler struct {
	CA      *CA
	Store   Store
	Root    crypto.PublicKey // the operator root
	Bundles BundleSource     // may be nil: no bundles yet
	CertTTL time.Duration    // DefaultCertTTL when 0
	Now     func() time.Time // time.Now when nil
	Logger  *slog.Logger     // slog.Default when nil
	// Central is the URL of the device listener, which the answer names
	// (the terminal's central.url); may be empty. Set before serving.
	Central string
}

var _ http.Handler = (*Handler)(nil)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(w, http.StatusMethodNotAllowed, "method", "enrolment takes POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			refuse(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("enrolment request larger than %d bytes", MaxRequest))
			return
		}
		refuse(w, http.StatusBadRequest, "malformed", "enrolment request could not be read")
		return
	}
	resp, err := h.EnrolContext(r.Context(), body)
	if err != nil {
		status, code := http.StatusBadRequest, "malformed"
		switch {
		case errors.Is(err, ErrTooLarge):
			status, code = http.StatusRequestEntityTooLarge, "too-large"
		case errors.Is(err, ErrTokenUnknown):
			status, code = http.StatusForbidden, "token-unknown"
		case errors.Is(err, ErrTokenUsed):
			status, code = http.StatusForbidden, "token-used"
		case errors.Is(err, ErrTokenExpired):
			status, code = http.StatusForbidden, "token-expired"
		case errors.Is(err, ErrRootMismatch):
			status, code = http.StatusConflict, syncenrol.CodeRootMismatch
		case errors.Is(err, ErrMalformed):
		default:
			h.logger().Error("enrolment failed", "error", err)
			refuse(w, http.StatusInternalServerError, "internal", "the centre could not enrol the terminal now: try again later")
			return
		}
		refuse(w, status, code, err.Error()+tokenHint(code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func tokenHint(code string) string {
	switch code {
	case "token-unknown", "token-used", "token-expired":
		return ": ask ops for a new token ('sentinel-central devices add --site SITE')"
	}
	return ""
}

// refuse answers a refusal; its code is in the body and in the
// RefusalHeader, which the server's metrics count by.
func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set(syncenrol.RefusalHeader, code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(syncenrol.Refusal{Code: code, Message: msg})
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Enrol handles one request body (EnrolContext without a deadline).
func (h *Handler) Enrol(body []byte) (*syncenrol.Response, error) {
	return h.EnrolContext(context.Background(), body)
}

// EnrolContext handles one request body. Nothing is issued or stored
// unless the request decodes, its CSR verifies and its token redeems.
func (h *Handler) EnrolContext(ctx context.Context, body []byte) (*syncenrol.Response, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now()
	req, csr, err := DecodeRequest(body)
	if err != nil {
		return nil, err
	}
	rootPEM, err := trust.MarshalPublicKey(h.Root)
	if err != nil {
		return nil, fmt.Errorf("enrol: operator root: %w", err)
	}
	// A terminal that pinned another root would refuse the answer: say
	// so before the token is spent and a device registered.
	if id := syncenrol.KeyID(h.Root); req.Root != "" && req.Root != id {
		h.logger().Warn("enrolment refused: the terminal pinned another operator root; token not spent", "terminal_root", req.Root, "centre_root", id)
		return nil, fmt.Errorf("%w: this terminal pinned root %s, this centre's root is %s; the token was not used: pin the right root (--root FILE) or enrol with the centre of root %s",
			ErrRootMismatch, req.Root, id, req.Root)
	}
	var bundles map[string][]byte
	if h.Bundles != nil {
		bs, err := h.Bundles()
		if err != nil {
			return nil, fmt.Errorf("enrol: bundles: %w", err)
		}
		bundles = make(map[string][]byte, len(bs))
		for k, b := range bs {
			bundles[string(k)] = b
		}
	}
	// The certificate is signed first and leaves only with the answer:
	// spending the token and recording the device is then one
	// transaction, so a failure leaves the token for the terminal's retry
	// and no device without a terminal.
	th := HashToken(req.Token)
	id, err := deviceID(th, csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate request key: %v", ErrMalformed, err)
	}
	cert, err := h.CA.IssueDevice(id, csr.PublicKey, t, h.CertTTL)
	if err != nil {
		return nil, err
	}
	d, err := h.Store.EnrolDevice(ctx, th,
		Device{ID: id, Enrolled: t.UTC(), Serial: cert.SerialNumber.Text(16), NotAfter: cert.NotAfter.UTC()}, t)
	if errors.Is(err, ErrTokenUsed) {
		d, err = h.again(ctx, th, id, cert, t, err)
	}
	if err != nil {
		return nil, err
	}
	h.logger().Info("terminal enrolled", "device", id, "site", d.Site, "not_after", cert.NotAfter)
	return &syncenrol.Response{
		Device:  id,
		Site:    d.Site,
		Cert:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		CA:      h.CA.PEM(),
		Root:    rootPEM,
		Bundles: bundles,
		Time:    t.UTC(),
		Central: h.Central,
	}, nil
}

// deviceID names the terminal that enrols with the token of hash th and
// the public key pub: "t-" and the first 16 hex digits of SHA-256(th ‖
// SPKI). The token is random and spent once, so ids do not repeat; a
// retry of one request (same token, same key) names the same device,
// which is how again knows it, and another key with the same token names
// another device.
func deviceID(th TokenHash, pub crypto.PublicKey) (string, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(th[:], spki...))
	return "t-" + hex.EncodeToString(sum[:8]), nil
}

// again answers a retry of an enrolment whose answer was lost on the
// way (the installer's network dropped it, and they ran the enrolment
// again): the token th is spent (used is EnrolDevice's refusal), but by
// device id, the very device this request names, so by the same key.
// While the token is still valid and the device not revoked, the answer
// is given again with cert, a new certificate for the same id and key,
// recorded as a renewal. Any other spent token stays refused with used.
func (h *Handler) again(ctx context.Context, th TokenHash, id string, cert *x509.Certificate, now time.Time, used error) (Device, error) {
	toks, err := h.Store.EnrolTokens(ctx)
	if err != nil {
		return Device{}, fmt.Errorf("enrol: retry of device %s: %w", id, err)
	}
	i := slices.IndexFunc(toks, func(t Token) bool { return t.Hash == th })
	if i < 0 || toks[i].Device != id {
		return Device{}, fmt.Errorf("%w by another terminal (another key pair)", used)
	}
	if !now.Before(toks[i].Expires) {
		return Device{}, fmt.Errorf("%w by this terminal, whose answer was lost, and the token expired at %s", used, toks[i].Expires.Format(time.RFC3339))
	}
	d, ok, err := h.Store.EnrolledDevice(ctx, id)
	if err != nil {
		return Device{}, fmt.Errorf("enrol: retry of device %s: %w", id, err)
	}
	if !ok || !d.Revoked.IsZero() {
		return Device{}, fmt.Errorf("%w by device %s, which is revoked", used, id)
	}
	if err := h.Store.Renewed(ctx, id, cert.SerialNumber.Text(16), cert.NotAfter.UTC()); err != nil {
		return Device{}, fmt.Errorf("enrol: retry of device %s: %w", id, err)
	}
	h.logger().Info("enrolment answered again: the terminal retried with the same token and key after losing the answer", "device", id, "site", d.Site)
	return d, nil
}
