package certlogic

import "time"

// External is what a verifier knows besides the certificate, which a
// rule reads under "external": the validation clock, the value sets and
// who asks.
type External struct {
	ValidationClock   time.Time // when the certificate is checked
	ValueSets         ValueSets
	CountryCode       string    // the country whose rules apply (where the holder arrives)
	IssuerCountryCode string    // the certificate's issuing country
	Exp, Iat          time.Time // the CWT's expiry and issue time; zero when unknown
	Kid               string    // the signing key's identifier, base64
	Region            string
}

// ValueSets are the EU value sets a rule reads under
// external.valueSets, by name (as "country-2-codes"), each a list of
// codes. Build them once per value-set bundle with NewValueSets; they are
// then shared, read-only, by every evaluation.
type ValueSets struct{ m map[string]any }

// NewValueSets converts lists of codes by value-set name.
func NewValueSets(sets map[string][]string) ValueSets {
	m := make(map[string]any, len(sets))
	for name, codes := range sets {
		arr := make([]any, len(codes))
		for i, c := range codes {
			arr[i] = c
		}
		m[name] = arr
	}
	return ValueSets{m}
}

// Data returns the data context of a rule: {"payload": payload,
// "external": {...}}. payload is the DCC's hcert claim in the value form
// of DecodeJSON. Times are written as RFC 3339 in UTC; a zero time is
// left out.
func Data(payload any, ext External) map[string]any {
	e := map[string]any{}
	if ext.ValueSets.m != nil {
		e["valueSets"] = ext.ValueSets.m
	} else {
		e["valueSets"] = map[string]any{}
	}
	putTime := func(k string, t time.Time) {
		if !t.IsZero() {
			e[k] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	putString := func(k, v string) {
		if v != "" {
			e[k] = v
		}
	}
	putTime("validationClock", ext.ValidationClock)
	putTime("exp", ext.Exp)
	putTime("iat", ext.Iat)
	putString("countryCode", ext.CountryCode)
	putString("issuerCountryCode", ext.IssuerCountryCode)
	putString("kid", ext.Kid)
	putString("region", ext.Region)
	return map[string]any{"payload": payload, "external": e}
}
