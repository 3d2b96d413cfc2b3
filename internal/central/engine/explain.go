package engine

import (
	"fmt"
	"strings"
	"time"

	"sentinel/internal/status"
)

// Lang is a language explanations are written in.
type Lang string

// Languages of explanations.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// ParseLang parses "en" or "zh".
func ParseLang(s string) (Lang, error) {
	switch l := Lang(s); l {
	case English, Chinese:
		return l, nil
	}
	return "", fmt.Errorf("language %q: want en or zh", s)
}

// ExplainOptions say how to write an explanation.
type ExplainOptions struct {
	Lang  Lang
	Areas *Areas         // names sites and areas; nil writes their ids
	Loc   *time.Location // the holder's time zone; nil is UTC
}

// Explain writes, in words a holder can read and quote in an appeal, what
// a Result says: the status, the rule and version that gave it, the facts
// that decided (never another person: a contact's case is not named) and
// when it ends.
func Explain(r Result, o ExplainOptions) string {
	zh := o.Lang == Chinese
	loc := o.Loc
	if loc == nil {
		loc = time.UTC
	}
	when := func(t time.Time) string {
		t = t.In(loc)
		s := t.Format("2006-01-02 15:04")
		if loc == time.UTC {
			s += " UTC"
		}
		return s
	}
	var b strings.Builder
	line := func(en, cn string, args ...any) {
		if zh {
			fmt.Fprintf(&b, cn, args...)
		} else {
			fmt.Fprintf(&b, en, args...)
		}
		b.WriteByte('\n')
	}
	st := statusWords(r.Status, zh)
	if r.Effective.IsZero() {
		line("Your status on %s: %s.", "截至%s，您的状态：%s。", when(r.At), st)
	} else {
		line("Your status on %s: %s, since %s.", "截至%s，您的状态：%s，自%s起。", when(r.At), st, when(r.Effective))
	}
	why := r.Say["en"]
	if zh {
		why = r.Say["zh"]
	}
	if why == "" {
		why = reasonWords(r.Reason, zh)
	}
	line("Why: %s", "原因：%s", why)
	if len(r.Facts) > 0 {
		line("What decided it:", "依据的事实：")
		const most = 10
		for i, f := range r.Facts {
			if i == most {
				line("  … and %d more of the same kind", "  ……以及另外%d条同类记录", len(r.Facts)-most)
				break
			}
			fmt.Fprintf(&b, "  - %s  %s\n", when(f.At), factWords(&f, o.Areas, zh))
		}
	}
	switch {
	case r.Rule == "manual":
		line("Decided by: the health authority (a status set by hand).", "决定方：卫生部门（人工设定的状态）。")
	case r.Rule != "":
		line("Decided by: rule %q of the %s rules, version %s.", "决定依据：%[2]s规则（版本%[3]s）中的“%[1]s”条。", r.Rule, r.Region, r.Version)
	default:
		line("Decided by: no rule of the %s rules (version %s) applies to you.", "决定依据：%s规则（版本%s）中没有适用于您的条款。", r.Region, r.Version)
	}
	switch {
	case r.Status == status.Green:
	case r.Until.IsZero() && r.Rule == "manual":
		line("Until: no end date; the health authority will change it.", "期限：无截止日期，由卫生部门更改。")
	case r.Until.IsZero():
		line("Until: no end date; it ends when the facts above no longer apply (for example after a negative test or when the area is no longer graded at risk).",
			"期限：无截止日期；上述事实不再适用时结束（例如核酸检测阴性后，或所在地区不再列为风险地区后）。")
	default:
		line("Until: %s, if no new fact extends it.", "期限：至%s，如无新的事实延长。", when(r.Until))
	}
	for _, a := range r.Also {
		until := when(a.Until)
		if a.Until.IsZero() {
			until = map[bool]string{false: "no end date", true: "无截止日期"}[zh]
		}
		line("Also applies: rule %q (%s, until %s).", "同时适用：“%s”条（%s，期限%s）。", a.Rule, statusWords(a.Status, zh), until)
	}
	line("To appeal, quote this text and the version above.", "如需申诉，请引用本说明及上述版本号。")
	return b.String()
}

func statusWords(s status.Status, zh bool) string {
	en := map[status.Status][2]string{
		status.Green:    {"GREEN (you may pass)", "绿码（可以通行）"},
		status.Yellow:   {"YELLOW (stay at home and watch your health)", "黄码（居家观察）"},
		status.Red:      {"RED (quarantine: stay at home)", "红码（隔离，不得外出）"},
		status.Withheld: {"WITHHELD (no code may be used until this is cleared)", "暂停使用（在解除前不能使用健康码）"},
	}[s]
	if en[0] == "" {
		return s.String()
	}
	if zh {
		return en[1]
	}
	return en[0]
}

// reasonWords are the status reasons in a holder's words.
var reasonText = map[status.Reason][2]string{
	status.ReasonUnspecified:      {"no reason was recorded.", "未记录原因。"},
	status.ReasonConfirmed:        {"you were reported as a confirmed case.", "您被报告为确诊病例。"},
	status.ReasonCloseContact:     {"you were near a confirmed case long enough to count as a close contact.", "您与确诊病例近距离接触的时间足以认定为密切接触者。"},
	status.ReasonSecondaryContact: {"you were near a close contact of a confirmed case.", "您与确诊病例的密切接触者有接触。"},
	status.ReasonFever:            {"a fever was measured and not yet explained by a negative test.", "测得发热，尚无阴性检测结果排除。"},
	status.ReasonRiskAreaVisit:    {"you passed through an area graded at risk.", "您经过了被列为风险地区的区域。"},
	status.ReasonRiskAreaHome:     {"you live in an area graded at risk.", "您居住在被列为风险地区的区域。"},
	status.ReasonTestNegative:     {"a negative test cleared you.", "阴性检测结果已解除限制。"},
	status.ReasonQuarantineEnded:  {"your quarantine period is over.", "您的隔离期已结束。"},
	status.ReasonRecovered:        {"you recovered and were released by a clinic.", "您已康复并经医疗机构解除隔离。"},
	status.ReasonEssentialWorker:  {"you are on a list of essential workers.", "您在必要工作人员名单中。"},
	status.ReasonNotRegistered:    {"no code may be used yet.", "尚不能使用健康码。"},
	status.ReasonCorrection:       {"an earlier status was corrected.", "更正了此前错误的状态。"},
	status.ReasonManual:           {"the health authority decided so.", "卫生部门作出的决定。"},
}

func reasonWords(r status.Reason, zh bool) string {
	w, ok := reasonText[r]
	if !ok {
		return r.String()
	}
	if zh {
		return w[1]
	}
	return w[0]
}

// factWords describes a fact for its holder.
func factWords(f *Fact, areas *Areas, zh bool) string {
	site := func() string {
		if s, ok := areas.Site(f.Site); ok && s.Name != "" {
			return s.Name + " (" + s.ID + ")"
		}
		return f.Site
	}
	area := func(id string) string { return areas.Describe(id) }
	level := func() string {
		l := areas.Level(f.Area, f.At)
		if zh {
			return map[Level]string{High: "高风险", Medium: "中风险", Low: "低风险"}[l]
		}
		return string(l) + " risk"
	}
	switch f.Kind {
	case KindConfirmed:
		if zh {
			return "被报告为确诊病例"
		}
		return "reported as a confirmed case"
	case KindContact:
		if zh {
			return fmt.Sprintf("与一名确诊病例同时在%s", site())
		}
		return fmt.Sprintf("at %s at the same time as a confirmed case", site())
	case KindFever:
		switch {
		case f.Site == "" && zh:
			return fmt.Sprintf("在卡口测得体温%.1f°C", f.Celsius())
		case f.Site == "":
			return fmt.Sprintf("a temperature of %.1f °C measured at a checkpoint", f.Celsius())
		case zh:
			return fmt.Sprintf("在%s测得体温%.1f°C", site(), f.Celsius())
		}
		return fmt.Sprintf("a temperature of %.1f °C measured at %s", f.Celsius(), site())
	case KindVisit:
		if zh {
			return fmt.Sprintf("经过%s，位于%s（当时为%s地区）", site(), area(f.Area), level())
		}
		return fmt.Sprintf("passed %s in %s, then a %s area", site(), area(f.Area), level())
	case KindHome:
		if zh {
			return fmt.Sprintf("居住地登记为%s", area(f.Area))
		}
		return fmt.Sprintf("home registered in %s", area(f.Area))
	case KindTestNegative:
		if zh {
			return "核酸检测结果阴性"
		}
		return "a negative test"
	case KindWhitelist:
		where := area(f.Area)
		if f.Site != "" {
			where = site()
		}
		if zh {
			return fmt.Sprintf("列入%s的必要工作人员名单", where)
		}
		return fmt.Sprintf("on the list of essential workers for %s", where)
	case KindManual:
		if zh {
			return "卫生部门人工设定状态"
		}
		return "status set by the health authority"
	}
	return string(f.Kind)
}
