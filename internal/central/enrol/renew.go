package enrol

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
)

// RenewPath is where the RenewHandler serves renewal, behind mutual TLS.
const RenewPath = "/v1/renew"

// RenewRequest is what a terminal POSTs (JSON) over mutual TLS to renew
// its certificate: a CSR signed with its current key.
type RenewRequest struct {
	CSR []byte `json:"csr"` // PKCS #10, DER
}

// RenewResponse carries the new certificate.
type RenewResponse struct {
	Cert []byte `json:"cert"` // PEM
}

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
	id, ok := DeviceID(leaf)
	if !ok {
		refuse(w, http.StatusUnauthorized, "identity", "the client certificate names no device")
		return
	}
	if h.Store.Revoked(id) {
		refuse(w, http.StatusForbidden, "revoked", "this terminal is revoked")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("renewal request larger than %d bytes", MaxRequest))
		return
	}
	var req RenewRequest
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
		err = h.Store.Renewed(id, cert.SerialNumber.Text(16), cert.NotAfter)
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
	json.NewEncoder(w).Encode(RenewResponse{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})})
}

// RenewDue says whether the certificate in dataDir should be renewed at
// now: when less than a third of its lifetime remains. It also returns
// the certificate's expiry.
func RenewDue(dataDir string, now time.Time) (bool, time.Time, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, CertFile))
	if err != nil {
		return false, time.Time{}, fmt.Errorf("enrol: renew due: %w", err)
	}
	c, err := ParseCertificatePEM(data)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("enrol: renew due: %w", err)
	}
	left := c.NotAfter.Sub(now)
	return left < c.NotAfter.Sub(c.NotBefore)/3, c.NotAfter, nil
}

// Renew renews the terminal's certificate in dataDir over mutual TLS with
// the centre at base, for the same key, and replaces cert.pem atomically.
// It returns the new expiry.
func Renew(ctx context.Context, dataDir, base string) (time.Time, error) {
	cfg, err := ClientTLSConfig(dataDir)
	if err != nil {
		return time.Time{}, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dataDir, KeyFile))
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: %w", err)
	}
	key, err := trust.ParseSigningKey(keyPEM)
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: key: %w", err)
	}
	old := cfg.Certificates[0].Leaf
	oldID, _ := DeviceID(old)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: oldID}}, key)
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: %w", err)
	}
	body, _ := json.Marshal(RenewRequest{CSR: csrDER})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+RenewPath, bytes.NewReader(body))
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(hr)
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var r Refusal
		json.Unmarshal(data, &r)
		return time.Time{}, &RefusedError{Status: resp.StatusCode, Refusal: r}
	}
	var out RenewResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrAnswer, err)
	}
	cert, err := ParseCertificatePEM(out.Cert)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: certificate: %v", ErrAnswer, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, CurrentTime: cert.NotBefore.Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return time.Time{}, fmt.Errorf("%w: certificate: %v", ErrAnswer, err)
	}
	if id, _ := DeviceID(cert); id != oldID || !sameKey(cert.PublicKey, key.Public()) {
		return time.Time{}, fmt.Errorf("%w: the new certificate is not for this terminal", ErrAnswer)
	}
	if !cert.NotAfter.After(old.NotAfter) {
		return time.Time{}, errors.New("enrol: renew: the new certificate expires no later than the old one")
	}
	if err := atomicfile.WriteFile(filepath.Join(dataDir, CertFile), out.Cert, 0o644); err != nil {
		return time.Time{}, fmt.Errorf("enrol: renew: write certificate: %w", err)
	}
	return cert.NotAfter, nil
}
