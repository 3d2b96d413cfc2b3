package enrol

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	syncenrol "sentinel/sync/enrol"
)

// RenewPath is where the RenewHandler serves renewal, behind mutual TLS.
const RenewPath = syncenrol.RenewPath

// RenewHandler serves POST RenewPath behind ServerTLSConfig: the device
// named by the verified client certificate gets a new certificate for the
// same key and the same id. A CSR for another key is refused: the key
// stays on the terminal, and cert.pem alone is replaced, atomically.
type RenewHandler struct {
	CA      *CA
	Store   Store
	CertTTL time.Duration    // DefaultCertTTL when 0
	Now     func() time.Time // time.Now when nil
	Logger  *slog.Logger     // slog.Default when nil
}

var _ http.Handler = (*RenewHandler)(nil)

// ServeHTTP implements http.Handler.
func (h *RenewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		refuse(w, http.StatusMethodNotAllowed, "method", "renewal takes POST")
		return
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		refuse(w, http.StatusUnauthorized, "identity", "renewal needs the terminal's client certificate")
		return
	}
	leaf := r.TLS.VerifiedChains[0][0]
	id, ok := syncenrol.DeviceID(leaf)
	if !ok {
		refuse(w, http.StatusUnauthorized, "identity", "the client certificate names no device")
		return
	}
	if (Revocations{Registry: h.Store}).Revoked(id) {
		w.Header().Set(syncenrol.RefusalHeader, syncenrol.CodeRevoked)
		refuse(w, http.StatusForbidden, syncenrol.CodeRevoked, "this terminal was removed from service by the central office")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("renewal request larger than %d bytes", MaxRequest))
		return
	}
	var req syncenrol.RenewRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		refuse(w, http.StatusBadRequest, "malformed", "renewal request: "+err.Error())
		return
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err == nil {
		err = csr.CheckSignature()
	}
	if err != nil {
		refuse(w, http.StatusBadRequest, "malformed", "certificate request: "+err.Error())
		return
	}
	if !sameKey(leaf.PublicKey, csr.PublicKey) {
		refuse(w, http.StatusBadRequest, "malformed", "the certificate request is not for the key of the client certificate")
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	cert, err := h.CA.IssueDevice(id, csr.PublicKey, now(), h.CertTTL)
	if err == nil {
		err = h.Store.Renewed(r.Context(), id, cert.SerialNumber.Text(16), cert.NotAfter)
	}
	logger := h.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err != nil {
		logger.Error("renewal failed", "device", id, "error", err)
		refuse(w, http.StatusInternalServerError, "internal", "the centre could not renew the certificate now: try again later")
		return
	}
	logger.Info("certificate renewed", "device", id, "not_after", cert.NotAfter)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(syncenrol.RenewResponse{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})})
}

func sameKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}
