package dcc

import (
	"strings"
	"time"

	"testing"

	"sentinel/crypto/credential"
)

// TestSchemaFormats: the schemas declare "format": "date" (dob up to
// 1.0.1, dt, fr, df, du) and "format": "date-time" (sc, dr), and EU
// verifiers' validators assert them; a JSON Schema 2020-12 compiler treats
// format as an annotation unless told otherwise. Each certificate here
// passed the schema before formats were asserted.
func TestSchemaFormats(t *testing.T) {
	for _, c := range []struct {
		name string
		make func() map[string]any
	}{
		{"1.0.0 dob around the unanchored pattern", func() map[string]any {
			m := hcertMap(t, vaccination())
			m["ver"], m["dob"] = "1.0.0", "1980-04-12, or so"
			return m
		}},
		{"1.0.0 dob with text before the date", func() map[string]any {
			m := hcertMap(t, vaccination())
			m["ver"], m["dob"] = "1.0.0", "born 1980-04-12"
			return m
		}},
		{"dt not a date", func() map[string]any {
			m := hcertMap(t, vaccination())
			entryOf(m)["dt"] = "2026-13-40"
			return m
		}},
		{"sc not a date-time", func() map[string]any {
			m := hcertMap(t, testCert())
			entryOf(m)["sc"] = "2026-05-19 07:30"
			return m
		}},
		{"du not a date", func() map[string]any {
			m := hcertMap(t, recovery())
			entryOf(m)["du"] = "2026-10-01 (six months)"
			return m
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := verifyOwn(t, c.make(), nil)
			if r := credential.ReasonOf(err); r != credential.ReasonSchema {
				t.Errorf("got %v (reason %q), want a schema refusal", err, r)
			}
		})
	}
	// A well-formed date and date-time still pass, in 1.0.0 and today.
	for _, ver := range []string{"1.0.0", "1.3.0"} {
		for _, h := range []*HCert{vaccination(), testCert(), recovery()} {
			m := hcertMap(t, h)
			m["ver"] = ver
			if _, err := verifyOwn(t, m, nil); err != nil {
				t.Errorf("%s %v: %v", ver, h, err)
			}
		}
	}
}

// TestBirthAfterIssue: a certificate issued before the day its holder was
// born is refused, for any issuer and at any clock; a birth on the day of
// issue, and partial dates of birth, are not.
func TestBirthAfterIssue(t *testing.T) {
	iat := time.Date(2021, 5, 30, 11, 38, 0, 0, time.UTC)
	for dob, refused := range map[string]bool{
		"2023-01-01": true, "2021-05-31": false, // the next day somewhere east of UTC
		"2021-06-01": true, "2022": true, "2021-07": true, "2022-00": true,
		"2021-05-30": false, "2021": false, "2021-05": false, "1963-00": false,
		"": false, "1980-04-12": false,
	} {
		err := checkBirth(dob, iat)
		if got := err != nil; got != refused {
			t.Errorf("dob %q issued %s: refused %v (%v), want %v", dob, iat, got, err, refused)
		}
		if err != nil && (credential.ReasonOf(err) != credential.ReasonSchema || strings.Contains(err.Error(), dob)) {
			t.Errorf("dob %q: %v: want a schema refusal that does not repeat the birth date", dob, err)
		}
	}
	// Through Verify, with a certificate of our own.
	m := hcertMap(t, vaccination())
	m["dob"] = "2099-01-01"
	if _, err := verifyOwn(t, m, nil); credential.ReasonOf(err) != credential.ReasonSchema || !strings.Contains(err.Error(), "date of birth") {
		t.Errorf("dob after iat: %v", err)
	}
}
