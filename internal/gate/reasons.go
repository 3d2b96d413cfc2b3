package gate

import (
	"slices"

	"sentinel/crypto/credential"
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

// messages are the guard's sentences for the pipeline's own reasons and
// for the policy reasons the display commonly shows.
var messages = map[string][2]string{ // code → {en, zh}
	ReasonJournal:     {"The terminal cannot record passages: keep the gate shut and switch to the manual procedure.", "终端无法记录通行：保持闸门关闭，改用人工流程。"},
	ReasonOverride:    {"Admitted by the guard.", "保安人工放行。"},
	ReasonIncomplete:  {"Only part of the card was read: scan all of its codes.", "只读到部分健康卡：请扫描全部二维码。"},
	ReasonScanError:   {"The code was not read whole: scan it again.", "二维码未完整读取：请重新扫描。"},
	ReasonNoPolicy:    {"The terminal has no admission rules: call the supervisor.", "终端没有通行规则：请联系主管。"},
	"not-enrolled":    {"This terminal is not enrolled: the guard checks every person.", "本终端尚未注册：由保安人工核验每位人员。"},
	"fever":           {"Temperature too high: retake it with a clinical thermometer.", "体温过高：请用医用体温计复测。"},
	"temp-retake":     {"No stable temperature reading: stand still in front of the sensor.", "体温读数不稳定：请站在感应器前不动。"},
	"thermometer":     {"The thermometer is not working: take the temperature by hand.", "测温仪故障：请人工测量体温。"},
	"clock-untrusted": {"The terminal's clock cannot be trusted: the guard checks the code.", "终端时钟不可信：由保安人工核验。"},
	"status-red":      {"Red: quarantine required.", "红码：需隔离。"},
	"status-yellow":   {"Yellow: quarantine required.", "黄码：需隔离。"},
	"status-withheld": {"No valid code for this person.", "该人员暂无有效健康码。"},
	"bundle-stale":    {"The terminal's data are out of date: the guard checks the code.", "终端数据已过期：由保安人工核验。"},
}

// Message returns the guard's sentence for a reason code in lang ("zh" or
// anything else for English): the verifier's reasons, the pipeline's own,
// and otherwise the code itself.
func Message(code, lang string) string {
	if m, ok := messages[code]; ok {
		if lang == "zh" {
			return m[1]
		}
		return m[0]
	}
	r := credential.Reason(code)
	if slices.Contains(credential.Reasons(), r) {
		return r.Message(lang)
	}
	return code
}

// messageOf returns the first reason in both languages.
func messageOf(reasons []string) map[string]string {
	if len(reasons) == 0 {
		return nil
	}
	return map[string]string{"en": Message(reasons[0], "en"), "zh": Message(reasons[0], "zh")}
}
