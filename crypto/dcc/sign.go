package dcc

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/trust"
)

// Sign makes an "HC1:" code: the health certificate hcert (an HCert,
// *HCert, or any value that encodes to the hcert map) in a CWT with issuer
// iss (the country), issued at iat and expiring at exp, signed by key under
// the document signer certificate cert (ES256 for a P-256 key, PS256 for
// RSA), zlib-compressed and Base45-encoded. The key id is the first 8 bytes
// of the SHA-256 of the certificate.
//
// Sign is for tests and demonstration codes (`sentinel-central issue`):
// it checks that cert holds key's public key, not that hcert follows the
// schema, so that broken codes can be made on purpose.
func Sign(cert *x509.Certificate, key crypto.Signer, hcert any, iss string, iat, exp time.Time) (string, error) {
	if cert == nil || key == nil {
		return "", errors.New("dcc: sign: a certificate and its key are needed")
	}
	if pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
		return "", errors.New("dcc: sign: the key does not belong to the certificate")
	}
	claims := map[int]any{
		1:    iss,
		4:    exp.Unix(),
		6:    iat.Unix(),
		-260: map[int]any{1: hcert},
	}
	if iss == "" {
		delete(claims, 1)
	}
	payload, err := cose.EncMode().Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("dcc: sign: encode claims: %w", err)
	}
	kid := trust.KeyIDOf(cert.Raw)
	msg, err := cose.Sign(nil, key, kid[:], payload)
	if err != nil {
		return "", fmt.Errorf("dcc: sign: %w", err)
	}
	return Encode(msg)
}

// Encode compresses and encodes a COSE_Sign1 message into an "HC1:" code.
func Encode(coseMsg []byte) (string, error) {
	var z bytes.Buffer
	w, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return "", fmt.Errorf("dcc: encode: %w", err)
	}
	if _, err := w.Write(coseMsg); err != nil {
		return "", fmt.Errorf("dcc: encode: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("dcc: encode: %w", err)
	}
	return Prefix + base45.EncodeToString(z.Bytes()), nil
}
