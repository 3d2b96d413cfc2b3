package gate

import (
	"fmt"
	"slices"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
)

// ReasonQuarantine: at a compound's exit lane, a resident whose status is
// yellow or red (home quarantine) is refused; the guard reads until when.
const ReasonQuarantine = "quarantine"

// ReasonVisitorAtExit: at a compound's exit lane, a visitor (not on the
// compound's access list) whose status is yellow or red is referred to the
// guard. A visitor's home quarantine is at their own home, not in this
// compound, so the compound does not keep them in as it keeps residents;
// nor does the gate let them walk out unseen: the guard notes them and
// tells the health office, then lets them out (an override) to go straight
// home.
const ReasonVisitorAtExit = "visitor-at-exit"

// quarantineReplaces are the policy's reasons that a quarantine at an exit
// replaces: what policy said of the colour, the temperature or the kind
// of code. The terminal's own state (clock, bundles, enrolment), a code
// refused, withheld or revoked, and a code just used keep policy's word.
var quarantineReplaces = []string{
	policy.ReasonStatusRed, policy.ReasonStatusYellow, policy.ReasonColourRed, policy.ReasonColourYellow,
	policy.ReasonFever, policy.ReasonRetake, policy.ReasonThermometer, policy.ReasonPaper,
}

// quarantine is a refusal at a compound's exit, or a visitor's referral.
type quarantine struct {
	colour credential.Colour // yellow or red
	until  time.Time         // the status entry's until; zero when not known
	// visitor: the holder is not a resident (ReasonVisitorAtExit).
	visitor bool
}

// decision is what the gate decides in place of policy: a resident is
// refused, a visitor referred to the guard.
func (q quarantine) decision(dec Decision) Decision {
	if q.visitor {
		return Decision{Verdict: passage.Refer, Reasons: []string{ReasonVisitorAtExit}, Colour: dec.Colour, PolicyVersion: dec.PolicyVersion}
	}
	return Decision{Verdict: passage.Deny, Reasons: []string{ReasonQuarantine}, Colour: dec.Colour, PolicyVersion: dec.PolicyVersion, Resident: true}
}

// quarantineAtExit returns the quarantine of a passage at lane l, ok false
// when there is none: the lane is a compound's exit, the holder's colour
// (the status list's entry over the code, else the code's) is yellow or
// red, and policy admitted them or refused them for their colour or
// temperature. The holder is a resident (dec.Resident) or a visitor.
func quarantineAtExit(l *LaneConfig, site *SiteSettings, cred *credential.Credential, status policy.Status, dec Decision) (quarantine, bool) {
	if !l.Exit || site == nil || site.Type != Compound || cred == nil {
		return quarantine{}, false
	}
	q := quarantine{colour: cred.Colour, visitor: !dec.Resident}
	if c := status.Colour(); c != credential.ColourNone {
		q.colour, q.until = c, status.Until
	}
	if q.colour != credential.ColourYellow && q.colour != credential.ColourRed {
		return quarantine{}, false
	}
	if dec.Verdict != passage.Admit && (len(dec.Reasons) == 0 || !slices.Contains(quarantineReplaces, dec.Reasons[0])) {
		return quarantine{}, false
	}
	return q, true
}

// message is what the guard reads, in both languages: the colour and
// until when (in the site's time zone).
func (q quarantine) message(loc *time.Location) map[string]string {
	colourEN, colourZH := "yellow", "黄码"
	if q.colour == credential.ColourRed {
		colourEN, colourZH = "red", "红码"
	}
	if loc == nil {
		loc = time.UTC
	}
	if q.visitor {
		untilEN, untilZH := "", ""
		if !q.until.IsZero() {
			u := q.until.In(loc)
			untilEN = " until " + u.Format("Mon 2 Jan 2006 15:04")
			untilZH = fmt.Sprintf("，至%d年%d月%d日 %s", u.Year(), u.Month(), u.Day(), u.Format("15:04"))
		}
		return map[string]string{
			"en": fmt.Sprintf("Visitor with a %s code%s leaving: not a resident, so not kept in. Note who, tell the health office, then let them out to go straight home.", colourEN, untilEN),
			"zh": fmt.Sprintf("访客离开（%s%s）：非本小区居民，不留置。请登记并报告防控部门，然后放行，使其直接回家。", colourZH, untilZH),
		}
	}
	if q.until.IsZero() {
		return map[string]string{
			"en": fmt.Sprintf("Home quarantine (%s code): may not leave the compound until the code is green. Keep the gate shut.", colourEN),
			"zh": fmt.Sprintf("居家隔离（%s）：健康码转绿前不得离开小区。保持闸门关闭。", colourZH),
		}
	}
	u := q.until.In(loc)
	return map[string]string{
		"en": fmt.Sprintf("Home quarantine (%s) until %s: may not leave the compound. Keep the gate shut.", colourEN, u.Format("Mon 2 Jan 2006 15:04")),
		"zh": fmt.Sprintf("居家隔离（%s）至%d年%d月%d日 %s：不得离开小区。保持闸门关闭。", colourZH, u.Year(), u.Month(), u.Day(), u.Format("15:04")),
	}
}
