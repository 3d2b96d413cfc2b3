package demo

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"time"

	"sentinel/crypto/trust"
)

// shcIssuer is the demo's SMART Health Card issuer.
const shcIssuer = "https://demo.sentinel.invalid/shc"

// jwks returns the issuer's key set as .well-known/jwks.json serves it.
func jwks(pub *ecdsa.PublicKey) []byte {
	pt, err := pub.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		panic(err) // a P-256 key made above
	}
	b64 := base64.RawURLEncoding.EncodeToString
	set := map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
		"kid": trust.Thumbprint(pub), "x": b64(pt[1:33]), "y": b64(pt[33:]),
	}}}
	data, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	return data
}

// shcCard is the verifiable credential of a vaccinated holder.
func shcCard(now time.Time) map[string]any {
	return map[string]any{
		"type": []string{"https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection",
			"entry": []any{
				map[string]any{"fullUrl": "resource:0", "resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"family": "Anyperson", "given": []string{"Jane"}}}, "birthDate": "1961-01-20"}},
				map[string]any{"fullUrl": "resource:1", "resource": map[string]any{"resourceType": "Immunization", "status": "completed",
					"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}}},
					"patient":            map[string]any{"reference": "resource:0"},
					"occurrenceDateTime": now.Add(-90 * 24 * time.Hour).Format("2006-01-02")}},
				map[string]any{"fullUrl": "resource:2", "resource": map[string]any{"resourceType": "Immunization", "status": "completed",
					"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}}},
					"patient":            map[string]any{"reference": "resource:0"},
					"occurrenceDateTime": now.Add(-60 * 24 * time.Hour).Format("2006-01-02")}},
			},
		}},
	}
}
