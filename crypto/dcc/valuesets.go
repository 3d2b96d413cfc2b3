package dcc

import (
	"fmt"
	"strings"

	"sentinel/crypto/credential"
	"sentinel/crypto/valueset"
)

// LOINC codes of the test types.
const (
	TestTypeNAAT = "LP6464-4"   // nucleic acid amplification (PCR)
	TestTypeRAT  = "LP217198-3" // rapid antigen test
)

// codeCheck is one field of an entry and the value set it takes its codes
// from.
type codeCheck struct {
	field string // as the refusal names it: "co", "tg", "v.mp", "t.ma" …
	set   string // valueset identifier
	code  string
}

// codeChecks lists the fields of the single entry that a value set
// governs, in the order they are checked, as EU verifiers check them: co
// and tg of every group; vp, mp and ma of a vaccination; tt, tr and, for a
// rapid antigen test only, the device ma of a test (a NAAT names no device
// from the list: its ma is not checked, present or not).
func (h *HCert) codeChecks(buf []codeCheck) []codeCheck {
	switch {
	case len(h.V) > 0:
		v := &h.V[0]
		buf = append(buf,
			codeCheck{"co", valueset.Country, v.CO},
			codeCheck{"tg", valueset.Disease, v.TG},
			codeCheck{"v.vp", valueset.VaccineType, v.VP},
			codeCheck{"v.mp", valueset.VaccineProd, v.MP},
			codeCheck{"v.ma", valueset.VaccineHolder, v.MA})
	case len(h.T) > 0:
		t := &h.T[0]
		buf = append(buf,
			codeCheck{"co", valueset.Country, t.CO},
			codeCheck{"tg", valueset.Disease, t.TG},
			codeCheck{"t.tt", valueset.TestType, t.TT})
		if t.TT == TestTypeRAT {
			buf = append(buf, codeCheck{"t.ma", valueset.TestDevice, t.MA})
		}
		buf = append(buf, codeCheck{"t.tr", valueset.TestResult, t.TR})
	case len(h.R) > 0:
		r := &h.R[0]
		buf = append(buf,
			codeCheck{"co", valueset.Country, r.CO},
			codeCheck{"tg", valueset.Disease, r.TG})
	}
	return buf
}

// checkValueSets checks the codes of the single entry against vs (stage
// "value sets"). A code outside its set is refused with ReasonValueSet,
// naming the field and the code; a set that vs lacks is not checked; a
// code missing from a set that is only an example gives a warning, not a
// refusal. A nil vs checks nothing.
func (h *HCert) checkValueSets(vs *valueset.Sets) (warnings []string, err error) {
	if vs.Len() == 0 {
		return nil, nil
	}
	var buf [8]codeCheck
	for _, c := range h.codeChecks(buf[:0]) {
		set := vs.Get(c.set)
		if set == nil || set.Has(c.code) {
			continue
		}
		if set.Example {
			warnings = append(warnings, fmt.Sprintf("%s %s is not in the value set %s (%s), which is only an example of the EU list: not refused",
				c.field, quoteCode(c.code), set.ID, set.Date))
			continue
		}
		r := credential.Reject(credential.FormatDCC, credential.ReasonValueSet,
			"%s %s is not in the value set %s (%s)", c.field, quoteCode(c.code), set.ID, set.Date)
		r.Field, r.Code = c.field, c.code
		return warnings, r
	}
	return warnings, nil
}

// quoteCode quotes a code for a detail or warning, shortened.
func quoteCode(code string) string {
	if len(code) > 40 {
		code = strings.ToValidUTF8(code[:40], "") + "…"
	}
	return fmt.Sprintf("%q", code)
}
