package enrol

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files of a terminal's identity in its data directory.
const (
	RootFile   = "trust/root.pub"
	KeyFile    = "device/key.pem"
	CertFile   = "device/cert.pem"
	CAFile     = "device/ca.pem"
	BundlesDir = "bundles"
)

// ServerTLSConfig is the centre's TLS for device calls: TLS 1.3 only, a
// client certificate signed by the device CA required, and a device that
// rev names revoked refused at the handshake. server is the centre's own
// certificate (CA.IssueServer makes one terminals verify with
// device/ca.pem).
func ServerTLSConfig(ca *CA, server tls.Certificate, rev Revocations) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			return checkPeer(cs, rev)
		},
	}
}

// checkPeer refuses a connection whose verified client certificate names
// no device, or a revoked one.
func checkPeer(cs tls.ConnectionState, rev Revocations) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("enrol: no verified client certificate: enrol the terminal first")
	}
	leaf := cs.VerifiedChains[0][0]
	id, ok := DeviceID(leaf)
	if !ok {
		return errors.New("enrol: client certificate names no device")
	}
	if rev != nil && rev.Revoked(id) {
		return fmt.Errorf("%w: %s", ErrRevoked, id)
	}
	return nil
}

// ClientTLSConfig is a terminal's TLS for calls to the centre, from the
// identity enrolment wrote into dataDir: its key and certificate, and the
// device CA as the only root for the centre's certificate.
func ClientTLSConfig(dataDir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dataDir, CertFile), filepath.Join(dataDir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("enrol: client identity: %w (is the terminal enrolled? run 'sentinelctl enrol')", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dataDir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("enrol: client identity: %w (is the terminal enrolled? run 'sentinelctl enrol')", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("enrol: client identity: %s holds no certificate: enrol again", filepath.Join(dataDir, CAFile))
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}, nil
}
