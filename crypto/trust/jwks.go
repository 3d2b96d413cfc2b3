package trust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors about SMART Health Card key sets and revocation lists.
var (
	// ErrJWKS reports a key set that cannot be used.
	ErrJWKS = errors.New("trust: invalid JWKS")
	// ErrCRL reports a revocation list that cannot be used. A list is
	// taken whole or not at all.
	ErrCRL = errors.New("trust: invalid SHC revocation list")
)

// Limits of the SMART Health Cards revocation method "rid".
const (
	// MaxRIDLength is the longest rid the specification allows.
	MaxRIDLength = 24
	// maxJWKS bounds the keys in one set and the rids in one list, so a
	// hostile file cannot make the store huge.
	maxJWKSKeys = 1000
	maxCRLRIDs  = 1 << 20
)

type jwk struct {
	Kty        string   `json:"kty"`
	Kid        string   `json:"kid"`
	Use        string   `json:"use"`
	Alg        string   `json:"alg"`
	Crv        string   `json:"crv"`
	X          string   `json:"x"`
	Y          string   `json:"y"`
	D          string   `json:"d"`
	X5c        []string `json:"x5c"`
	CRLVersion *int64   `json:"crlVersion"`
}

// AddJWKS trusts the ES256 signing keys of a SMART Health Card issuer's key
// set. issuer is the iss URL the keys sign for, or "" when unknown (cards
// then verify whatever iss they state). Keys of other types, curves or uses
// are skipped. The set is refused whole when a key holds private material,
// when a kid is not the key's RFC 7638 thumbprint, when an x5c leaf does
// not carry the key itself, or when crlVersion is not a whole number of 0
// or more.
//
// A key whose JWK announces a crlVersion gets a [CRL] with that Version and
// no rids; [Store.AddSHCCRL] later fills it, and refuses a list whose ctr
// differs from the announced version.
func (s *Store) AddJWKS(issuer string, data []byte) ([]*SHCKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("%w: no \"keys\" array", ErrJWKS)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d are accepted", ErrJWKS, len(set.Keys), maxJWKSKeys)
	}
	if issuer != "" && (!strings.HasPrefix(issuer, "https://") || strings.HasSuffix(issuer, "/")) {
		return nil, fmt.Errorf("%w: issuer %q must be an https URL without a trailing slash", ErrJWKS, issuer)
	}
	var parsed []*SHCKey
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrJWKS, i, err)
		}
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
		if k.CRLVersion != nil {
			if *k.CRLVersion < 0 {
				return nil, fmt.Errorf("%w: key %s: crlVersion %d is negative", ErrJWKS, k.Kid, *k.CRLVersion)
			}
			sk.CRL = &CRL{Version: int(*k.CRLVersion)}
		}
		if sk.Chain, err = x5cChain(k.X5c, pub); err != nil {
			return nil, fmt.Errorf("%w: key %s: %v", ErrJWKS, k.Kid, err)
		}
		parsed = append(parsed, sk)
	}
	added := make([]*SHCKey, 0, len(parsed))
	for _, sk := range parsed {
		if have := s.sameSHCKey(sk); have != nil {
			added = append(added, have) // the same key of the same issuer twice is one key
			continue
		}
		s.AddSHCKey(sk)
		added = append(added, sk)
	}
	return added, nil
}

func (s *Store) sameSHCKey(k *SHCKey) *SHCKey {
	for _, have := range s.shc[k.KID] {
		if have.Issuer == k.Issuer && have.Public.Equal(k.Public) {
			return have
		}
	}
	return nil
}

// x5cChain parses an x5c chain (standard base64 DER, leaf first) and checks
// that the leaf certifies pub. The chain's validity and its path to a root
// are not judged here: see the shc package's Caveats.
func x5cChain(x5c []string, pub *ecdsa.PublicKey) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for j, c := range x5c {
		der, err := base64.StdEncoding.Strict().DecodeString(c)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %v", j, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %v", j, err)
		}
		chain = append(chain, cert)
	}
	if len(chain) > 0 {
		leaf, ok := chain[0].PublicKey.(*ecdsa.PublicKey)
		if !ok || !leaf.Equal(pub) {
			return nil, errors.New("x5c[0] does not certify the key's own x and y")
		}
	}
	return chain, nil
}

func ecKey(k jwk) (*ecdsa.PublicKey, error) {
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil || len(x) != 32 {
		return nil, errors.New("x is not 32 bytes of base64url")
	}
	y, err := base64.RawURLEncoding.Strict().DecodeString(k.Y)
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

// Thumbprint returns the RFC 7638 JWK thumbprint of a P-256 key, base64url:
// the kid that SMART Health Cards require.
func Thumbprint(pub *ecdsa.PublicKey) string {
	raw, err := pub.Bytes()
	if err != nil || len(raw) != 65 {
		return "" // not a valid P-256 point: no thumbprint matches it
	}
	x := base64.RawURLEncoding.EncodeToString(raw[1:33])
	y := base64.RawURLEncoding.EncodeToString(raw[33:])
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

type crlFile struct {
	Kid    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    *int64   `json:"ctr"`
	RIDs   []string `json:"rids"`
}

// ParseSHCCRL parses a SMART Health Card revocation list (method "rid")
// and returns the kid it is for. Every entry is "rid" or
// "rid.timestamp" (seconds since the epoch: cards whose nbf is before it
// are revoked); a rid is 1 to [MaxRIDLength] characters of the base64url
// alphabet, and no rid may be listed twice. Anything else refuses the
// whole list with [ErrCRL].
func ParseSHCCRL(data []byte) (kid string, c *CRL, err error) {
	var f crlFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrCRL, err)
	}
	if dec.More() {
		return "", nil, fmt.Errorf("%w: data after the list's JSON object", ErrCRL)
	}
	if f.Kid == "" {
		return "", nil, fmt.Errorf("%w: no \"kid\": the list must name the key it is for", ErrCRL)
	}
	if f.Method != "rid" {
		return "", nil, fmt.Errorf("%w: method %q, only \"rid\" is defined", ErrCRL, f.Method)
	}
	if f.Ctr == nil {
		return "", nil, fmt.Errorf("%w: no \"ctr\" (the list's version)", ErrCRL)
	}
	if *f.Ctr < 0 {
		return "", nil, fmt.Errorf("%w: ctr %d is negative", ErrCRL, *f.Ctr)
	}
	if f.RIDs == nil {
		return "", nil, fmt.Errorf("%w: no \"rids\" array", ErrCRL)
	}
	if len(f.RIDs) > maxCRLRIDs {
		return "", nil, fmt.Errorf("%w: %d rids, at most %d are accepted", ErrCRL, len(f.RIDs), maxCRLRIDs)
	}
	c = &CRL{Version: int(*f.Ctr), RIDs: make(map[string]time.Time, len(f.RIDs))}
	for i, entry := range f.RIDs {
		rid, at, err := parseRIDEntry(entry)
		if err != nil {
			return "", nil, fmt.Errorf("%w: rids[%d]: %v", ErrCRL, i, err)
		}
		if _, dup := c.RIDs[rid]; dup {
			return "", nil, fmt.Errorf("%w: rids[%d]: rid %q is listed twice: the issuer must give one entry per rid", ErrCRL, i, rid)
		}
		c.RIDs[rid] = at
	}
	return f.Kid, c, nil
}

func parseRIDEntry(entry string) (rid string, at time.Time, err error) {
	rid, ts, hasTS := strings.Cut(entry, ".")
	if err := ValidRID(rid); err != nil {
		return "", time.Time{}, err
	}
	if hasTS {
		if ts == "" || len(ts) > 12 || strings.TrimLeft(ts, "0123456789") != "" {
			return "", time.Time{}, fmt.Errorf("rid %q: timestamp %q is not whole seconds since 1970", rid, ts)
		}
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("rid %q: timestamp %q: %v", rid, ts, err)
		}
		if n == 0 {
			return "", time.Time{}, fmt.Errorf("rid %q: timestamp 0 revokes nothing: leave the timestamp out to revoke every card", rid)
		}
		at = time.Unix(n, 0).UTC()
	}
	return rid, at, nil
}

// ValidRID checks a SMART Health Card revocation id: 1 to [MaxRIDLength]
// characters of the base64url alphabet, without padding.
func ValidRID(rid string) error {
	if rid == "" || len(rid) > MaxRIDLength {
		return fmt.Errorf("rid of %d characters, want 1 to %d", len(rid), MaxRIDLength)
	}
	for i := 0; i < len(rid); i++ {
		c := rid[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("rid %q: character %q is not base64url", rid, c)
		}
	}
	return nil
}

// AddSHCCRL attaches a revocation list (SMART Health Cards "rid" method,
// see [ParseSHCCRL]) to the loaded keys with its kid. The list's ctr must
// equal the crlVersion that the keys' JWK announced: a mismatch means the
// key set and the list were fetched at different times. A list that
// cannot be used is refused whole and leaves the store unchanged.
func (s *Store) AddSHCCRL(data []byte) error {
	kid, c, err := ParseSHCCRL(data)
	if err != nil {
		return err
	}
	keys := s.shc[kid]
	if len(keys) == 0 {
		return fmt.Errorf("%w: list for kid %q, which no loaded key set has: load the issuer's jwks.json first", ErrCRL, kid)
	}
	for _, k := range keys {
		switch {
		case k.CRL == nil:
			return fmt.Errorf("%w: kid %q announces no crlVersion in its key set, so no list belongs to it: load the key set that goes with this list", ErrCRL, kid)
		case k.CRL.Version != c.Version:
			return fmt.Errorf("%w: ctr %d does not match crlVersion %d of key %q: fetch the issuer's jwks.json and its crl again, together", ErrCRL, c.Version, k.CRL.Version, kid)
		}
	}
	for _, k := range keys {
		k.CRL = c
	}
	return nil
}
