package enrol

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"time"
)

// Paths the centre serves: enrolment on its enrolment listener, renewal
// behind mutual TLS on its device listener.
const (
	Path      = "/v1/enrol"
	RenewPath = "/v1/renew"
)

// MaxRequest bounds an enrolment or renewal request's body: a token and a
// CSR take well under 4 KiB.
const MaxRequest = 16 << 10

// Files of a terminal's identity in its data directory.
const (
	RootFile    = "trust/root.pub"
	KeyFile     = "device/key.pem"
	CertFile    = "device/cert.pem"
	CAFile      = "device/ca.pem"
	RevokedFile = "device/revoked.json"
	BundlesDir  = "bundles"
	// PendingKeyFile is the key pair of an enrolment not answered yet,
	// kept (0600) until the answer is installed, so that a retry after a
	// lost answer sends the same key and the centre answers it again. It
	// is outside device/, which holds only a complete identity.
	PendingKeyFile = "enrol-key.pem"
)

// DeviceURIPrefix starts the URI SAN that names a device in its
// certificate; sync/server.TLSAuthenticator reads the same.
const DeviceURIPrefix = "sentinel:device:"

// Request is what a terminal POSTs (JSON) to enrol.
type Request struct {
	Token string `json:"token"`
	CSR   []byte `json:"csr"` // PKCS #10, DER (base64 in JSON)
	// Root is the key id of the operator root the terminal pinned before
	// enrolment (empty: none). The centre refuses a request whose root is
	// not its own before it spends the token.
	Root string `json:"root,omitempty"`
}

// Response is the centre's answer (JSON) to a successful enrolment.
type Response struct {
	Device  string            `json:"device"`
	Site    string            `json:"site"`
	Cert    []byte            `json:"cert"`    // the device certificate, PEM
	CA      []byte            `json:"ca"`      // the device CA, PEM
	Root    []byte            `json:"root"`    // the operator root public key, PEM
	Bundles map[string][]byte `json:"bundles"` // kind → bundle file
	Time    time.Time         `json:"time"`    // the centre's clock
	// Central is the URL of the centre's device listener, where the
	// terminal syncs (its central.url); empty when the centre does not
	// say.
	Central string `json:"central,omitempty"`
}

// Refusal is the JSON body of every refused enrolment or renewal.
type Refusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Codes of a Refusal.
const (
	CodeMalformed    = "malformed"
	CodeTooLarge     = "too-large"
	CodeTokenUnknown = "token-unknown"
	CodeTokenUsed    = "token-used"
	CodeTokenExpired = "token-expired"
	CodeRootMismatch = "root-mismatch"
	CodeRevoked      = "device-revoked"
	CodeIdentity     = "identity"
	CodeInternal     = "internal"
	CodeMethod       = "method"
)

// RenewRequest is what a terminal POSTs (JSON) over mutual TLS to renew
// its certificate: a CSR signed with its current key.
type RenewRequest struct {
	CSR []byte `json:"csr"` // PKCS #10, DER
}

// RenewResponse carries the new certificate.
type RenewResponse struct {
	Cert []byte `json:"cert"` // PEM
}

// Errors of the terminal's side.
var (
	// ErrRootMismatch: the centre's operator root differs from the one
	// the terminal pinned already.
	ErrRootMismatch = errors.New("enrol: operator root differs from the pinned one")
	// ErrAnswer: the centre's answer does not hold together (wrong key,
	// not signed by the CA, not a client certificate).
	ErrAnswer = errors.New("enrol: invalid answer from the centre")
)

// DeviceID returns the device id a certificate names in its
// "sentinel:device:" URI SAN.
func DeviceID(c *x509.Certificate) (string, bool) {
	for _, u := range c.URIs {
		if s := u.String(); strings.HasPrefix(s, DeviceURIPrefix) && len(s) > len(DeviceURIPrefix) {
			return s[len(DeviceURIPrefix):], true
		}
	}
	return "", false
}

// ParseCertificatePEM parses the first CERTIFICATE block of data.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

// RefusalHeader names, on a refusal of the centre's device listener, the
// refusal's code: the terminal reads it whatever the call (upload,
// download, health, renewal). CodeRevoked there means that ops revoked
// this terminal.
const RefusalHeader = "Sentinel-Refusal"
