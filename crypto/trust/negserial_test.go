package trust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// TestNegativeSerialDSC loads a document signer certificate whose serial
// number is negative, as some issuers' are. Go refuses such certificates
// unless x509negativeserial=1, which go.mod sets for every binary of the
// module: without it this test fails with "x509: negative serial number".
func TestNegativeSerialDSC(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A positive serial with a marker pattern, turned negative below by
	// flipping its first byte's top bit. The signature no longer matches,
	// which loading a DSC does not check (the trust list vouches for it).
	marker := []byte{0x7e, 0x5a, 0xc3, 0x11, 0x22, 0x33, 0x44, 0x55}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(marker),
		Subject:      pkix.Name{CommonName: "DSC negative serial", Country: []string{"XX"}},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	enc := append([]byte{0x02, byte(len(marker))}, marker...)
	i := bytes.Index(der, enc)
	if i < 0 {
		t.Fatal("serial not found in the certificate")
	}
	der[i+2] |= 0x80

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v (go.mod must set godebug x509negativeserial=1)", err)
	}
	if cert.SerialNumber.Sign() >= 0 {
		t.Fatalf("serial %v is not negative", cert.SerialNumber)
	}
	s := New()
	n, err := s.AddPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err != nil || n != 1 {
		t.Fatalf("AddPEM = %d, %v; want 1 certificate loaded", n, err)
	}
}
