package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testIss = "https://issuer.example.org/shc"

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwkOf returns the public JWK of key as a map the tests can alter.
func jwkOf(key *ecdsa.PrivateKey) map[string]any {
	raw, _ := key.PublicKey.Bytes()
	return map[string]any{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
		"kid": Thumbprint(&key.PublicKey),
		"x":   base64.RawURLEncoding.EncodeToString(raw[1:33]),
		"y":   base64.RawURLEncoding.EncodeToString(raw[33:]),
	}
}

func jwks(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func TestThumbprintRFC7638(t *testing.T) {
	// The specification's example key and its published kid.
	x, _ := base64.RawURLEncoding.DecodeString("11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw")
	y, _ := base64.RawURLEncoding.DecodeString("eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8")
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Thumbprint(pub), "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"; got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}
}

func TestAddJWKS(t *testing.T) {
	key, other := newKey(t), newKey(t)
	withCRL := jwkOf(key)
	withCRL["crlVersion"] = 3
	tests := []struct {
		name    string
		issuer  string
		data    []byte
		added   int
		wantErr string // "" when the set loads
	}{
		{"one key", testIss, jwks(jwkOf(key)), 1, ""},
		{"no issuer", "", jwks(jwkOf(key)), 1, ""},
		{"with crlVersion", testIss, jwks(withCRL), 1, ""},
		{"two keys", testIss, jwks(jwkOf(key), jwkOf(other)), 2, ""},
		{"rsa key skipped", testIss, jwks(map[string]any{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}, jwkOf(key)), 1, ""},
		{"encryption key skipped", testIss, jwks(with(jwkOf(key), "use", "enc")), 0, ""},
		{"P-384 skipped", testIss, jwks(with(jwkOf(key), "crv", "P-384")), 0, ""},
		{"not JSON", testIss, []byte("{"), 0, "invalid JWKS"},
		{"no keys", testIss, []byte(`{"kys":[]}`), 0, "no \"keys\""},
		{"private key", testIss, jwks(with(jwkOf(key), "d", "AAAA")), 0, "private key"},
		{"kid not thumbprint", testIss, jwks(with(jwkOf(key), "kid", "abc")), 0, "not its thumbprint"},
		{"short x", testIss, jwks(with(jwkOf(key), "x", "AAAA")), 0, "x is not 32 bytes"},
		{"point off the curve", testIss, jwks(with(jwkOf(key), "y", jwkOf(other)["y"])), 0, "point"},
		{"negative crlVersion", testIss, jwks(with(jwkOf(key), "crlVersion", -1)), 0, "negative"},
		{"fractional crlVersion", testIss, jwks(with(jwkOf(key), "crlVersion", 1.5)), 0, "invalid JWKS"},
		{"http issuer", "http://issuer.example.org", jwks(jwkOf(key)), 0, "https URL"},
		{"issuer with trailing slash", testIss + "/", jwks(jwkOf(key)), 0, "trailing slash"},
		{"x5c not base64", testIss, jwks(with(jwkOf(key), "x5c", []string{"!!"})), 0, "x5c[0]"},
		{"x5c of another key", testIss, jwks(with(jwkOf(key), "x5c", []string{certOf(t, other)})), 0, "does not certify"},
		{"x5c of the key", testIss, jwks(with(jwkOf(key), "x5c", []string{certOf(t, key)})), 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			added, err := s.AddJWKS(tt.issuer, tt.data)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrJWKS) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("AddJWKS: got %v, want ErrJWKS mentioning %q", err, tt.wantErr)
				}
				if s.Len() != 0 {
					t.Errorf("refused set left %d keys in the store", s.Len())
				}
				return
			}
			if err != nil {
				t.Fatalf("AddJWKS: %v", err)
			}
			if len(added) != tt.added || s.Len() != tt.added {
				t.Fatalf("got %d keys added, %d in the store, want %d", len(added), s.Len(), tt.added)
			}
			for _, k := range added {
				if got := s.SHCKeys(k.KID); len(got) != 1 || got[0] != k {
					t.Errorf("SHCKeys(%s) = %v, want the added key", k.KID, got)
				}
				if k.Issuer != tt.issuer {
					t.Errorf("issuer %q, want %q", k.Issuer, tt.issuer)
				}
			}
		})
	}
}

func TestAddJWKSTwice(t *testing.T) {
	key := newKey(t)
	s := New()
	for range 2 {
		if _, err := s.AddJWKS(testIss, jwks(jwkOf(key))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.SHCKeys(Thumbprint(&key.PublicKey))); got != 1 {
		t.Errorf("the same key loaded twice: got %d keys, want 1", got)
	}
	// The same key for another issuer is another trust.
	if _, err := s.AddJWKS(testIss+"2", jwks(jwkOf(key))); err != nil {
		t.Fatal(err)
	}
	if got := len(s.SHCKeys(Thumbprint(&key.PublicKey))); got != 2 {
		t.Errorf("the key for two issuers: got %d keys, want 2", got)
	}
}

func TestAddSHCCRL(t *testing.T) {
	key := newKey(t)
	kid := Thumbprint(&key.PublicKey)
	crl := func(fields map[string]any) []byte {
		m := map[string]any{"kid": kid, "method": "rid", "ctr": 2, "rids": []string{"vwAjHdarZuc.1687450765", "FKDIxsTCGlU"}}
		for k, v := range fields {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name       string
		crlVersion any // of the JWK; nil for none
		data       []byte
		wantErr    string
	}{
		{"valid", 2, crl(nil), ""},
		{"empty list", 2, crl(map[string]any{"rids": []string{}}), ""},
		{"24-character rid", 2, crl(map[string]any{"rids": []string{strings.Repeat("A", 24)}}), ""},
		{"version mismatch", 1, crl(nil), "does not match crlVersion 1"},
		{"key announces no list", nil, crl(nil), "announces no crlVersion"},
		{"unknown kid", 2, crl(map[string]any{"kid": "nokey"}), "no loaded key set"},
		{"no kid", 2, crl(map[string]any{"kid": nil}), "no \"kid\""},
		{"invalid method", 2, crl(map[string]any{"method": "invalid-method"}), "method"},
		{"no ctr", 2, crl(map[string]any{"ctr": nil}), "no \"ctr\""},
		{"negative ctr", 2, crl(map[string]any{"ctr": -2}), "negative"},
		{"no rids", 2, crl(map[string]any{"rids": nil}), "no \"rids\""},
		{"duplicate rid", 2, crl(map[string]any{"rids": []string{"XkNHp2Iyk0Y.1638311286", "XkNHp2Iyk0Y"}}), "listed twice"},
		{"padded rid", 2, crl(map[string]any{"rids": []string{"base64=="}}), "not base64url"},
		{"rid with symbols", 2, crl(map[string]any{"rids": []string{"$wrongrid!"}}), "not base64url"},
		{"too long rid", 2, crl(map[string]any{"rids": []string{strings.Repeat("A", 25)}}), "want 1 to 24"},
		{"empty rid", 2, crl(map[string]any{"rids": []string{".1638311286"}}), "want 1 to 24"},
		{"bad timestamp", 2, crl(map[string]any{"rids": []string{"abc.12x"}}), "timestamp"},
		{"empty timestamp", 2, crl(map[string]any{"rids": []string{"abc."}}), "timestamp"},
		{"zero timestamp", 2, crl(map[string]any{"rids": []string{"abc.0"}}), "timestamp 0"},
		{"two timestamps", 2, crl(map[string]any{"rids": []string{"abc.1.2"}}), "timestamp"},
		{"data after the list", 2, append(crl(nil), "{}"...), "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			j := jwkOf(key)
			if tt.crlVersion != nil {
				j["crlVersion"] = tt.crlVersion
			}
			if _, err := s.AddJWKS(testIss, jwks(j)); err != nil {
				t.Fatal(err)
			}
			before := s.SHCKeys(kid)[0].CRL
			err := s.AddSHCCRL(tt.data)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrCRL) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("AddSHCCRL: got %v, want ErrCRL mentioning %q", err, tt.wantErr)
				}
				if got := s.SHCKeys(kid)[0].CRL; got != before {
					t.Errorf("refused list changed the key's CRL to %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("AddSHCCRL: %v", err)
			}
			if c := s.SHCKeys(kid)[0].CRL; c == nil || c.Version != 2 {
				t.Fatalf("CRL = %+v, want version 2", c)
			}
		})
	}
}

func TestCRLRevoked(t *testing.T) {
	key := newKey(t)
	s := New()
	j := jwkOf(key)
	j["crlVersion"] = 1
	if _, err := s.AddJWKS(testIss, jwks(j)); err != nil {
		t.Fatal(err)
	}
	list, _ := json.Marshal(map[string]any{"kid": j["kid"], "method": "rid", "ctr": 1,
		"rids": []string{"vwAjHdarZuc.1687450765", "FKDIxsTCGlU"}})
	if err := s.AddSHCCRL(list); err != nil {
		t.Fatal(err)
	}
	c := s.SHCKeys(j["kid"].(string))[0].CRL
	at := time.Unix(1687450765, 0)
	tests := []struct {
		rid  string
		nbf  time.Time
		want bool
	}{
		{"vwAjHdarZuc", at.Add(-time.Millisecond), true},
		{"vwAjHdarZuc", at, false}, // issued at the revocation time: a reissued card
		{"vwAjHdarZuc", at.Add(time.Hour), false},
		{"FKDIxsTCGlU", at.Add(100 * 365 * 24 * time.Hour), true}, // no timestamp: every card
		{"other", at.Add(-time.Hour), false},
		{"", at.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		if got := c.Revoked(tt.rid, tt.nbf); got != tt.want {
			t.Errorf("Revoked(%q, %v) = %v, want %v", tt.rid, tt.nbf, got, tt.want)
		}
	}
	// Before its list arrives, a key that announces one revokes nothing.
	s2 := New()
	if _, err := s2.AddJWKS(testIss, jwks(j)); err != nil {
		t.Fatal(err)
	}
	if k := s2.SHCKeys(j["kid"].(string))[0]; k.CRL == nil || k.CRL.Version != 1 || k.CRL.Revoked("FKDIxsTCGlU", at) {
		t.Errorf("announced but unloaded list: got %+v, want version 1 revoking nothing", k.CRL)
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// certOf returns a self-signed certificate of key, standard base64 as x5c
// holds it.
func certOf(t testing.TB, key *ecdsa.PrivateKey) string {
	t.Helper()
	u, _ := url.Parse(testIss)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test issuer"},
		NotBefore:    time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		URIs:         []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func FuzzJWKS(f *testing.F) {
	key := newKey(f)
	j := jwkOf(key)
	j["crlVersion"] = 1
	f.Add(jwks(j))
	f.Add(jwks(jwkOf(key), with(jwkOf(newKey(f)), "x5c", []string{"AAAA"})))
	f.Add(jwks(with(jwkOf(key), "x5c", []string{certOf(f, key)})))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"x","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New()
		added, err := s.AddJWKS(testIss, data)
		if err != nil {
			if !errors.Is(err, ErrJWKS) {
				t.Fatalf("error %v does not wrap ErrJWKS", err)
			}
			if s.Len() != 0 {
				t.Fatalf("refused set left %d keys", s.Len())
			}
			return
		}
		for _, k := range added {
			if Thumbprint(k.Public) != k.KID {
				t.Fatalf("added key %s whose thumbprint is %s", k.KID, Thumbprint(k.Public))
			}
		}
	})
}

func FuzzCRL(f *testing.F) {
	key := newKey(f)
	j := jwkOf(key)
	j["crlVersion"] = 1
	kid := j["kid"].(string)
	for _, rids := range [][]string{
		{"vwAjHdarZuc.1687450765", "FKDIxsTCGlU"},
		{"XkNHp2Iyk0Y.1638311286", "XkNHp2Iyk0Y"},
		{"base64==", "$wrongrid!"},
		{strings.Repeat("A", 25)},
		{},
	} {
		b, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": 1, "rids": rids})
		f.Add(b)
	}
	f.Add([]byte(`{"kid":"` + kid + `","method":"rid","ctr":2,"rids":[]}`))
	f.Add([]byte(`{"kid":"` + kid + `","method":"x","ctr":1,"rids":["a.1"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New()
		if _, err := s.AddJWKS(testIss, jwks(j)); err != nil {
			t.Fatal(err)
		}
		err := s.AddSHCCRL(data)
		c := s.SHCKeys(kid)[0].CRL
		if err != nil {
			if !errors.Is(err, ErrCRL) {
				t.Fatalf("error %v does not wrap ErrCRL", err)
			}
			if c.RIDs != nil {
				t.Fatal("refused list was attached")
			}
			return
		}
		if c.Version != 1 {
			t.Fatalf("list of version %d attached to a key announcing 1", c.Version)
		}
		for rid := range c.RIDs {
			if ValidRID(rid) != nil {
				t.Fatalf("accepted invalid rid %q", rid)
			}
		}
	})
}
