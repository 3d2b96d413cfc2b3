package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ErrJWKS reports a key set or revocation list that cannot be used.
var ErrJWKS = errors.New("trust: invalid JWKS")

type jwk struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid"`
	Use string   `json:"use"`
	Alg string   `json:"alg"`
	Crv string   `json:"crv"`
	X   string   `json:"x"`
	Y   string   `json:"y"`
	D   string   `json:"d"`
	X5c []string `json:"x5c"`
}

// AddJWKS trusts the ES256 signing keys of a SMART Health Card issuer's key
// set. issuer is the iss URL the keys sign for, or "" when unknown. Keys of
// other types or uses are skipped; a key whose kid is not its RFC 7638
// thumbprint, or a set holding a private key, is refused.
func (s *Store) AddJWKS(issuer string, data []byte) ([]*SHCKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("%w: no \"keys\" array", ErrJWKS)
	}
	var added []*SHCKey
	for i, k := range set.Keys {
		if k.D != "" {
			return nil, fmt.Errorf("%w: key %d is a private key: never distribute it", ErrJWKS, i)
		}
		if k.Kty != "EC" || k.Crv != "P-256" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "ES256") {
			continue
		}
		pub, err := ecKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrJWKS, i, err)
		}
		if tp := Thumbprint(pub); k.Kid != tp {
			return nil, fmt.Errorf("%w: key %d: kid %q is not its thumbprint %q", ErrJWKS, i, k.Kid, tp)
		}
		sk := &SHCKey{Issuer: issuer, KID: k.Kid, Public: pub}
		for j, c := range k.X5c {
			der, err := base64.StdEncoding.DecodeString(c)
			if err != nil {
				return nil, fmt.Errorf("%w: key %d: x5c[%d]: %v", ErrJWKS, i, j, err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("%w: key %d: x5c[%d]: %v", ErrJWKS, i, j, err)
			}
			sk.Chain = append(sk.Chain, cert)
		}
		s.AddSHCKey(sk)
		added = append(added, sk)
	}
	return added, nil
}

func ecKey(k jwk) (*ecdsa.PublicKey, error) {
	x, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(x) != 32 {
		return nil, errors.New("x is not 32 bytes of base64url")
	}
	y, err := base64.RawURLEncoding.DecodeString(k.Y)
	if err != nil || len(y) != 32 {
		return nil, errors.New("y is not 32 bytes of base64url")
	}
	raw := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("point: %v", err)
	}
	return pub, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of a P-256 key, base64url.
func Thumbprint(pub *ecdsa.PublicKey) string {
	raw, _ := pub.Bytes()
	x := base64.RawURLEncoding.EncodeToString(raw[1:33])
	y := base64.RawURLEncoding.EncodeToString(raw[33:])
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AddSHCCRL attaches a revocation list (SMART Health Cards "rid" method)
// to the keys with its kid. A malformed list is refused whole.
func (s *Store) AddSHCCRL(data []byte) error {
	var crl struct {
		Kid     string   `json:"kid"`
		Method  string   `json:"method"`
		Ctr     *int     `json:"ctr"`
		RIDs    []string `json:"rids"`
		Version *int     `json:"crlVersion"`
	}
	if err := json.Unmarshal(data, &crl); err != nil {
		return fmt.Errorf("%w: revocation list: %v", ErrJWKS, err)
	}
	if crl.Method != "rid" {
		return fmt.Errorf("%w: revocation list method %q, want \"rid\"", ErrJWKS, crl.Method)
	}
	c := &CRL{RIDs: make(map[string]time.Time, len(crl.RIDs))}
	if crl.Ctr != nil {
		c.Version = *crl.Ctr
	}
	for _, r := range crl.RIDs {
		rid, at := r, time.Time{}
		if i := indexByte(r, '.'); i >= 0 {
			rid = r[:i]
			ts, ok := new(big.Int).SetString(r[i+1:], 10)
			if !ok || !ts.IsInt64() {
				return fmt.Errorf("%w: revocation list: rid %q has a bad timestamp", ErrJWKS, r)
			}
			at = time.Unix(ts.Int64(), 0).UTC()
		}
		if len(rid) == 0 || len(rid) > 24 {
			return fmt.Errorf("%w: revocation list: rid %q is not 1 to 24 characters", ErrJWKS, rid)
		}
		if _, err := base64.RawURLEncoding.DecodeString(rid); err != nil {
			return fmt.Errorf("%w: revocation list: rid %q is not base64url", ErrJWKS, rid)
		}
		if _, dup := c.RIDs[rid]; dup {
			return fmt.Errorf("%w: revocation list: rid %q listed twice", ErrJWKS, rid)
		}
		c.RIDs[rid] = at
	}
	keys := s.shc[crl.Kid]
	if len(keys) == 0 {
		return fmt.Errorf("%w: revocation list for kid %q, which no loaded key set has", ErrJWKS, crl.Kid)
	}
	for _, k := range keys {
		k.CRL = c
	}
	return nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
