package policy

import (
	"strings"

	"sentinel/crypto/credential"
)

// Reason codes that the default policies give. Their values never change
// once released: journals and the centre store them. A policy may use codes
// of its own; Message shows those as a generic sentence.
const (
	ReasonNotEnrolled   = "not-enrolled"             // the terminal holds no pinned root yet
	ReasonClock         = "clock-untrusted"          // the terminal's clock cannot be trusted
	ReasonBundleStale   = "bundle-stale"             // trust or status data past its grace
	ReasonBundleBlocked = "bundle-blocked"           // no valid trust or status data at all
	ReasonWithheld      = "status-withheld"          // the status list says no code may be used
	ReasonRevoked       = "status-revoked"           // the credential is on a revocation list
	ReasonStatusRed     = "status-red"               // the status list turned the holder red
	ReasonStatusYellow  = "status-yellow"            // the status list turned the holder yellow
	ReasonColourRed     = "colour-red"               // the code is red
	ReasonColourYellow  = "colour-yellow"            // the code is yellow
	ReasonPaper         = "paper-not-accepted"       // a paper code at a site that wants the app
	ReasonNotResident   = "not-resident"             // not on the compound's access list
	ReasonRetake        = "temperature-retake"       // no stable reading: measure again
	ReasonThermometer   = "thermometer-unavailable"  // the thermometer has a fault
	ReasonFever         = "fever"                    // at or above the fever threshold: retake
	ReasonCertificate   = "certificate-not-accepted" // an EU DCC or SHC whose facts the policy refuses
	ReasonNoRule        = "no-rule-matched"          // the default of the default policies
	ReasonPolicyError   = "policy-error"             // a rule failed at run time
	// VerificationPrefix precedes a verifier's reason ("verification:expired").
	VerificationPrefix = "verification:"
)

type message struct{ en, zh string }

// messages are what the guard reads: short, plain, and saying what to do.
var messages = map[string]message{
	ReasonNotEnrolled:   {"This gate is not enrolled yet. Check every person by hand.", "本设备尚未注册。请人工核验每位人员。"},
	ReasonClock:         {"Gate clock not set. Check the code by hand.", "设备时间未校准。请人工核验健康码。"},
	ReasonBundleStale:   {"Gate data out of date. Check the code by hand and call the supervisor.", "设备数据已过期。请人工核验并联系主管。"},
	ReasonBundleBlocked: {"Gate has no valid data. Check the code by hand and call the supervisor.", "设备无有效数据。请人工核验并联系主管。"},
	ReasonWithheld:      {"No valid code for this person. Refuse entry.", "此人暂无有效健康码。拒绝通行。"},
	ReasonRevoked:       {"Certificate revoked. Refuse entry.", "证书已被撤销。拒绝通行。"},
	ReasonStatusRed:     {"Status changed to red since the code was issued. Refuse entry.", "健康状态已转为红码。拒绝通行。"},
	ReasonStatusYellow:  {"Status changed to yellow since the code was issued.", "健康状态已转为黄码。"},
	ReasonColourRed:     {"Red code. Refuse entry.", "红码。拒绝通行。"},
	ReasonColourYellow:  {"Yellow code.", "黄码。"},
	ReasonPaper:         {"Paper code not accepted here. Ask for the code in the app.", "此处不接受纸质码。请出示手机健康码。"},
	ReasonNotResident:   {"Not a resident. Check a visitor by hand.", "非本小区居民。访客请人工登记核验。"},
	ReasonRetake:        {"No stable temperature. Ask to stand still and measure again.", "体温读数不稳定。请站稳后重新测温。"},
	ReasonThermometer:   {"Thermometer not working. Take the temperature by hand.", "测温仪故障。请人工测量体温。"},
	ReasonFever:         {"Temperature high. Retake it with a clinical thermometer.", "体温偏高。请用医用体温计复测。"},
	ReasonCertificate:   {"Certificate does not meet the rules here. Refuse entry.", "证书不符合本处要求。拒绝通行。"},
	ReasonNoRule:        {"No rule decided. Check the code by hand.", "无适用规则。请人工核验。"},
	ReasonPolicyError:   {"Gate rules failed. Check the code by hand and call the supervisor.", "通行规则出错。请人工核验并联系主管。"},
}

// Reasons returns every reason code of the default policies, in a stable
// order, for documentation and tests. Verifier reasons appear in decisions
// as VerificationPrefix followed by a credential.Reason.
func Reasons() []string {
	return []string{
		ReasonNotEnrolled, ReasonClock, ReasonBundleStale, ReasonBundleBlocked,
		ReasonWithheld, ReasonRevoked, ReasonStatusRed, ReasonStatusYellow,
		ReasonColourRed, ReasonColourYellow, ReasonPaper, ReasonNotResident,
		ReasonRetake, ReasonThermometer, ReasonFever, ReasonCertificate,
		ReasonNoRule, ReasonPolicyError,
	}
}

// Message returns the sentence shown to the guard for a reason code, in
// lang ("zh" for Chinese, anything else English). "verification:R" gives
// the verifier's sentence for R; an unknown code a generic sentence.
func Message(code, lang string) string {
	if r, ok := strings.CutPrefix(code, VerificationPrefix); ok {
		return credential.Reason(r).Message(lang)
	}
	m, ok := messages[code]
	if !ok {
		if lang == "zh" {
			return "按本处规则需人工核验。"
		}
		return "The site's rules ask the guard to check."
	}
	if lang == "zh" {
		return m.zh
	}
	return m.en
}
