package status

import (
	"fmt"
	"strconv"
	"strings"
)

// Reason is the one-byte reason code of a status entry: why the centre
// changed a holder's status. The words stay at the centre; terminals get
// the byte. The names are what ops type (sentinel-central status set
// --reason close-contact) and what docs/reasons.md lists; a test keeps the
// two in step. Codes are stable: never renumber or reuse one, add new ones
// at the end.
type Reason byte

// Status reasons.
const (
	ReasonUnspecified      Reason = 0  // no reason recorded (entries made before reasons had names)
	ReasonConfirmed        Reason = 1  // a confirmed case
	ReasonCloseContact     Reason = 2  // a close contact of a confirmed case
	ReasonSecondaryContact Reason = 3  // a contact of a close contact
	ReasonFever            Reason = 4  // a fever recorded by a clinic or a checkpoint
	ReasonRiskAreaVisit    Reason = 5  // was at a site in an area of raised risk
	ReasonRiskAreaHome     Reason = 6  // lives in an area of raised risk
	ReasonTestNegative     Reason = 7  // negative tests ended a quarantine
	ReasonQuarantineEnded  Reason = 8  // the quarantine period is over
	ReasonRecovered        Reason = 9  // recovered, released by a clinic
	ReasonEssentialWorker  Reason = 10 // on a list of essential workers
	ReasonNotRegistered    Reason = 11 // no code may be used yet (withheld)
	ReasonCorrection       Reason = 12 // corrects a status set in error
	ReasonManual           Reason = 13 // an ops decision; the note at the centre says why
)

// ReasonInfo describes a status reason.
type ReasonInfo struct {
	Code    Reason
	Name    string
	Meaning string
}

var reasons = []ReasonInfo{
	{ReasonUnspecified, "unspecified", "no reason recorded"},
	{ReasonConfirmed, "confirmed", "a confirmed case: positive test or diagnosis"},
	{ReasonCloseContact, "close-contact", "a close contact of a confirmed case, found by a trace"},
	{ReasonSecondaryContact, "secondary-contact", "a contact of a close contact"},
	{ReasonFever, "fever", "a fever recorded by a clinic or a checkpoint"},
	{ReasonRiskAreaVisit, "risk-area-visit", "was at a site in an area of raised risk"},
	{ReasonRiskAreaHome, "risk-area-home", "lives in an area of raised risk"},
	{ReasonTestNegative, "test-negative", "negative tests ended a quarantine early"},
	{ReasonQuarantineEnded, "quarantine-ended", "the quarantine period is over"},
	{ReasonRecovered, "recovered", "recovered and released by a clinic"},
	{ReasonEssentialWorker, "essential-worker", "on a list of essential workers"},
	{ReasonNotRegistered, "not-registered", "no code may be used yet (status withheld)"},
	{ReasonCorrection, "correction", "corrects a status that was set in error"},
	{ReasonManual, "manual", "an ops decision; the note kept at the centre says why"},
}

// Reasons returns every status reason in code order.
func Reasons() []ReasonInfo { return append([]ReasonInfo(nil), reasons...) }

// String returns the reason's name, or "reason(N)" for a code this build
// does not know (a newer centre's).
func (r Reason) String() string {
	if int(r) < len(reasons) {
		return reasons[r].Name
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: a reason's name, or
// "reason(N)" as String gives a code this build does not know, so what a
// centre's JSON (status explain --json) says reads back as it was.
func (r *Reason) UnmarshalText(b []byte) error {
	if n, ok := strings.CutPrefix(string(b), "reason("); ok {
		if n, ok := strings.CutSuffix(n, ")"); ok {
			if v, err := strconv.ParseUint(n, 10, 8); err == nil {
				*r = Reason(v)
				return nil
			}
		}
	}
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseReason parses a reason's name, as docs/reasons.md lists them.
func ParseReason(name string) (Reason, error) {
	for _, ri := range reasons {
		if ri.Name == name {
			return ri.Code, nil
		}
	}
	names := make([]string, 0, len(reasons))
	for _, ri := range reasons[1:] {
		names = append(names, ri.Name)
	}
	return 0, fmt.Errorf("status: unknown reason %q: want one of %s (see docs/reasons.md)", name, strings.Join(names, ", "))
}
