package trust

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// PEM block type and headers of a native issuer key file: a standard
// "PUBLIC KEY" block (SubjectPublicKeyInfo) whose headers bind it to an
// issuer and, optionally, a validity window (RFC 3339).
const (
	pemPublicKey     = "PUBLIC KEY"
	headerIssuer     = "Issuer"
	headerNotBefore  = "Not-Before"
	headerNotAfter   = "Not-After"
	pemCertificate   = "CERTIFICATE"
	maxTrustFileSize = 16 << 20
)

// ErrUnknownFile reports a file that is none of the kinds LoadFile reads.
var ErrUnknownFile = errors.New("trust: not a certificate, JWKS, native issuer key or trust bundle")

// MarshalNativeKey encodes a native issuer public key as a PEM block bound
// to issuer and v.
func MarshalNativeKey(issuer string, pub crypto.PublicKey, v Validity) ([]byte, error) {
	if err := ValidIssuer(issuer); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("trust: encode native key: %w", err)
	}
	h := map[string]string{headerIssuer: issuer}
	if !v.NotBefore.IsZero() {
		h[headerNotBefore] = v.NotBefore.UTC().Format(time.RFC3339)
	}
	if !v.NotAfter.IsZero() {
		h[headerNotAfter] = v.NotAfter.UTC().Format(time.RFC3339)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Headers: h, Bytes: der}), nil
}

// parseNativeKey reads a native issuer key PEM block.
func parseNativeKey(b *pem.Block) (issuer string, pub crypto.PublicKey, v Validity, err error) {
	issuer = b.Headers[headerIssuer]
	if issuer == "" {
		return "", nil, v, fmt.Errorf("trust: public key without an %q header: a native issuer key must name its issuer (e.g. %s: ZJ)", headerIssuer, headerIssuer)
	}
	pub, err = x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return "", nil, v, fmt.Errorf("trust: native key for %s: %w", issuer, err)
	}
	for name, dst := range map[string]*time.Time{headerNotBefore: &v.NotBefore, headerNotAfter: &v.NotAfter} {
		if s := b.Headers[name]; s != "" {
			if *dst, err = time.Parse(time.RFC3339, s); err != nil {
				return "", nil, v, fmt.Errorf("trust: native key for %s: %s: %w", issuer, name, err)
			}
		}
	}
	return issuer, pub, v, nil
}

// AddPEM adds every certificate and native issuer key in PEM data.
func (s *Store) AddPEM(data []byte) (int, error) {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case pemCertificate:
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return n, fmt.Errorf("trust: certificate: %w", err)
			}
			if _, err := s.AddDSC(cert); err != nil {
				return n, err
			}
		case pemPublicKey:
			issuer, pub, v, err := parseNativeKey(b)
			if err != nil {
				return n, err
			}
			if _, err := s.AddNativeKey(issuer, pub, v); err != nil {
				return n, err
			}
		default:
			return n, fmt.Errorf("trust: PEM block %q is neither a certificate nor a public key", b.Type)
		}
		n++
	}
	if n == 0 {
		return 0, ErrUnknownFile
	}
	return n, nil
}

// AddFile adds the keys of one file, recognised by its content: PEM
// certificates and native issuer keys, a DER certificate, or a JWKS (with
// the revocation lists in a sibling crl/ directory when the file is a
// .well-known/jwks.json). Trust bundles need the pinned root and are read
// with the bundle functions instead.
func (s *Store) AddFile(path string) error {
	data, err := readLimited(path)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		_, err = s.AddPEM(data)
	case bytes.HasPrefix(trimmed, []byte("{")):
		if _, err = s.AddJWKS("", data); err == nil {
			err = s.addCRLDir(filepath.Join(filepath.Dir(path), "crl"))
		}
	default:
		cert, cerr := x509.ParseCertificate(data)
		if cerr != nil {
			return fmt.Errorf("%s: %w", path, ErrUnknownFile)
		}
		_, err = s.AddDSC(cert)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (s *Store) addCRLDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // no revocation lists beside the key set
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		data, err := readLimited(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := s.AddSHCCRL(data); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	if st.Size() > maxTrustFileSize {
		return nil, fmt.Errorf("trust: %s is %d bytes, more than a trust file can be", path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("trust: read %s: %w", path, err)
	}
	return data, nil
}
