package enrol

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
	syncenrol "sentinel/sync/enrol"
)

// Files of the device CA in the centre's data directory.
const (
	CACertFile = "enrol/ca.pem"
	CAKeyFile  = "enrol/ca.key" // 0600
)

// DeviceURIPrefix starts the URI SAN that names a device in its
// certificate.
const DeviceURIPrefix = syncenrol.DeviceURIPrefix

// DefaultCertTTL is the lifetime of a device certificate.
const DefaultCertTTL = 30 * 24 * time.Hour

// caTTL is the lifetime of a new device CA.
const caTTL = 10 * 365 * 24 * time.Hour

// CA is the centre's device certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed P-256 device CA valid from now for ten years.
func NewCA(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enrol: new CA: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Sentinel"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("enrol: new CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("enrol: new CA: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads the device CA from the centre's data directory dir; when
// create is set and there is none, it makes one and stores it (the key
// 0600).
func LoadCA(dir string, create bool, now time.Time) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) && create {
		ca, err := NewCA("Sentinel device CA", now)
		if err != nil {
			return nil, err
		}
		keyPEM, err := trust.MarshalSigningKey(ca.Key)
		if err != nil {
			return nil, fmt.Errorf("enrol: store CA: %w", err)
		}
		if err := atomicfile.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("enrol: store CA key: %w", err)
		}
		if err := atomicfile.WriteFile(certPath, ca.PEM(), 0o644); err != nil {
			return nil, fmt.Errorf("enrol: store CA certificate: %w", err)
		}
		return ca, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enrol: load CA: %w (check --data)", err)
	}
	cert, err := syncenrol.ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("enrol: load CA %s: %w", certPath, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("enrol: load CA key: %w", err)
	}
	key, err := trust.ParseSigningKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("enrol: load CA key %s: %w", keyPath, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// PEM returns the CA certificate as PEM.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool returns a pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueDevice signs a client certificate for device id with pub, valid
// from now for ttl (DefaultCertTTL when 0).
func (ca *CA) IssueDevice(id string, pub crypto.PublicKey, now time.Time, ttl time.Duration) (*x509.Certificate, error) {
	if ttl <= 0 {
		ttl = DefaultCertTTL
	}
	u, err := url.Parse(DeviceURIPrefix + id)
	if err != nil {
		return nil, fmt.Errorf("enrol: issue device certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: id, Organization: []string{"Sentinel terminal"}},
		URIs:         []*url.URL{u},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.sign(tmpl, pub)
}

// IssueServer signs a server certificate for the centre's host names and
// addresses, so terminals verify the centre against device/ca.pem. The
// chain it returns holds the CA too: a terminal enrolling with a ticket
// finds the CA by the ticket's fingerprint.
func (ca *CA) IssueServer(hosts []string, now time.Time, ttl time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: strings.Join(hosts, ",")},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, err := ca.sign(tmpl, key.Public())
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw, ca.Cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("enrol: sign certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}
