package gate

import (
	"strings"

	"sentinel/internal/policy"
	"sentinel/internal/status"
)

// statusCauses are the causes the guard reads when the status list turned
// a holder red or yellow after their code was issued: the status entry's
// one-byte reason (internal/status), in English and Chinese. A reason not
// here (unspecified, or a newer centre's) leaves policy's sentence as it is.
var statusCauses = map[status.Reason]struct{ en, zh string }{
	status.ReasonConfirmed:        {"confirmed case", "确诊病例"},
	status.ReasonCloseContact:     {"close contact of a confirmed case", "确诊病例的密切接触者"},
	status.ReasonSecondaryContact: {"contact of a close contact", "密切接触者的接触者"},
	status.ReasonFever:            {"fever at a clinic or checkpoint", "在诊所或卡口测得发热"},
	status.ReasonRiskAreaVisit:    {"visited an area of raised risk", "到访过中高风险地区"},
	status.ReasonRiskAreaHome:     {"lives in an area of raised risk", "居住在中高风险地区"},
	status.ReasonTestNegative:     {"negative tests", "核酸检测阴性"},
	status.ReasonQuarantineEnded:  {"quarantine over", "隔离期满"},
	status.ReasonRecovered:        {"recovered", "已康复"},
	status.ReasonEssentialWorker:  {"essential worker", "重点保障人员"},
	status.ReasonNotRegistered:    {"no code may be used yet", "暂无可用健康码"},
	status.ReasonCorrection:       {"correction of an error", "更正错误状态"},
	status.ReasonManual:           {"decided by the health office", "防控管理部门决定"},
}

// statusCauseMessage returns what the guard reads when the first reason of
// a refusal is the status list's colour (policy.ReasonStatusRed or
// ReasonStatusYellow) and the entry carries a known reason: policy's
// sentence with the cause after its first sentence's words, in both
// languages ("Status changed to red since the code was issued (fever at a
// clinic or checkpoint). Refuse entry."). ok is false otherwise; the
// journal's reason codes are unchanged either way.
func statusCauseMessage(reasons []string, st policy.Status) (map[string]string, bool) {
	if len(reasons) == 0 || (reasons[0] != policy.ReasonStatusRed && reasons[0] != policy.ReasonStatusYellow) || !st.Overridden {
		return nil, false
	}
	cause, ok := statusCauses[status.Reason(st.Reason)]
	if !ok {
		return nil, false
	}
	return map[string]string{
		"en": withCause(policy.Message(reasons[0], "en"), ".", " ("+cause.en+")"),
		"zh": withCause(policy.Message(reasons[0], "zh"), "。", "（"+cause.zh+"）"),
	}, true
}

// withCause puts cause before the first end of sentence stop in s, or at
// its end when it has none.
func withCause(s, stop, cause string) string {
	if i := strings.Index(s, stop); i >= 0 {
		return s[:i] + cause + s[i:]
	}
	return s + cause
}
