package gate

import (
	"slices"

	"sentinel/crypto/credential"
	"sentinel/internal/policy"
)

// Reason codes the pipeline adds itself. Policy's codes come from the
// policy; the verifier's are credential.Reason values.
const (
	// ReasonJournal: the passage could not be written; the gate stays shut
	// and the guard switches to the manual procedure.
	ReasonJournal = "journal-unavailable"
	// ReasonOverride: a guard admitted the person.
	ReasonOverride = "guard-override"
	// ReasonIncomplete: a chunked SMART Health Card was not read whole
	// within the window.
	ReasonIncomplete = "incomplete-card"
	// ReasonScanError: the scanner could not read the code whole.
	ReasonScanError = "scan-again"
	// ReasonNoPolicy: the pipeline had no policy to decide with.
	ReasonNoPolicy = "no-policy"
)

// Override reasons: the fixed list a guard picks from.
const (
	OverrideRetakeNormal   = "retake-normal"    // a clinical thermometer read normal
	OverrideDocumentCheck  = "document-checked" // status checked by hand or by phone with the centre
	OverrideKnownResident  = "known-resident"   // a resident the guard knows
	OverrideEmergency      = "emergency"        // emergency services or a medical emergency
	OverrideTerminalFault  = "terminal-fault"   // the terminal misread; the guard checked the code
	OverrideNotEnrolledYet = "not-enrolled"     // the terminal is not enrolled yet; the guard checked
)

// OverrideReasons returns the reasons a guard may give for an override, in
// the order the display lists them.
func OverrideReasons() []string {
	return []string{OverrideRetakeNormal, OverrideDocumentCheck, OverrideKnownResident, OverrideEmergency, OverrideTerminalFault, OverrideNotEnrolledYet}
}

// validOverrideReason reports whether r is on the list.
func validOverrideReason(r string) bool { return slices.Contains(OverrideReasons(), r) }

// messages are the guard's sentences for the pipeline's own reasons.
var messages = map[string][2]string{ // code → {en, zh}
	ReasonJournal:    {"The terminal cannot record passages: keep the gate shut and switch to the manual procedure.", "终端无法记录通行：保持闸门关闭，改用人工流程。"},
	ReasonOverride:   {"Admitted by the guard.", "保安人工放行。"},
	ReasonIncomplete: {"Only part of the card was read: scan all of its codes.", "只读到部分健康卡：请扫描全部二维码。"},
	ReasonScanError:  {"The code was not read whole: scan it again.", "二维码未完整读取：请重新扫描。"},
	ReasonNoPolicy:   {"The terminal has no admission rules: call the supervisor.", "终端没有通行规则：请联系主管。"},
	ReasonQuarantine: {"Home quarantine: may not leave the compound. Keep the gate shut.", "居家隔离：不得离开小区。保持闸门关闭。"},
	ReasonVisitorAtExit: {"Visitor with a yellow or red code leaving: not a resident, so not kept in. Note who, tell the health office, then let them out to go straight home.",
		"黄码或红码访客离开：非本小区居民，不留置。请登记并报告防控部门，然后放行，使其直接回家。"},
}

// Message returns the guard's sentence for a reason code in lang ("zh" or
// anything else for English): the pipeline's own reasons here, policy's
// and the verifier's ("verification:R") from internal/policy.
func Message(code, lang string) string {
	if m, ok := messages[code]; ok {
		if lang == "zh" {
			return m[1]
		}
		return m[0]
	}
	if slices.Contains(credential.Reasons(), credential.Reason(code)) {
		return credential.Reason(code).Message(lang)
	}
	return policy.Message(code, lang)
}

// messageOf returns the first reason in both languages.
func messageOf(reasons []string) map[string]string {
	if len(reasons) == 0 {
		return nil
	}
	return map[string]string{"en": Message(reasons[0], "en"), "zh": Message(reasons[0], "zh")}
}
