package dcc

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
)

// testValueSets loads the value sets of our own (testdata/valuesets at the
// module root); example says whether the test devices' list is only an
// example (as in the file) or taken as the real list.
func testValueSets(t testing.TB, example bool) *valueset.Sets {
	t.Helper()
	vs, _, err := valueset.LoadDir(filepath.Join("..", "..", "testdata", "valuesets"))
	if err != nil {
		t.Fatal(err)
	}
	vs.Get(valueset.TestDevice).Example = example
	return vs
}

// hcertMap turns a typed certificate into the map that Sign encodes, so
// that a test can write what the typed form cannot (null, wrong types).
func hcertMap(t testing.TB, h *HCert) map[string]any {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// JSON numbers come back as float64; the dose counts are integers.
	if v, ok := m["v"].([]any); ok {
		e := v[0].(map[string]any)
		e["dn"], e["sd"] = int(e["dn"].(float64)), int(e["sd"].(float64))
	}
	return m
}

// entryOf returns the single entry of a certificate map.
func entryOf(m map[string]any) map[string]any {
	for _, g := range []string{"v", "t", "r"} {
		if l, ok := m[g].([]any); ok && len(l) > 0 {
			return l[0].(map[string]any)
		}
	}
	return nil
}

// verifyOwn signs hcert with the testdata DSC es256-any and verifies it at
// vecClock with the value sets vs (nil: none loaded).
func verifyOwn(t testing.TB, hcert any, vs *valueset.Sets) (*credential.Credential, error) {
	t.Helper()
	cert, key := loadDSC(t, "es256-any")
	code, err := Sign(cert, key, hcert, "DE", vecIat, vecExp)
	if err != nil {
		t.Fatal(err)
	}
	store := trust.New()
	if _, err := store.AddDSC(cert); err != nil {
		t.Fatal(err)
	}
	store.SetPseudonymKey(vecPseudonymKey)
	store.SetValueSets(vs)
	return NewVerifier(store).Verify([]byte(code), Options{Now: vecClock})
}

func withEntry(t testing.TB, h *HCert, f func(e map[string]any)) func() map[string]any {
	return func() map[string]any {
		m := hcertMap(t, h)
		f(entryOf(m))
		return m
	}
}

func TestValueSets(t *testing.T) {
	naat := testCert()
	naat.T[0].TT, naat.T[0].MA, naat.T[0].NM = TestTypeNAAT, "", "PCR of a lab"
	cases := []struct {
		name    string
		hcert   func() map[string]any
		example bool // the test devices' list is only an example
		field   string
		code    string
		warn    string
	}{
		{name: "vaccination", hcert: withEntry(t, vaccination(), func(map[string]any) {})},
		{name: "test", hcert: withEntry(t, testCert(), func(map[string]any) {})},
		{name: "recovery", hcert: withEntry(t, recovery(), func(map[string]any) {})},
		{name: "inactive code", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["vp"] = "J07BX03" })},
		{name: "country", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["co"] = "XY" }), field: "co", code: "XY"},
		{name: "recovery country", hcert: withEntry(t, recovery(), func(e map[string]any) { e["co"] = "XY" }), field: "co", code: "XY"},
		{name: "disease", hcert: withEntry(t, recovery(), func(e map[string]any) { e["tg"] = "94558-4" }), field: "tg", code: "94558-4"},
		{name: "vaccine type", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["vp"] = "729999" }), field: "v.vp", code: "729999"},
		{name: "vaccine product", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["mp"] = "EU/1/20/9999" }), field: "v.mp", code: "EU/1/20/9999"},
		{name: "vaccine product by name", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["mp"] = "COVID-19 Vaccine Moderna" }), field: "v.mp", code: "COVID-19 Vaccine Moderna"},
		{name: "vaccine holder", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["ma"] = "ORG-99999999" }), field: "v.ma", code: "ORG-99999999"},
		{name: "empty vaccine holder", hcert: withEntry(t, vaccination(), func(e map[string]any) { e["ma"] = "" }), field: "v.ma", code: ""},
		{name: "test type as free text", hcert: withEntry(t, testCert(), func(e map[string]any) { e["tt"] = "a test" }), field: "t.tt", code: "a test"},
		{name: "test result", hcert: withEntry(t, testCert(), func(e map[string]any) { e["tr"] = "NEGATIVO" }), field: "t.tr", code: "NEGATIVO"},
		{name: "device of a rapid test", hcert: withEntry(t, testCert(), func(e map[string]any) { e["ma"] = "9999" }), field: "t.ma", code: "9999"},
		{name: "rapid test without device", hcert: withEntry(t, testCert(), func(e map[string]any) { delete(e, "ma") }), field: "t.ma", code: ""},
		{name: "device not in the example list", example: true, hcert: withEntry(t, testCert(), func(e map[string]any) { e["ma"] = "9999" }),
			warn: `t.ma "9999" is not in the value set covid-19-lab-test-manufacturer-and-name (2021-07-01), which is only an example`},
		{name: "NAAT without device", hcert: withEntry(t, naat, func(map[string]any) {})},
		{name: "NAAT with an empty device", hcert: withEntry(t, naat, func(e map[string]any) { e["ma"] = "" })},
		{name: "NAAT with a device not in the list", hcert: withEntry(t, naat, func(e map[string]any) { e["ma"] = "9999" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cred, err := verifyOwn(t, c.hcert(), testValueSets(t, c.example))
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := strings.Join(cred.Warnings, "; "); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
					t.Errorf("warnings %q, want %q", got, c.warn)
				}
				return
			}
			r, ok := err.(*credential.Rejection)
			if !ok || r.Reason != credential.ReasonValueSet || r.Field != c.field || r.Code != c.code {
				t.Fatalf("got %v (%+v), want value-set on %s %q", err, r, c.field, c.code)
			}
			// Without value sets the same certificate passes: the check
			// is skipped, not guessed.
			if _, err := verifyOwn(t, c.hcert(), nil); err != nil {
				t.Errorf("refused without value sets: %v", err)
			}
		})
	}
}

func TestValueSetMessage(t *testing.T) {
	_, err := verifyOwn(t, withEntry(t, vaccination(), func(e map[string]any) { e["mp"] = "EU/1/20/9999" })(), testValueSets(t, true))
	r, ok := err.(*credential.Rejection)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if en := r.Message("en"); en != `Unknown vaccine product "EU/1/20/9999" (v.mp) in the certificate. Refuse entry.` {
		t.Errorf("en: %s", en)
	}
	if zh := r.Message("zh"); !strings.Contains(zh, "疫苗产品") || !strings.Contains(zh, "EU/1/20/9999") {
		t.Errorf("zh: %s", zh)
	}
	if !strings.Contains(r.Detail, "vaccines-covid-19-names (2022-11-30)") {
		t.Errorf("detail does not name the value set and its date: %s", r.Detail)
	}
}

// TestNullGroups: early Bulgarian certificates (schema 1.0.0) write
// "r": null and "t": null for the groups they do not use; EU verifiers
// read them as absent, and so do we, whatever the version.
func TestNullGroups(t *testing.T) {
	for _, ver := range []string{"1.0.0", "1.3.0"} {
		m := hcertMap(t, vaccination())
		m["ver"], m["r"], m["t"] = ver, nil, nil
		cred, err := verifyOwn(t, m, testValueSets(t, true))
		if err != nil {
			t.Fatalf("%s: %v", ver, err)
		}
		if cred.Facts.Kind != KindVaccination || cred.Facts.Dose != 2 {
			t.Errorf("%s: facts %+v", ver, cred.Facts)
		}
		// A null group is not a group: one with content beside it is
		// still two groups.
		m["r"] = hcertMap(t, recovery())["r"]
		if _, err := verifyOwn(t, m, nil); credential.ReasonOf(err) != credential.ReasonSchema {
			t.Errorf("%s: two groups beside a null one: %v", ver, err)
		}
	}
	// Only null is absent: an empty group or one of the wrong type is not.
	m := hcertMap(t, vaccination())
	m["ver"], m["r"] = "1.0.0", "none"
	if _, err := verifyOwn(t, m, nil); credential.ReasonOf(err) != credential.ReasonSchema {
		t.Errorf(`"r": "none" gave %v, want schema`, err)
	}
}

// TestDateTimesAsDates: issuers of schema 1.0.x wrote date-times where a
// date belongs; each is read as its date, so that the facts and the
// holder's pseudonym are those of the date. From 1.1.0 on, the schema is
// the judge and nothing is rewritten.
func TestDateTimesAsDates(t *testing.T) {
	plain := hcertMap(t, vaccination())
	plain["ver"] = "1.0.0"
	want, err := verifyOwn(t, plain, nil)
	if err != nil {
		t.Fatal(err)
	}

	m := hcertMap(t, vaccination())
	m["ver"], m["dob"] = "1.0.0", "1980-04-12T00:00:00"
	entryOf(m)["dt"] = "2026-05-10T23:30:00-02:00" // the next day in UTC
	got, err := verifyOwn(t, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Holder != want.Holder {
		t.Errorf("pseudonym of a date-time dob %s, of the date %s", got.Holder, want.Holder)
	}
	if d := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC); !got.Facts.Date.Equal(d) {
		t.Errorf("vaccination date %s, want %s", got.Facts.Date, d)
	}

	r := hcertMap(t, recovery())
	r["ver"] = "1.0.1"
	e := entryOf(r)
	e["fr"], e["df"], e["du"] = "2026-04-01T08:00:00Z", "2026-04-12T00:00:00.000+0200", "2026-10-01T00:00:00"
	cred, err := verifyOwn(t, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := cred.Facts
	if f.Date.Format(time.DateOnly) != "2026-04-01" || f.ValidFrom.Format(time.DateOnly) != "2026-04-12" || f.ValidUntil.Format(time.DateOnly) != "2026-10-01" ||
		!f.ValidFrom.Equal(time.Date(2026, 4, 12, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("recovery facts %+v", f)
	}
}

func TestDateOf(t *testing.T) {
	for in, want := range map[string]string{
		"2021-05-10":                "2021-05-10",
		"2021-05-10T10:00:00Z":      "2021-05-10",
		"2021-05-10T23:30:00-02:00": "2021-05-10",
		"2021-05-10T10:00:00.5":     "2021-05-10",
		"2021-05-10Tnonsense":       "2021-05-10Tnonsense",
		"1980":                      "1980",
		"":                          "",
	} {
		if got := dateOf(in); got != want {
			t.Errorf("dateOf(%q) = %q, want %q", in, got, want)
		}
	}
}
