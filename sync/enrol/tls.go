package enrol

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

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

// fingerprintError: no certificate the centre presented has the CA
// fingerprint of the ticket.
type fingerprintError struct {
	want [32]byte
	got  [][32]byte
}

func (e *fingerprintError) Error() string {
	got := "none"
	if len(e.got) > 0 {
		got = hex.EncodeToString(e.got[len(e.got)-1][:])
	}
	return fmt.Sprintf("the centre's CA has fingerprint %s, the ticket names %s", got, hex.EncodeToString(e.want[:]))
}

// EnrolTLSConfig is the TLS of the enrolment request. With caPEM (from
// --ca) the centre's certificate must chain to it. Otherwise, when the
// ticket is compact, the centre must present its device CA, whose SHA-256
// the ticket names (trust on first use by fingerprint), and its
// certificate must chain to that CA for the host dialled. With neither,
// the system's roots decide.
func EnrolTLSConfig(t Ticket, caPEM []byte) (*tls.Config, error) {
	// The centre's enrolment listener is TLS 1.3 only.
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if caPEM != nil {
		ca, err := ParseCertificatePEM(caPEM)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		if t.Compact() && Fingerprint(ca.Raw) != t.CA {
			return nil, fmt.Errorf("%w: the CA of --ca has fingerprint %s, the ticket names %s: leave out --ca, or ask ops which centre is right",
				ErrUntrusted, hex.EncodeToString(fingerprintOf(ca)), hex.EncodeToString(t.CA[:]))
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		cfg.RootCAs = pool
		return cfg, nil
	}
	if !t.Compact() {
		return cfg, nil
	}
	want := t.CA
	// The chain is checked below against the CA the fingerprint names,
	// not against the system's roots.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the centre presented no certificate")
		}
		var ca *x509.Certificate
		var got [][32]byte
		for _, c := range cs.PeerCertificates {
			f := Fingerprint(c.Raw)
			got = append(got, f)
			if f == want {
				ca = c
			}
		}
		if ca == nil {
			return &fingerprintError{want: want, got: got}
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: cs.ServerName})
		return err
	}
	return cfg, nil
}

func fingerprintOf(c *x509.Certificate) []byte {
	f := Fingerprint(c.Raw)
	return f[:]
}
