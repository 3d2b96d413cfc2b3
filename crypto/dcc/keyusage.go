package dcc

import (
	"crypto/x509"
	"encoding/asn1"

	"sentinel/crypto/credential"
)

// The extended key usage OIDs that limit a document signer certificate to
// certificate types: 1.3.6.1.4.1.1847.2021.1.{1,2,3} as the eHealth
// Network's specification writes them, and 1.3.6.1.4.1.0.1847.2021.1.{1,2,3},
// the variant that many member states issued (and the corpus's common
// cases use). Both are honoured.
var (
	oidTest        = []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1}, {1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1}}
	oidVaccination = []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2}, {1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2}}
	oidRecovery    = []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3}, {1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3}}
)

// usage is the set of certificate types a DSC may sign.
type usage struct{ vacc, test, rec bool }

// usageOf reads the DCC key usage of a certificate. A certificate with none
// of the DCC OIDs (other extended key usages do not count) may sign every
// type.
func usageOf(cert *x509.Certificate) usage {
	var u usage
	if cert == nil {
		return usage{true, true, true}
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		switch {
		case hasOID(oidTest, oid):
			u.test = true
		case hasOID(oidVaccination, oid):
			u.vacc = true
		case hasOID(oidRecovery, oid):
			u.rec = true
		}
	}
	if u == (usage{}) {
		return usage{true, true, true}
	}
	return u
}

func hasOID(set []asn1.ObjectIdentifier, oid asn1.ObjectIdentifier) bool {
	for _, o := range set {
		if o.Equal(oid) {
			return true
		}
	}
	return false
}

// checkKeyUsage refuses a certificate whose types the DSC may not sign
// (stage "key usage"). Every group present must be allowed.
func checkKeyUsage(cert *x509.Certificate, h *HCert) error {
	vacc, test, rec := h.kinds()
	return checkUsage(cert, vacc, test, rec)
}

// checkUsage refuses the certificate types present that the DSC may not
// sign.
func checkUsage(cert *x509.Certificate, vacc, test, rec bool) error {
	u := usageOf(cert)
	for _, c := range []struct {
		present, allowed bool
		kind             string
	}{{vacc, u.vacc, KindVaccination}, {test, u.test, KindTest}, {rec, u.rec, KindRecovery}} {
		if c.present && !c.allowed {
			return credential.Reject(credential.FormatDCC, credential.ReasonKeyUsage,
				"the document signer certificate may not sign %s certificates", c.kind)
		}
	}
	return nil
}
