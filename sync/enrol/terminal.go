package enrol

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
)

// maxAnswer bounds the centre's answer on the terminal: the first bundles
// include the status base.
const maxAnswer = 256 << 20

// NewRequest makes the terminal's P-256 key pair and a Request with its
// CSR for token (a plain token or a ticket's text). Set Request.Root to
// the pinned root's key id (KeyID) when there is one.
func NewRequest(token string) (*Request, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("enrol: key pair: %w", err)
	}
	return newRequest(token, key)
}

// pendingRequest is NewRequest with the key pair of dataDir's
// PendingKeyFile: the one an earlier attempt made and sent, if its answer
// never arrived, or a new one, written there before it is sent. The
// centre answers the same token and key again (a retry after a lost
// answer); another key would find the token spent. A pending key that
// cannot be read or written (damaged, another owner) only costs that
// retry: the enrolment goes on with a new key.
func pendingRequest(dataDir, token string) (*Request, crypto.Signer, error) {
	path := filepath.Join(dataDir, PendingKeyFile)
	if data, err := os.ReadFile(path); err == nil {
		if key, err := trust.ParseSigningKey(data); err == nil {
			if _, ok := key.(*ecdsa.PrivateKey); ok {
				return newRequest(token, key)
			}
		}
	}
	req, key, err := NewRequest(token)
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err := trust.MarshalSigningKey(key); err == nil && os.MkdirAll(dataDir, 0o700) == nil {
		atomicfile.WriteFile(path, keyPEM, 0o600)
	}
	return req, key, nil
}

func newRequest(token string, key crypto.Signer) (*Request, crypto.Signer, error) {
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "sentinel terminal"},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("enrol: certificate request: %w", err)
	}
	if t, err := ParseTicket(token); err == nil {
		token = t.Token
	}
	return &Request{Token: NormToken(token), CSR: csr}, key, nil
}

// RefusedError is the centre's refusal of an enrolment: retrying the same
// request will not help.
type RefusedError struct {
	Status int
	Refusal
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused by the centre (%d %s): %s", e.Status, e.Code, e.Message)
}

// UnavailableError is a failure that may pass on a retry: the network or
// the centre is down or busy.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Errors of Post that name what the installer must change; retrying does
// not help.
var (
	// ErrDevicePort: the address is the centre's device listener, which
	// wants a client certificate, not its enrolment listener.
	ErrDevicePort = errors.New("this is the centre's device port (mutual TLS), not its enrolment port")
	// ErrUntrusted: the centre's TLS certificate is not from the CA the
	// ticket's fingerprint or --ca names.
	ErrUntrusted = errors.New("the centre's certificate is not trusted")
	// ErrNotEnrolment: something answers at the address, but not the
	// centre's enrolment.
	ErrNotEnrolment = errors.New("no enrolment at this address")
)

// Post sends req to the centre at base (its URL; Path is appended) once.
// It returns a *RefusedError when the centre said no, an
// *UnavailableError when the network or the centre is down or busy (the
// only case worth a retry), and otherwise an error matching
// ErrDevicePort, ErrUntrusted or ErrNotEnrolment that says which flag to
// change.
func Post(ctx context.Context, client *http.Client, base string, req *Request) (*Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	base = strings.TrimSuffix(base, "/")
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+Path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v (check --central)", ErrNotEnrolment, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		return nil, classify(base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &UnavailableError{fmt.Errorf("reading the centre's answer: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		var r Refusal
		if json.Unmarshal(data, &r) != nil || r.Message == "" || r.Code == "" {
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
				return nil, fmt.Errorf("%w: %s answered %d to %s: give the enrolment address ('sentinel-central serve' prints it as \"listening enrol\", port 8444 unless --enrol-listen moved it), or use the ticket from 'sentinel-central devices add'",
					ErrNotEnrolment, base, resp.StatusCode, Path)
			}
			r = Refusal{Code: "http", Message: strings.TrimSpace(string(data))}
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &UnavailableError{fmt.Errorf("centre unavailable (%d): %s", resp.StatusCode, r.Message)}
		}
		return nil, &RefusedError{Status: resp.StatusCode, Refusal: r}
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAnswer, err)
	}
	return &out, nil
}

// classify turns a failed request into an error that says what to change,
// or an *UnavailableError when only waiting can help.
func classify(base string, err error) error {
	var (
		op       *net.OpError
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		record   tls.RecordHeaderError
		fpr      *fingerprintError
	)
	switch {
	case errors.As(err, &fpr):
		return fmt.Errorf("%w: %v: the ticket is for another centre, or something on the network intercepts; ask ops for a new ticket ('sentinel-central devices add')", ErrUntrusted, fpr)
	case errors.As(err, &op) && op.Op == "remote error" && !strings.Contains(op.Err.Error(), "certificate"):
		return fmt.Errorf("%w: %s refused the TLS connection (%v): check --central, or use the ticket from 'sentinel-central devices add'", ErrNotEnrolment, base, op.Err)
	case errors.As(err, &op) && op.Op == "remote error":
		// The centre's device listener asks every client for its
		// certificate and refuses one without ("tls: certificate
		// required").
		return fmt.Errorf("%w: %s refused the connection (%v): enrolment is on the enrolment port ('sentinel-central serve' prints it as \"listening enrol\", 8444 unless --enrol-listen moved it): use the ticket from 'sentinel-central devices add', or --central https://HOST:8444",
			ErrDevicePort, base, op.Err)
	case errors.As(err, &hostname):
		return fmt.Errorf("%w: %v: use the host name the centre's certificate names (sentinel-central serve --hosts)", ErrUntrusted, hostname)
	case errors.As(err, &verify), errors.As(err, &unknown):
		return fmt.Errorf("%w: %v: use the ticket from 'sentinel-central devices add' (it carries the CA's fingerprint), or give the centre's device CA with --ca FILE (the centre's DATA/enrol/ca.pem)", ErrUntrusted, err)
	case errors.As(err, &record):
		return fmt.Errorf("%w: %s does not speak TLS: check the port of --central", ErrNotEnrolment, base)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w: %s speaks plain HTTP: check the port of --central", ErrNotEnrolment, base)
	}
	return &UnavailableError{err}
}

// Installed says what Install wrote.
type Installed struct {
	Central  string // the device listener's URL, as the centre said
	Device   string
	Site     string
	NotAfter time.Time
	Root     string // key id of the pinned root
	Pinned   bool   // the root was pinned before enrolment
	Bundles  []string
}

// Install checks the centre's answer against the terminal's key and the
// root pinned already in dataDir (or pinned, when not nil), then writes the
// root, the key, the certificates and the bundles, each atomically. Nothing
// is written when a check fails.
func Install(dataDir string, key crypto.Signer, resp *Response, pinned crypto.PublicKey) (*Installed, error) {
	cert, err := ParseCertificatePEM(resp.Cert)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrAnswer, err)
	}
	ca, err := ParseCertificatePEM(resp.CA)
	if err != nil {
		return nil, fmt.Errorf("%w: CA: %v", ErrAnswer, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrAnswer, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := cert.PublicKey.(equaler); !ok || !pk.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: the certificate is not for this terminal's key", ErrAnswer)
	}
	if id, ok := DeviceID(cert); !ok || id != resp.Device {
		return nil, fmt.Errorf("%w: the certificate names device %q, the answer %q", ErrAnswer, id, resp.Device)
	}
	root, err := trust.ParsePublicKey(resp.Root)
	if err != nil {
		return nil, fmt.Errorf("%w: operator root: %v", ErrAnswer, err)
	}
	rootPath := filepath.Join(dataDir, RootFile)
	onDisk, err := os.ReadFile(rootPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("enrol: pinned root: %w", err)
	default:
		k, err := trust.ParsePublicKey(onDisk)
		if err != nil {
			return nil, fmt.Errorf("enrol: pinned root %s: %w", rootPath, err)
		}
		if pinned != nil && !sameKey(k, pinned) {
			return nil, fmt.Errorf("%w: %s and --root differ: check which root this terminal's package carries", ErrRootMismatch, rootPath)
		}
		pinned = k
	}
	in := &Installed{Device: resp.Device, Site: resp.Site, NotAfter: cert.NotAfter, Pinned: pinned != nil, Central: resp.Central}
	if pinned != nil && !sameKey(root, pinned) {
		return nil, fmt.Errorf("%w: the centre sent root %s, this terminal pinned %s: ask ops which root is right; nothing was written",
			ErrRootMismatch, keyID(root), keyID(pinned))
	}
	in.Root = keyID(root)
	// The bundles must verify against the root, at the centre's clock (a
	// terminal may boot at 1970).
	at := resp.Time
	if at.IsZero() {
		at = time.Now()
	}
	files := map[string][]byte{}
	for kind, data := range resp.Bundles {
		k := trust.Kind(kind)
		if !k.Valid() {
			return nil, fmt.Errorf("%w: unknown bundle kind %q", ErrAnswer, kind)
		}
		if _, _, err := trust.OpenBundle(data, root, at, trust.State{}); err != nil {
			return nil, fmt.Errorf("%w: %s bundle: %v", ErrAnswer, kind, err)
		}
		files[filepath.Join(BundlesDir, kind+".bundle")] = data
		in.Bundles = append(in.Bundles, kind)
	}
	sort.Strings(in.Bundles)
	keyPEM, err := trust.MarshalSigningKey(key)
	if err != nil {
		return nil, err
	}
	rootPEM, err := trust.MarshalPublicKey(root)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dataDir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("enrol: write key: %w", err)
	}
	files[CAFile] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	files[RootFile] = rootPEM
	for name, data := range files {
		if err := atomicfile.WriteFile(filepath.Join(dataDir, name), data, 0o644); err != nil {
			return nil, fmt.Errorf("enrol: write %s: %w", name, err)
		}
	}
	// The certificate last: a running sentineld takes its appearance as
	// the sign that the identity is complete.
	if err := atomicfile.WriteFile(filepath.Join(dataDir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return nil, fmt.Errorf("enrol: write %s: %w", CertFile, err)
	}
	// A new identity is not revoked, and the key pending is installed.
	for _, name := range []string{RevokedFile, PendingKeyFile} {
		if err := os.Remove(filepath.Join(dataDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("enrol: %w", err)
		}
	}
	return in, nil
}

func sameKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}

// KeyID returns the key id of an operator root's public key, as Request.Root
// names it; "?" when the key is not one.
func KeyID(k crypto.PublicKey) string { return keyID(k) }

// PinnedRoot returns the operator root this terminal pins before
// enrolment: given (from --root), the one in dataDir's RootFile, or nil
// when there is neither. Both must agree.
func PinnedRoot(dataDir string, given crypto.PublicKey) (crypto.PublicKey, error) {
	rootPath := filepath.Join(dataDir, RootFile)
	onDisk, err := os.ReadFile(rootPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return given, nil
	case err != nil:
		return nil, fmt.Errorf("pinned root: %w", err)
	}
	k, err := trust.ParsePublicKey(onDisk)
	if err != nil {
		return nil, fmt.Errorf("pinned root %s: %w", rootPath, err)
	}
	if given != nil && !sameKey(k, given) {
		return nil, fmt.Errorf("%w: %s (%s) and --root (%s) differ: check which root this terminal's package carries", ErrRootMismatch, rootPath, keyID(k), keyID(given))
	}
	return k, nil
}

func keyID(k crypto.PublicKey) string {
	id, err := trust.KeyIDOfPublic(k)
	if err != nil {
		return "?"
	}
	return id.String()
}
