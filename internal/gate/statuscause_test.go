package gate

import (
	"context"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
)

// TestStatusCauseMessage: a holder turned red or yellow by the status list
// after their code was issued is refused as before (the journal's reason
// codes are unchanged), and the guard reads the cause the centre recorded
// in the entry, in English and Chinese; an entry with no reason, or with
// a reason this build does not know, reads as before.
func TestStatusCauseMessage(t *testing.T) {
	b, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(b, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(colour string, r status.Reason) policy.Status {
		return policy.Status{Overridden: true, Status: colour, Effective: t0.Add(time.Minute), Reason: byte(r)}
	}
	tests := []struct {
		name   string
		status policy.Status
		reason string
		en, zh string
	}{
		{name: "red for a fever", status: entry("red", status.ReasonFever), reason: policy.ReasonStatusRed,
			en: "Status changed to red since the code was issued (fever at a clinic or checkpoint). Refuse entry.",
			zh: "健康状态已转为红码（在诊所或卡口测得发热）。拒绝通行。"},
		{name: "yellow for a visit", status: entry("yellow", status.ReasonRiskAreaVisit), reason: policy.ReasonStatusYellow,
			en: "Status changed to yellow since the code was issued (visited an area of raised risk).",
			zh: "健康状态已转为黄码（到访过中高风险地区）。"},
		{name: "red for an ops decision", status: entry("red", status.ReasonManual), reason: policy.ReasonStatusRed,
			en: "Status changed to red since the code was issued (decided by the health office). Refuse entry.",
			zh: "健康状态已转为红码（防控管理部门决定）。拒绝通行。"},
		{name: "red with no reason", status: entry("red", status.ReasonUnspecified), reason: policy.ReasonStatusRed,
			en: "Status changed to red since the code was issued. Refuse entry.", zh: "健康状态已转为红码。拒绝通行。"},
		{name: "red for a newer centre's reason", status: entry("red", status.Reason(200)), reason: policy.ReasonStatusRed,
			en: "Status changed to red since the code was issued. Refuse entry.", zh: "健康状态已转为红码。拒绝通行。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(s *State) {
				s.Policy = PolicyEngine(e, 3, "SM-1")
				s.Status = fakeStatus{1: tt.status}
			})
			res, err := r.g.Process(context.Background(), "in-1", issue(t, issuerKey, 1, credential.ColourGreen))
			if err != nil {
				t.Fatal(err)
			}
			p := res.Passage
			if p.Decision != passage.Deny || len(p.Reasons) != 1 || p.Reasons[0] != tt.reason {
				t.Fatalf("got %s %v, want deny [%s]", p.Decision, p.Reasons, tt.reason)
			}
			s := r.display.last()
			if s.Message["en"] != tt.en || s.Message["zh"] != tt.zh {
				t.Errorf("the guard reads %q / %q, want %q / %q", s.Message["en"], s.Message["zh"], tt.en, tt.zh)
			}
		})
	}
}
