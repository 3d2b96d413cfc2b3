package issuance

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
)

func TestIssueNative(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	holderPub, holder, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 500, time.UTC)
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		n           NativeCode
		wantAt      time.Time
		wantExpires time.Time
		wantRolling bool
	}{
		{"paper at now", NativeCode{Issuer: "ZJ", Key: key, Claims: healthcode.Claims{Index: 1024, Colour: credential.ColourGreen}},
			now, now.Add(healthcode.DefaultTTL), false},
		{"given time and ttl", NativeCode{Issuer: "ZJ", Key: key, Claims: healthcode.Claims{Index: 1, Colour: credential.ColourYellow, IssuedAt: at, TTL: time.Hour}},
			at.Truncate(time.Second), at.Truncate(time.Second).Add(time.Hour), false},
		{"rolling presentation", NativeCode{Issuer: "ZJ", Key: key, Holder: holder,
			Claims: healthcode.Claims{Index: 2, Colour: credential.ColourGreen, HolderKey: holderPub, TTL: time.Hour}},
			now, now.Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := IssueNative(tt.n, now)
			if err != nil {
				t.Fatal(err)
			}
			if !is.IssuedAt.Equal(tt.wantAt) || !is.Expires.Equal(tt.wantExpires) {
				t.Errorf("issued %v expires %v, want %v and %v", is.IssuedAt, is.Expires, tt.wantAt, tt.wantExpires)
			}
			u, err := healthcode.Decode(is.Code)
			if err != nil {
				t.Fatalf("the code does not decode: %v", err)
			}
			if !tt.wantRolling && !bytes.Equal(u.KeyID(), is.KID[:]) {
				t.Errorf("code names key %x, want %x", u.KeyID(), is.KID[:])
			}
			if u.Rolling() != tt.wantRolling {
				t.Errorf("rolling = %v, want %v", u.Rolling(), tt.wantRolling)
			}
		})
	}
	if _, err := IssueNative(NativeCode{Issuer: "ZJ", Key: key, Holder: holder, Claims: healthcode.Claims{Index: 3, Colour: credential.ColourGreen}}, now); err == nil {
		t.Error("a rolling presentation of a paper code was issued")
	}
}

func TestIssueDCC(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "DSC", Country: []string{"DE"}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, typ := range []string{DCCVaccination, DCCTest, DCCRecovery} {
		t.Run(typ, func(t *testing.T) {
			is, err := IssueDCC(DCCCode{Cert: cert, Key: key, Type: typ, Family: "Müller", Given: "Anna", DOB: "1980-01-02",
				Country: "DE", TTL: 365 * 24 * time.Hour, Dose: 2, Doses: 2}, now)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(is.Code, "HC1:") || !is.IssuedAt.Equal(now) || !is.Expires.Equal(now.Add(365*24*time.Hour)) {
				t.Errorf("got %q issued %v expires %v", is.Code[:min(len(is.Code), 8)], is.IssuedAt, is.Expires)
			}
			u, err := dcc.DecodeString(is.Code)
			if err != nil {
				t.Fatalf("the code does not decode: %v", err)
			}
			if !bytes.Equal(u.KID(), is.KID[:]) {
				t.Errorf("code names key %x, want %x", u.KID(), is.KID[:])
			}
		})
	}
	if _, err := IssueDCC(DCCCode{Cert: cert, Key: key, Type: "x", Country: "DE"}, now); err == nil || !strings.Contains(err.Error(), "want v, t or r") {
		t.Errorf("type x: %v, want a refusal naming the types", err)
	}
}
