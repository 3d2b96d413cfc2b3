package shc

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// claims is the part of the JWS payload the gate uses, decoded in one pass
// before the signature is checked. A field of the wrong type does not stop
// decoding; it is kept in typeErr and reported only once the signature
// holds.
type claims struct {
	Iss string          `json:"iss"`
	Nbf json.RawMessage `json:"nbf"`
	Exp json.RawMessage `json:"exp"`
	VC  *vc             `json:"vc"`

	typeErr error
}

// vc is the part of the verifiable credential the gate uses.
type vc struct {
	Type              []string `json:"type"`
	Rid               *string  `json:"rid"`
	CredentialSubject *struct {
		FHIRVersion string  `json:"fhirVersion"`
		FHIRBundle  *bundle `json:"fhirBundle"`
	} `json:"credentialSubject"`
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		Resource resource `json:"resource"`
	} `json:"entry"`
}

// resource holds the fields of the FHIR resources the gate reads: Patient,
// Immunization, Observation and DiagnosticReport.
type resource struct {
	ResourceType string `json:"resourceType"`
	Status       string `json:"status"`
	// Patient
	Name []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	BirthDate string `json:"birthDate"`
	// Immunization
	VaccineCode        concept `json:"vaccineCode"`
	OccurrenceDateTime string  `json:"occurrenceDateTime"`
	// Observation and DiagnosticReport
	Code                 concept  `json:"code"`
	EffectiveDateTime    string   `json:"effectiveDateTime"`
	ValueCodeableConcept *concept `json:"valueCodeableConcept"`
}

type concept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

const (
	systemCVX    = "http://hl7.org/fhir/sid/cvx"
	systemSNOMED = "http://snomed.info/sct"
)

// code returns the concept's first code: bare for CVX, "system|code"
// otherwise.
func (c concept) code() string {
	for _, cd := range c.Coding {
		if cd.Code == "" {
			continue
		}
		if cd.System == systemCVX || cd.System == "" {
			return cd.Code
		}
		return cd.System + "|" + cd.Code
	}
	return ""
}

// testResult maps the SNOMED qualifier of a qualitative result.
func (c *concept) testResult() string {
	if c == nil {
		return ""
	}
	for _, cd := range c.Coding {
		if cd.System != systemSNOMED {
			continue
		}
		switch cd.Code {
		case "260373001", "10828004": // detected, positive
			return "detected"
		case "260415000", "260385009": // not detected, negative
			return "not-detected"
		}
	}
	return ""
}

// numericDate converts a JWT NumericDate (seconds since 1970, possibly with
// a fraction, as the specification's examples have) to a time with
// millisecond precision. ok is false for values that are not JSON numbers
// in 1970…9999.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, false // a string, null, negative or absent
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f > 253402300799 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), true
}

// fhirDate parses a FHIR date or dateTime ("2021-01-29",
// "2015-08-16T06:40:17Z", also partial "2021-01" and "2021").
func fhirDate(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// hasType reports whether the VC type list has the health-card type.
func hasType(types []string) bool {
	for _, t := range types {
		if t == "https://smarthealth.cards#health-card" {
			return true
		}
	}
	return false
}

func joinGiven(given []string) string { return strings.Join(given, " ") }
