package dcc

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
)

// content is the signed content of an HC1 code: the CWT claims and the
// health certificate.
type content struct {
	Issuer   string    // CWT iss: the issuing country
	IssuedAt time.Time // CWT iat
	Expires  time.Time // CWT exp
	HCert    HCert     // claim -260, entry 1
}

// HCert is the EU DCC health certificate (the hcert claim, key -260/1) as
// the official JSON schema defines it. Field names follow the schema.
type HCert struct {
	Ver string        `cbor:"ver" json:"ver"`
	Nam Name          `cbor:"nam" json:"nam"`
	DOB string        `cbor:"dob" json:"dob"`
	V   []Vaccination `cbor:"v,omitempty" json:"v,omitempty"`
	T   []Test        `cbor:"t,omitempty" json:"t,omitempty"`
	R   []Recovery    `cbor:"r,omitempty" json:"r,omitempty"`
}

// Name is the holder's name as written (fn, gn) and transliterated to ICAO
// 9303 (fnt, gnt).
type Name struct {
	FN  string `cbor:"fn,omitempty" json:"fn,omitempty"`
	FNT string `cbor:"fnt,omitempty" json:"fnt,omitempty"`
	GN  string `cbor:"gn,omitempty" json:"gn,omitempty"`
	GNT string `cbor:"gnt,omitempty" json:"gnt,omitempty"`
}

// Vaccination is one vaccination entry (v).
type Vaccination struct {
	TG string `cbor:"tg" json:"tg"` // disease or agent targeted
	VP string `cbor:"vp" json:"vp"` // vaccine or prophylaxis
	MP string `cbor:"mp" json:"mp"` // medicinal product
	MA string `cbor:"ma" json:"ma"` // marketing authorisation holder
	DN Int    `cbor:"dn" json:"dn"` // dose number
	SD Int    `cbor:"sd" json:"sd"` // total doses in the series
	DT string `cbor:"dt" json:"dt"` // date of vaccination
	CO string `cbor:"co" json:"co"` // country
	IS string `cbor:"is" json:"is"` // certificate issuer
	CI string `cbor:"ci" json:"ci"` // certificate identifier
}

// Test is one test entry (t).
type Test struct {
	TG string `cbor:"tg" json:"tg"`
	TT string `cbor:"tt" json:"tt"`                     // type of test
	NM string `cbor:"nm,omitempty" json:"nm,omitempty"` // test name (NAAT)
	MA string `cbor:"ma,omitempty" json:"ma,omitempty"` // test device (RAT)
	SC string `cbor:"sc" json:"sc"`                     // sample collection time
	DR string `cbor:"dr,omitempty" json:"dr,omitempty"` // result time (schema 1.0.x only)
	TR string `cbor:"tr" json:"tr"`                     // result
	TC string `cbor:"tc,omitempty" json:"tc,omitempty"` // testing centre
	CO string `cbor:"co" json:"co"`
	IS string `cbor:"is" json:"is"`
	CI string `cbor:"ci" json:"ci"`
}

// Recovery is one recovery entry (r).
type Recovery struct {
	TG string `cbor:"tg" json:"tg"`
	FR string `cbor:"fr" json:"fr"` // first positive test result
	CO string `cbor:"co" json:"co"`
	IS string `cbor:"is" json:"is"`
	DF string `cbor:"df" json:"df"` // valid from
	DU string `cbor:"du" json:"du"` // valid until
	CI string `cbor:"ci" json:"ci"`
}

// Int is a dose count. It decodes from a CBOR integer or, as some issuers
// write it, a float without fraction (JSON Schema's "integer").
type Int int

// UnmarshalCBOR accepts an integer or an integral float.
func (n *Int) UnmarshalCBOR(b []byte) error {
	if len(b) > 0 && b[0]>>5 == 7 {
		var f float64
		if err := decMode.Unmarshal(b, &f); err != nil {
			return err
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			return fmt.Errorf("dcc: dose %v is not an integer", f)
		}
		*n = Int(f)
		return nil
	}
	var i int32
	if err := decMode.Unmarshal(b, &i); err != nil {
		return err
	}
	*n = Int(i)
	return nil
}

var decMode = cose.DecMode()

// The certificate types, as the key usage OIDs and Facts name them.
const (
	KindVaccination = "vaccination"
	KindTest        = "test"
	KindRecovery    = "recovery"
)

// rawCWT is the CWT claims set of an HC1 code.
type rawCWT struct {
	Iss   string           `cbor:"1,keyasint,omitempty"`
	Exp   cose.NumericDate `cbor:"4,keyasint,omitempty"`
	Iat   cose.NumericDate `cbor:"6,keyasint,omitempty"`
	HCert struct {
		V1 cbor.RawMessage `cbor:"1,keyasint,omitempty"`
	} `cbor:"-260,keyasint,omitempty"`
}

// decodeClaims decodes the CWT claims and keeps the raw hcert (stage
// "decode"): a payload that is not well-formed CBOR, not a map, or has no
// hcert claim is ReasonBadStructure.
func decodeClaims(payload []byte) (*rawCWT, error) {
	if len(payload) == 0 || payload[0]>>5 != 5 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadStructure,
			"payload: the CWT claims are not a CBOR map")
	}
	c := new(rawCWT)
	if err := decMode.Unmarshal(payload, c); err != nil {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadStructure, "payload: %v", err)
	}
	if len(c.HCert.V1) == 0 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadStructure,
			"payload: no health certificate (claim -260/1)")
	}
	if c.HCert.V1[0]>>5 != 5 {
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonBadStructure,
			"payload: the health certificate is not a CBOR map")
	}
	return c, nil
}

// typedCWT decodes the claims and the health certificate in one pass.
type typedCWT struct {
	Iss   string           `cbor:"1,keyasint,omitempty"`
	Exp   cose.NumericDate `cbor:"4,keyasint,omitempty"`
	Iat   cose.NumericDate `cbor:"6,keyasint,omitempty"`
	HCert struct {
		V1 *HCert `cbor:"1,keyasint,omitempty"`
	} `cbor:"-260,keyasint,omitempty"`
}

// decodeContent decodes the CWT claims and the typed health certificate
// (stages "decode" and the typed half of "schema"). The common case takes
// one pass; on any failure the two steps run apart, to tell a malformed
// payload (ReasonBadStructure) from content of the wrong type
// (ReasonSchema).
func decodeContent(payload []byte, p *content) error {
	var c typedCWT
	if len(payload) > 0 && payload[0]>>5 == 5 && decMode.Unmarshal(payload, &c) == nil && c.HCert.V1 != nil {
		p.Issuer, p.IssuedAt, p.Expires, p.HCert = c.Iss, c.Iat.Time(), c.Exp.Time(), *c.HCert.V1
		return nil
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return err
	}
	if err := decodeHCert(claims.HCert.V1, &p.HCert); err != nil {
		return err
	}
	p.Issuer, p.IssuedAt, p.Expires = claims.Iss, claims.Iat.Time(), claims.Exp.Time()
	return nil
}

// decodeHCert decodes the health certificate into typed fields. The CBOR
// is well-formed (decodeClaims checked it), so a failure here is content of
// the wrong type: ReasonSchema.
func decodeHCert(raw []byte, h *HCert) error {
	if err := decMode.Unmarshal(raw, h); err != nil {
		return credential.Reject(credential.FormatDCC, credential.ReasonSchema, "health certificate: %v", err)
	}
	return nil
}

// kinds returns the certificate types present.
func (h *HCert) kinds() (vacc, test, rec bool) {
	return len(h.V) > 0, len(h.T) > 0, len(h.R) > 0
}

// checkOne enforces exactly one of v, t and r, with exactly one entry: the
// rule of every schema version, checked even when the schema is skipped
// because the credential could not be mapped otherwise.
func (h *HCert) checkOne() error {
	n := 0
	for _, l := range []int{len(h.V), len(h.T), len(h.R)} {
		if l > 1 {
			return credential.Reject(credential.FormatDCC, credential.ReasonSchema,
				"health certificate holds %d entries in one group, want 1", l)
		}
		n += l
	}
	if n != 1 {
		return credential.Reject(credential.FormatDCC, credential.ReasonSchema,
			"health certificate holds %d of the groups v, t and r, want exactly 1", n)
	}
	return nil
}

// SNOMED CT codes of test results.
const (
	snomedNotDetected = "260415000"
	snomedDetected    = "260373001"
)

// facts maps the single entry of h to credential facts.
func (h *HCert) facts() (f *credential.Facts, ci string) {
	f = new(credential.Facts)
	switch {
	case len(h.V) > 0:
		v := &h.V[0]
		f.Kind, f.Disease, f.Product = KindVaccination, v.TG, v.MP
		f.Dose, f.TotalDoses = int(v.DN), int(v.SD)
		f.Date = parseDate(v.DT)
		ci = v.CI
	case len(h.T) > 0:
		t := &h.T[0]
		f.Kind, f.Disease, f.Product = KindTest, t.TG, t.TT
		f.Date = parseDate(t.SC)
		switch t.TR {
		case snomedNotDetected:
			f.TestResult = "not-detected"
		case snomedDetected:
			f.TestResult = "detected"
		}
		ci = t.CI
	case len(h.R) > 0:
		r := &h.R[0]
		f.Kind, f.Disease = KindRecovery, r.TG
		f.Date = parseDate(r.FR)
		f.ValidFrom = parseDate(r.DF)
		f.ValidUntil = parseDate(r.DU)
		ci = r.CI
	}
	return f, ci
}

// parseDate reads the dates and times of a DCC: a date (2021-05-03), a date
// and time with or without a zone (some issuers write times where the
// schema says date). Anything else gives the zero time; the schema is the
// judge of the text.
func parseDate(s string) time.Time {
	if len(s) == len("2006-01-02") {
		t, err := time.Parse(time.DateOnly, s)
		if err == nil {
			return t
		}
		return time.Time{}
	}
	return ParseTime(s)
}

// ParseTime reads an ISO 8601 date-time as EU DCC data writes it: with a
// zone ("Z", "+01:00" or "+0100") or without one (UTC), with 0 to 9
// fraction digits. It returns the zero time when s is none of these.
func ParseTime(s string) time.Time {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if len(s) > 5 {
		// "+0000": insert the colon RFC 3339 wants.
		z := s[len(s)-5:]
		if (z[0] == '+' || z[0] == '-') && !strings.Contains(z, ":") {
			return ParseTime(s[:len(s)-2] + ":" + s[len(s)-2:])
		}
	}
	return time.Time{}
}

var timeLayouts = []string{
	time.RFC3339Nano,                // fraction optional on parse
	"2006-01-02T15:04:05.999999999", // no zone: UTC
}

// The leniencies of EU verifiers towards what early issuers wrote (see
// "Caveats" in the package documentation).

// lenient reads the typed certificate as EU verifiers read it: a date-time
// where schema 1.0.x wants a date (dob, v.dt, r.fr, r.df, r.du) is read as
// its date, so that the facts and the holder's pseudonym are those of the
// date. A null group decodes to an absent one already.
func (h *HCert) lenient() {
	if !lenientDates(h.Ver) {
		return
	}
	h.DOB = dateOf(h.DOB)
	for i := range h.V {
		h.V[i].DT = dateOf(h.V[i].DT)
	}
	for i := range h.R {
		r := &h.R[i]
		r.FR, r.DF, r.DU = dateOf(r.FR), dateOf(r.DF), dateOf(r.DU)
	}
}

// lenientTree does the same to the JSON values the schema judges, and
// drops a group whose value is null ("r": null), which early Bulgarian
// certificates of schema 1.0.0 carry for the groups they do not use.
func lenientTree(doc any, ver string) {
	m, ok := doc.(map[string]any)
	if !ok {
		return
	}
	for _, g := range []string{"v", "t", "r"} {
		if v, ok := m[g]; ok && v == nil {
			delete(m, g)
		}
	}
	if !lenientDates(ver) {
		return
	}
	if s, ok := m["dob"].(string); ok {
		m["dob"] = dateOf(s)
	}
	for g, fields := range map[string][]string{"v": {"dt"}, "r": {"fr", "df", "du"}} {
		l, _ := m[g].([]any)
		for _, e := range l {
			em, _ := e.(map[string]any)
			for _, f := range fields {
				if s, ok := em[f].(string); ok {
					em[f] = dateOf(s)
				}
			}
		}
	}
}

// lenientDates reports whether ver is a 1.0.x version, whose issuers
// wrote date-times where the schema says date.
func lenientDates(ver string) bool { return strings.HasPrefix(ver, "1.0.") }

// dateOf returns the date of a date-time ("2021-05-10T10:00:00+02:00" →
// "2021-05-10", the date as written), and anything else unchanged.
func dateOf(s string) string {
	if len(s) > len(time.DateOnly) && s[len(time.DateOnly)] == 'T' && !ParseTime(s).IsZero() {
		if _, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)]); err == nil {
			return s[:len(time.DateOnly)]
		}
	}
	return s
}

// checkBirth refuses a certificate issued before its holder was born: the
// earliest day its date of birth can name (1963 names 1963-01-01, and so
// does 1963-00) after the day of iat in the easternmost time zone. No
// schema version bounds dob by a date; a birth date after the issue is an
// issuer's mistake that no holder can match, whatever the clock.
func checkBirth(dob string, iat time.Time) error {
	if len(dob) < 4 || iat.IsZero() {
		return nil
	}
	num := func(s string) int {
		n := 0
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, d := num(dob[:4]), 1, 1
	if y < 0 {
		return nil
	}
	if len(dob) >= 7 && dob[4] == '-' {
		if mm := num(dob[5:7]); mm >= 1 && mm <= 12 {
			m = mm
			if len(dob) >= 10 && dob[7] == '-' {
				if dd := num(dob[8:10]); dd >= 1 && dd <= 31 {
					d = dd
				}
			}
		}
	}
	born := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	issued := iat.UTC().Add(14 * time.Hour)
	issuedDay := time.Date(issued.Year(), issued.Month(), issued.Day(), 0, 0, 0, 0, time.UTC)
	if born.After(issuedDay) {
		return credential.Reject(credential.FormatDCC, credential.ReasonSchema,
			"the date of birth is after the day the certificate was issued (%s): the issuer made a mistake, and the holder needs a corrected certificate",
			iat.UTC().Format(time.DateOnly))
	}
	return nil
}
