package issuance

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
)

// Issued is a code signed directly (IssueNative, IssueDCC) and what it
// says.
type Issued struct {
	Code     string
	KID      trust.KeyID // the key that signed
	IssuedAt time.Time   // UTC, to the second
	Expires  time.Time   // UTC
}

// NativeCode is a native code that an operator signs directly with an
// issuer's private key, as "sentinel-central issue" does: unlike the
// endpoint, the colour is the operator's, not the status store's.
type NativeCode struct {
	Issuer string        // the issuing region, e.g. ZJ
	Key    crypto.Signer // the issuer's private key
	// Claims of the code; IssuedAt zero means now, TTL zero
	// healthcode.DefaultTTL.
	Claims healthcode.Claims
	// Holder, for a holder-bound code, is the holder's private key: the
	// result is then the rolling presentation at the issue time (tests
	// and demonstrations).
	Holder crypto.Signer
}

// IssueNative signs n at now (or at n.Claims.IssuedAt).
func IssueNative(n NativeCode, now time.Time) (Issued, error) {
	c := n.Claims
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second)
	if c.TTL == 0 {
		c.TTL = healthcode.DefaultTTL
	}
	if n.Holder != nil && c.HolderKey == nil {
		return Issued{}, fmt.Errorf("issue: a rolling presentation needs a holder-bound code (HolderKey)")
	}
	is, err := healthcode.NewIssuer(n.Issuer, n.Key, nil)
	if err != nil {
		return Issued{}, err
	}
	code, err := is.Issue(c)
	if err != nil {
		return Issued{}, err
	}
	if n.Holder != nil {
		if code, err = healthcode.Present(code, n.Holder, c.IssuedAt); err != nil {
			return Issued{}, fmt.Errorf("present: %w", err)
		}
	}
	return Issued{Code: code, KID: is.KeyID(), IssuedAt: c.IssuedAt.UTC(), Expires: c.IssuedAt.Add(c.TTL).UTC()}, nil
}

// DCC types.
const (
	DCCVaccination = "v"
	DCCTest        = "t"
	DCCRecovery    = "r"
)

// DCCCode is an EU Digital COVID Certificate that an operator signs with
// a document signer certificate of their own, for tests and
// demonstrations: terminals accept it only when they trust that
// certificate.
type DCCCode struct {
	Cert *x509.Certificate // the document signer certificate
	Key  crypto.Signer     // its private key
	Type string            // DCCVaccination, DCCTest or DCCRecovery

	Family, Given string // the holder's names
	DOB           string // date of birth, YYYY-MM-DD
	Country       string // issuing country, ISO 3166 alpha-2: the iss claim and co
	CI            string // certificate identifier; empty: a random URN:UVCI

	At   time.Time     // the time of issuance; zero: now
	Date time.Time     // of vaccination, test sample or first positive test; zero: 14 days, 2 hours or 30 days before At
	TTL  time.Duration // lifetime

	Dose, Doses int  // dose number and doses in the series (vaccination)
	Detected    bool // the test result is positive (test)
}

// covid is the SNOMED CT code of the disease every DCC here is about.
const covid = "840539006"

// IssueDCC signs d at now (or at d.At).
func IssueDCC(d DCCCode, now time.Time) (Issued, error) {
	iat := d.At
	if iat.IsZero() {
		iat = now
	}
	iat = iat.UTC().Truncate(time.Second)
	ci := d.CI
	if ci == "" {
		var b [12]byte
		rand.Read(b[:])
		ci = "URN:UVCI:01:" + d.Country + ":" + strings.ToUpper(hex.EncodeToString(b[:]))
	}
	hc := dcc.HCert{
		Ver: "1.3.0",
		Nam: dcc.Name{FN: d.Family, FNT: credential.NormaliseName(d.Family), GN: d.Given, GNT: credential.NormaliseName(d.Given)},
		DOB: d.DOB,
	}
	when := func(def time.Duration) time.Time {
		if !d.Date.IsZero() {
			return d.Date
		}
		return iat.Add(-def)
	}
	const issuer = "Sentinel demo issuer"
	switch d.Type {
	case DCCVaccination:
		hc.V = []dcc.Vaccination{{TG: covid, VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: dcc.Int(d.Dose), SD: dcc.Int(d.Doses), DT: when(14 * 24 * time.Hour).Format(time.DateOnly),
			CO: d.Country, IS: issuer, CI: ci}}
	case DCCTest:
		result := "260415000" // not detected
		if d.Detected {
			result = "260373001"
		}
		hc.T = []dcc.Test{{TG: covid, TT: "LP217198-3", MA: "1232", SC: when(2 * time.Hour).Format(time.RFC3339),
			TR: result, TC: "Sentinel demo test centre", CO: d.Country, IS: issuer, CI: ci}}
	case DCCRecovery:
		fr := when(30 * 24 * time.Hour)
		hc.R = []dcc.Recovery{{TG: covid, FR: fr.Format(time.DateOnly), CO: d.Country, IS: issuer,
			DF: fr.Add(11 * 24 * time.Hour).Format(time.DateOnly), DU: fr.Add(180 * 24 * time.Hour).Format(time.DateOnly), CI: ci}}
	default:
		return Issued{}, fmt.Errorf("issue dcc: type %q: want v, t or r", d.Type)
	}
	code, err := dcc.Sign(d.Cert, d.Key, hc, d.Country, iat, iat.Add(d.TTL))
	if err != nil {
		return Issued{}, err
	}
	return Issued{Code: code, KID: trust.KeyIDOf(d.Cert.Raw), IssuedAt: iat, Expires: iat.Add(d.TTL)}, nil
}
