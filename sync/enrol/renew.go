package enrol

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
)

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
