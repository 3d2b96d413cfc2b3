// Package trustbuild assembles the signed trust bundle from the files an
// operator keeps: native issuer keys, EU DCC document signer certificates,
// SMART Health Card key sets and revocation lists, revoked delegations,
// the pseudonym key and the centre's HPKE key. It reads every file, signs
// the bundle with the root or a delegated key, and reads the result back
// as a terminal would before anyone gets it.
//
// "sentinel-central trust build" is its command line; this package holds
// what the command does, so that main only wires flags to it.
package trustbuild

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
)

// SHCIssuer is a SMART Health Card issuer: its key set file and its
// revocation list files. Every crl/*.json beside JWKS is read too.
type SHCIssuer struct {
	Issuer string   // the issuer's URL, as in its cards' "iss"
	JWKS   string   // the key set file
	CRLs   []string // revocation list files besides crl/*.json
}

// Sources names the files the bundle's content is read from. Paths only:
// nothing is read until Content.
type Sources struct {
	Native, RevokedNative []string    // native issuer public key files
	DSC, RevokedDSC       []string    // document signer certificates, PEM (several) or DER
	SHC                   []SHCIssuer // SMART Health Card issuers
	// RevokedDelegations are delegation files, or key ids in hex (16
	// digits), of delegations to list as revoked.
	RevokedDelegations []string
	PseudonymKey       string // 32 raw bytes or 64 hex digits; empty for none
	HPKEPublic         string // the centre's HPKE public key, raw or hex; empty for none
	HPKEKEM            uint16 // the KEM of HPKEPublic (0x20: DHKEM X25519)
	// ValueSets is a directory of the EU DCC value-set files (the EU's
	// format, see sentinel/crypto/valueset); empty for none.
	ValueSets string
}

// Content reads every source. root checks the revoked delegation files.
// The error names the file that could not be read or does not hold what
// it should.
func (s Sources) Content(root crypto.PublicKey) (*trust.TrustContent, error) {
	c := &trust.TrustContent{}
	for i, list := range [][]string{s.Native, s.RevokedNative} {
		for _, p := range list {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			entries, err := trust.ParseNativeKeyFile(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for _, e := range entries {
				e.Revoked = i == 1
				c.Native = append(c.Native, e)
			}
		}
	}
	for i, list := range [][]string{s.DSC, s.RevokedDSC} {
		for _, p := range list {
			ders, err := ReadDSCs(p)
			if err != nil {
				return nil, err
			}
			for _, der := range ders {
				c.DSCs = append(c.DSCs, trust.DSCEntry{Cert: der, Revoked: i == 1})
			}
		}
	}
	for _, iss := range s.SHC {
		data, err := os.ReadFile(iss.JWKS)
		if err != nil {
			return nil, err
		}
		e := trust.SHCEntry{Issuer: iss.Issuer, JWKS: data}
		beside, _ := filepath.Glob(filepath.Join(filepath.Dir(iss.JWKS), "crl", "*.json"))
		for _, p := range append(beside, iss.CRLs...) {
			crl, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			e.CRLs = append(e.CRLs, crl)
		}
		c.SHC = append(c.SHC, e)
	}
	var err error
	if s.PseudonymKey != "" {
		if c.PseudonymKey, err = ReadPseudonymKey(s.PseudonymKey); err != nil {
			return nil, err
		}
	}
	if s.HPKEPublic != "" {
		if c.HPKE, err = ReadHPKE(s.HPKEPublic, s.HPKEKEM); err != nil {
			return nil, err
		}
	}
	for _, r := range s.RevokedDelegations {
		kid, err := readRevokedDelegation(r, root)
		if err != nil {
			return nil, err
		}
		c.RevokedDelegations = append(c.RevokedDelegations, kid)
	}
	if s.ValueSets != "" {
		vs, _, err := valueset.LoadDir(s.ValueSets)
		if err != nil {
			return nil, err
		}
		c.ValueSets = trust.ValueSetEntries(vs)
	}
	return c, nil
}

// Signing is who signs: the root itself (Delegation nil), or a delegated
// key with its delegation. Root is the root's public key that terminals
// pin; the built bundle is checked against it.
type Signing struct {
	Signer     crypto.Signer
	Delegation *trust.Delegation
	Root       crypto.PublicKey
}

// Build signs c as the trust bundle described by hdr, then loads it as a
// terminal would at its issue time, and returns it with what it holds.
func Build(s Signing, hdr trust.Bundle, c *trust.TrustContent) ([]byte, *trust.BundleInfo, error) {
	data, err := trust.BuildTrustBundle(s.Signer, s.Delegation, hdr, c)
	if err != nil {
		return nil, nil, err
	}
	_, info, err := trust.LoadTrustBundle(data, s.Root, hdr.IssuedAt, trust.State{})
	if err != nil {
		return nil, nil, fmt.Errorf("the bundle just built does not load: %w", err)
	}
	return data, info, nil
}

// Header is the bundle header of version issued at at, fresh for fresh and
// usable in grace until grace after at.
func Header(version uint64, at time.Time, fresh, grace time.Duration) trust.Bundle {
	return trust.Bundle{Version: version, IssuedAt: at, FreshUntil: at.Add(fresh), GraceUntil: at.Add(grace)}
}

// ReadDSCs reads one DER certificate or any number of PEM certificates.
func ReadDSCs(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block %q is not a certificate", path, b.Type)
		}
		ders = append(ders, b.Bytes)
	}
	if len(ders) == 0 {
		ders = [][]byte{data}
	}
	for _, der := range ders {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%s: not a certificate (PEM or DER): %w", path, err)
		}
	}
	return ders, nil
}

// ReadPseudonymKey reads 32 raw bytes or 64 hex digits.
func ReadPseudonymKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) == trust.PseudonymKeySize {
		return data, nil
	}
	if k, err := hex.DecodeString(strings.TrimSpace(string(data))); err == nil && len(k) == trust.PseudonymKeySize {
		return k, nil
	}
	return nil, fmt.Errorf("%s: a pseudonym key is %d raw bytes or %d hex digits (make one with: sentinel-central trust pseudonym-keygen --out FILE)",
		path, trust.PseudonymKeySize, 2*trust.PseudonymKeySize)
}

// ReadHPKE reads the centre's HPKE public key: raw bytes or hex.
func ReadHPKE(path string, kem uint16) (*trust.HPKEPublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if k, err := hex.DecodeString(strings.TrimSpace(string(data))); err == nil && len(k) > 0 {
		data = k
	}
	h := &trust.HPKEPublicKey{KEM: kem, Public: data}
	if _, err := h.Key(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// readRevokedDelegation takes a delegation file or a key id in hex.
func readRevokedDelegation(s string, root crypto.PublicKey) (trust.KeyID, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == len(trust.KeyID{}) {
		return trust.KeyID(b), nil
	}
	data, err := os.ReadFile(s)
	if err != nil {
		return trust.KeyID{}, fmt.Errorf("revoked delegation %q: neither a key id (16 hex digits) nor a readable delegation file", s)
	}
	d, err := trust.ParseDelegation(data, root)
	if err != nil {
		return trust.KeyID{}, fmt.Errorf("%s: %w", s, err)
	}
	return d.KID, nil
}
