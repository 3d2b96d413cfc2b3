package shc

import (
	"crypto/sha256"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// NotBeforeSkew is how far in the future a card's nbf may lie and still be
// accepted: a card issued a moment ago must pass a gate whose clock is a
// little behind the issuer's.
const NotBeforeSkew = 5 * time.Minute

// Verify checks the card against the trusted SMART Health Card keys of
// store at time now and returns the verified credential, or a
// *credential.Rejection.
//
// The checks, in order: a trusted key with the header's kid
// (ReasonUnknownKey), the ES256 signature (ReasonBadSignature), the key's
// issuer equal to the card's iss when the key set was loaded for an issuer
// (ReasonBadIssuer), the key's validity window at now (ReasonKeyNotValid),
// the content (ReasonBadStructure: vc of type health-card with a FHIR
// Bundle, nbf present, a well-formed rid), the issuer's revocation list
// (ReasonRevoked), exp not before nbf (ReasonExpired: such a card is never
// valid), nbf against now plus [NotBeforeSkew] (ReasonNotYetValid) and exp
// against now (ReasonExpired). Content is judged only once the signature
// holds, so a forged card is reported as forged.
func (u *Unverified) Verify(store *trust.Store, now time.Time) (*credential.Credential, error) {
	if store == nil {
		return nil, reject(credential.ReasonNoTrust, "verify: no trust store")
	}
	key, err := u.key(store)
	if err != nil {
		return nil, err
	}
	c := &u.claims
	if !key.Validity.Contains(now) {
		return nil, reject(credential.ReasonKeyNotValid, "verify: key %s is trusted from %s to %s only",
			u.Header.Kid, fmtTime(key.NotBefore), fmtTime(key.NotAfter))
	}
	if c.typeErr != nil {
		return nil, reject(credential.ReasonBadStructure, "verify: payload: %w", c.typeErr)
	}
	v := c.VC
	if v == nil {
		return nil, reject(credential.ReasonBadStructure, "verify: no vc object")
	}
	if !hasType(v.Type) {
		return nil, reject(credential.ReasonBadStructure, "verify: vc.type lacks https://smarthealth.cards#health-card")
	}
	if v.CredentialSubject == nil || v.CredentialSubject.FHIRBundle == nil ||
		v.CredentialSubject.FHIRBundle.ResourceType != "Bundle" {
		return nil, reject(credential.ReasonBadStructure, "verify: vc.credentialSubject has no FHIR Bundle")
	}
	if c.Nbf == nil {
		return nil, reject(credential.ReasonBadStructure, "verify: no nbf (issuance time)")
	}
	nbf, ok := numericDate(c.Nbf)
	if !ok {
		return nil, reject(credential.ReasonBadStructure, "verify: nbf %q is not a time", truncate(string(c.Nbf), 24))
	}
	var exp time.Time
	if c.Exp != nil {
		if exp, ok = numericDate(c.Exp); !ok {
			return nil, reject(credential.ReasonBadStructure, "verify: exp %q is not a time", truncate(string(c.Exp), 24))
		}
	}
	rid := ""
	if v.Rid != nil {
		rid = *v.Rid
		if err := trust.ValidRID(rid); err != nil {
			return nil, reject(credential.ReasonBadStructure, "verify: vc.rid: %w", err)
		}
	}
	if key.CRL.Revoked(rid, nbf) {
		also := ""
		if !exp.IsZero() && !now.Before(exp) {
			also = "; the card also expired " + fmtTime(exp)
		}
		return nil, reject(credential.ReasonRevoked, "verify: rid %s is on the issuer's revocation list (version %d)%s", rid, key.CRL.Version, also)
	}
	switch {
	case !exp.IsZero() && exp.Before(nbf):
		return nil, reject(credential.ReasonExpired, "verify: exp %s is before nbf %s: the card is never valid", fmtTime(exp), fmtTime(nbf))
	case now.Add(NotBeforeSkew).Before(nbf):
		return nil, reject(credential.ReasonNotYetValid, "verify: nbf %s is after now %s", fmtTime(nbf), fmtTime(now))
	case !exp.IsZero() && !now.Before(exp):
		return nil, reject(credential.ReasonExpired, "verify: expired %s", fmtTime(exp))
	}
	cred := &credential.Credential{
		Format:     credential.FormatSHC,
		Issuer:     c.Iss,
		KeyID:      []byte(u.Header.Kid),
		IssuedAt:   nbf,
		NotBefore:  nbf,
		Expires:    exp,
		Revocation: rid,
		// The signing input as transmitted: a re-encoded JWS fails its
		// signature, so every copy of the card has this fingerprint.
		Fingerprint: sha256.Sum256([]byte(u.signingInput)),
	}
	content(cred, v.CredentialSubject.FHIRBundle, store.PseudonymKey())
	return cred, nil
}

// key finds the trusted key that signed the card and may sign for its iss.
func (u *Unverified) key(store *trust.Store) (*trust.SHCKey, error) {
	keys := store.SHCKeys(u.Header.Kid)
	if len(keys) == 0 {
		return nil, reject(credential.ReasonUnknownKey, "verify: no trusted key set has kid %s: load the issuer's jwks.json", truncate(u.Header.Kid, 48))
	}
	msg := []byte(u.signingInput)
	signed, firstOK := false, false
	for i, k := range keys {
		// Keys with one kid are normally one public key (the kid is its
		// thumbprint) loaded for several issuers: check it once.
		var ok bool
		if i > 0 && k.Public.Equal(keys[0].Public) {
			ok = firstOK
		} else {
			ok = cose.VerifySignature(cose.AlgES256, k.Public, msg, u.sig[:]) == nil
			if i == 0 {
				firstOK = ok
			}
		}
		if !ok {
			continue
		}
		signed = true
		if k.Issuer == "" || k.Issuer == u.claims.Iss {
			if u.claims.Iss == "" {
				return nil, reject(credential.ReasonBadIssuer, "verify: no iss in the card")
			}
			return k, nil
		}
	}
	if !signed {
		return nil, reject(credential.ReasonBadSignature, "verify: ES256 signature does not verify with key %s", u.Header.Kid)
	}
	return nil, reject(credential.ReasonBadIssuer, "verify: iss %q is not the issuer that key %s is trusted for (%s)",
		truncate(u.claims.Iss, 80), u.Header.Kid, keys[0].Issuer)
}

// content fills the holder, masked name and facts from the FHIR Bundle.
func content(cred *credential.Credential, b *bundle, pseudonymKey []byte) {
	var (
		family, given, dob string
		patient            bool
		imm, obs           int
		latestImm          resource
		latestImmAt        time.Time
		latestObs          resource
		latestObsAt        time.Time
		report             string
	)
	for _, e := range b.Entry {
		r := &e.Resource
		switch r.ResourceType {
		case "Patient":
			if patient {
				continue // the first Patient is the holder
			}
			patient = true
			if len(r.Name) > 0 {
				family, given = r.Name[0].Family, joinGiven(r.Name[0].Given)
			}
			dob = r.BirthDate
		case "Immunization":
			if r.Status == "entered-in-error" || r.Status == "not-done" {
				continue
			}
			imm++
			if at := fhirDate(r.OccurrenceDateTime); imm == 1 || !at.Before(latestImmAt) {
				latestImm, latestImmAt = *r, at
			}
		case "Observation":
			if r.Status == "entered-in-error" || r.Status == "cancelled" {
				continue
			}
			obs++
			if at := fhirDate(r.EffectiveDateTime); obs == 1 || !at.Before(latestObsAt) {
				latestObs, latestObsAt = *r, at
			}
		case "DiagnosticReport":
			if report == "" {
				report = r.Code.code()
			}
		}
	}
	if patient {
		cred.DisplayName = credential.MaskName(family, given)
		// A nameless Patient gets no pseudonym: every such card would
		// share one.
		if len(pseudonymKey) > 0 && (family != "" || given != "") {
			cred.Holder = credential.Holder{
				Kind:      credential.HolderPseudonym,
				Pseudonym: credential.Pseudonym(pseudonymKey, family, given, dob),
			}
		}
	}
	switch {
	case imm > 0:
		cred.Facts = &credential.Facts{
			Kind:    "immunization",
			Count:   imm,
			Product: latestImm.VaccineCode.code(),
			Date:    latestImmAt,
		}
	case obs > 0 || report != "":
		product := report
		if product == "" {
			product = latestObs.Code.code()
		}
		cred.Facts = &credential.Facts{
			Kind:       "test",
			Count:      obs,
			Product:    product,
			Date:       latestObsAt,
			TestResult: latestObs.ValueCodeableConcept.testResult(),
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "open"
	}
	return t.UTC().Format(time.RFC3339)
}
