package credential

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Reason is a stable, machine-readable code for why a code was refused. It
// is written to the journal and printed by `sentinelctl verify --json`;
// docs/reasons.md lists every code.
type Reason string

// Reasons. Their values never change once released: journals and the
// centre store them.
const (
	ReasonTooLarge       Reason = "payload-too-large"  // longer than MaxPayload
	ReasonUnknownFormat  Reason = "unknown-format"     // no known prefix
	ReasonBadEncoding    Reason = "bad-encoding"       // prefix, Base45, numeric or base64url damaged
	ReasonBadCompression Reason = "bad-compression"    // zlib/DEFLATE broken, missing or too large
	ReasonBadStructure   Reason = "bad-structure"      // CBOR, COSE, JWS or JSON malformed
	ReasonUnknownKey     Reason = "unknown-key"        // no trusted key with this key id
	ReasonBadSignature   Reason = "bad-signature"      // signature does not verify
	ReasonBadAlgorithm   Reason = "bad-algorithm"      // algorithm unsupported or not matching the key
	ReasonExpired        Reason = "expired"            // past the code's expiry
	ReasonNotYetValid    Reason = "not-yet-valid"      // issued in the future / before nbf
	ReasonKeyNotValid    Reason = "key-not-valid"      // signing key or certificate outside its validity
	ReasonKeyRevoked     Reason = "key-revoked"        // signing key revoked in the trust bundle
	ReasonKeyUsage       Reason = "key-usage"          // certificate not allowed to sign this type
	ReasonSchema         Reason = "schema"             // content fails the format's schema
	ReasonValueSet       Reason = "value-set"          // a code outside the EU DCC value sets
	ReasonRevoked        Reason = "revoked"            // credential on a revocation list
	ReasonLiveRequired   Reason = "live-code-required" // rolling code expected, static one shown
	ReasonLiveStale      Reason = "live-code-stale"    // rolling time step outside the tolerance
	ReasonLiveSignature  Reason = "live-code-invalid"  // holder's rolling signature wrong
	ReasonClockUntrusted Reason = "clock-untrusted"    // terminal clock cannot be trusted
	ReasonNoTrust        Reason = "no-trust"           // no trusted keys loaded at all
	ReasonBadIssuer      Reason = "bad-issuer"         // issuer claim malformed or not the key's
	ReasonBusinessRule   Reason = "business-rule"      // an EU DCC fails a country's business rule (CertLogic)
	// ReasonJustUsed comes from the terminal's replay memory, not from a
	// verifier: the code was admitted here moments ago.
	ReasonJustUsed Reason = "code-just-used"
)

type message struct{ en, zh string }

// messages are what the guard reads: short, plain, and saying what to do.
var messages = map[Reason]message{
	ReasonTooLarge:       {"Not a health code (too long). Ask for the health code.", "不是健康码(内容过长)。请出示健康码。"},
	ReasonUnknownFormat:  {"Not a health code this gate knows. Ask for the health code.", "无法识别的码。请出示健康码。"},
	ReasonBadEncoding:    {"Code damaged or incomplete. Ask to show it again.", "码已损坏或不完整。请重新出示。"},
	ReasonBadCompression: {"Code damaged. Ask to show it again.", "码已损坏。请重新出示。"},
	ReasonBadStructure:   {"Code damaged or not genuine. Ask to show it again.", "码已损坏或非正规。请重新出示。"},
	ReasonUnknownKey:     {"Issuer not trusted here. Refuse; call the supervisor if unsure.", "签发方不受信任。拒绝通行,如有疑问请联系主管。"},
	ReasonBadSignature:   {"Forged or altered code. Refuse entry.", "伪造或被篡改的码。拒绝通行。"},
	ReasonBadAlgorithm:   {"Code signed in a way not accepted here. Refuse entry.", "码的签名方式不被接受。拒绝通行。"},
	ReasonExpired:        {"Code expired. Ask to refresh the code.", "码已过期。请刷新健康码。"},
	ReasonNotYetValid:    {"Code not valid yet. Check the gate's clock; ask to refresh.", "码尚未生效。请检查设备时间或刷新健康码。"},
	ReasonKeyNotValid:    {"Issuer's key not valid for this code. Refuse entry.", "签发密钥对此码无效。拒绝通行。"},
	ReasonKeyRevoked:     {"Issuer's key withdrawn. Refuse entry.", "签发密钥已被撤销。拒绝通行。"},
	ReasonKeyUsage:       {"Certificate type not allowed for its issuer. Refuse entry.", "证书类型与签发方不符。拒绝通行。"},
	ReasonSchema:         {"Certificate content invalid. Refuse entry.", "证书内容无效。拒绝通行。"},
	ReasonValueSet:       {"Certificate holds a code that is not on the EU lists. Refuse entry.", "证书含有欧盟代码表中没有的代码。拒绝通行。"},
	ReasonRevoked:        {"Code revoked. Refuse entry.", "码已被撤销。拒绝通行。"},
	ReasonLiveRequired:   {"Screenshot or printout not accepted here. Ask for the live code in the app.", "此处不接受截图或打印件。请在应用中出示实时码。"},
	ReasonLiveStale:      {"Old screenshot. Ask for the live code in the app.", "截图已失效。请在应用中出示实时码。"},
	ReasonLiveSignature:  {"Live code not genuine. Refuse entry.", "实时码无效。拒绝通行。"},
	ReasonClockUntrusted: {"Gate clock not set. Use the manual procedure.", "设备时间未校准。请改用人工核验。"},
	ReasonNoTrust:        {"Gate has no trusted keys yet. Use the manual procedure.", "设备尚无可信密钥。请改用人工核验。"},
	ReasonBadIssuer:      {"Issuer does not match its key. Refuse entry.", "签发方与密钥不符。拒绝通行。"},
	ReasonBusinessRule:   {"Certificate does not meet the country's entry rules. Refuse entry.", "证书不符合该国的入境规则。拒绝通行。"},
	ReasonJustUsed:       {"This code was just used here. Ask for the person's own live code; the guard decides.", "此码刚刚已在本处使用。请出示本人的实时码,由保安决定。"},
}

// Reasons returns every reason code, in a stable order, for documentation
// and tests.
func Reasons() []Reason {
	return []Reason{
		ReasonTooLarge, ReasonUnknownFormat, ReasonBadEncoding, ReasonBadCompression,
		ReasonBadStructure, ReasonUnknownKey, ReasonBadSignature, ReasonBadAlgorithm,
		ReasonExpired, ReasonNotYetValid, ReasonKeyNotValid, ReasonKeyRevoked,
		ReasonKeyUsage, ReasonSchema, ReasonValueSet, ReasonRevoked, ReasonLiveRequired, ReasonLiveStale,
		ReasonLiveSignature, ReasonClockUntrusted, ReasonNoTrust, ReasonBadIssuer,
		ReasonBusinessRule, ReasonJustUsed,
	}
}

// Message returns the sentence shown to the guard, in lang ("zh" for
// Chinese, anything else English).
func (r Reason) Message(lang string) string {
	m, ok := messages[r]
	if !ok {
		if lang == "zh" {
			return "无法核验此码。请改用人工核验。"
		}
		return "Code cannot be checked. Use the manual procedure."
	}
	if lang == "zh" {
		return m.zh
	}
	return m.en
}

// Rejection is the typed error every verifier returns when it refuses a
// code. Reason is stable; Detail and Err are for logs and engineers.
type Rejection struct {
	Format Format // the format, when known
	Reason Reason
	Detail string // technical detail, never personal data
	Err    error  // the underlying cause, if any
	// Field and Code name what a value-set refusal is about: the field
	// ("v.mp", "t.ma", "co" …) and the code it holds. Empty otherwise.
	Field, Code string
	// Rule and RuleText name what a business-rule refusal is about: the
	// rule's identifier ("VR-AT-0001") and its description by language
	// ("en" at least). Empty otherwise.
	Rule     string
	RuleText map[string]string
}

// Error implements error: "reason: detail".
func (r *Rejection) Error() string {
	s := string(r.Reason)
	switch {
	case r.Detail != "":
		s += ": " + r.Detail // Reject folds the cause into Detail
	case r.Err != nil:
		s += ": " + r.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (r *Rejection) Unwrap() error { return r.Err }

// Message returns the sentence for the guard in lang. A value-set refusal
// names the field in words and the code.
func (r *Rejection) Message(lang string) string {
	if r.Reason == ReasonValueSet && r.Field != "" {
		return valueSetMessage(r.Field, r.Code, lang)
	}
	if r.Reason == ReasonBusinessRule && r.Rule != "" {
		return businessRuleMessage(r.Rule, r.RuleText, lang)
	}
	return r.Reason.Message(lang)
}

// valueSetFields are the EU DCC fields in the guard's words.
var valueSetFields = map[string]message{
	"co":   {"country", "国家"},
	"tg":   {"disease", "疾病"},
	"v.vp": {"vaccine type", "疫苗类型"},
	"v.mp": {"vaccine product", "疫苗产品"},
	"v.ma": {"vaccine manufacturer", "疫苗生产商"},
	"t.tt": {"test type", "检测类型"},
	"t.ma": {"test device", "检测试剂"},
	"t.tr": {"test result", "检测结果"},
}

// valueSetMessage is the guard's sentence for a code outside a value set:
// "Unknown vaccine product EU/1/20/9999 (v.mp) in the certificate.
// Refuse entry."
func valueSetMessage(field, code, lang string) string {
	words, ok := valueSetFields[field]
	if !ok {
		_, short, _ := strings.Cut(field, ".")
		words, ok = valueSetFields[short]
		if !ok {
			words = message{"code", "代码"}
		}
	}
	shown := shownCode(code)
	if lang == "zh" {
		if code == "" {
			shown = "(空)"
		}
		return fmt.Sprintf("证书中的%s代码 %s(%s)不在欧盟代码表中。拒绝通行。", words.zh, shown, field)
	}
	return fmt.Sprintf("Unknown %s %s (%s) in the certificate. Refuse entry.", words.en, shown, field)
}

// businessRuleMessage is the guard's sentence for a failed EU business
// rule: its identifier and its description in the guard's language, or
// else in English: "Entry rule VR-AT-0001 not met: Vaccination must not
// be older than 270 days. Refuse entry."
func businessRuleMessage(rule string, text map[string]string, lang string) string {
	desc := text[lang]
	if desc == "" {
		desc = text["en"]
	}
	desc = strings.TrimRight(strings.TrimSpace(desc), ".。")
	if lang == "zh" {
		if desc == "" {
			return fmt.Sprintf("不符合入境规则 %s。拒绝通行。", shownCode(rule))
		}
		return fmt.Sprintf("不符合入境规则 %s:%s。拒绝通行。", shownCode(rule), desc)
	}
	if desc == "" {
		return fmt.Sprintf("Entry rule %s not met. Refuse entry.", shownCode(rule))
	}
	return fmt.Sprintf("Entry rule %s not met: %s. Refuse entry.", shownCode(rule), desc)
}

// shownCode makes a code from a certificate safe and short for the
// display: printable characters only, at most 24 of them.
func shownCode(code string) string {
	if code == "" {
		return "(empty)"
	}
	var b strings.Builder
	n := 0
	for _, r := range code {
		if n == 24 {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return strconv.Quote(b.String())
}

// Reject builds a rejection with a formatted detail. A %w verb in format
// wraps its operand as the cause.
func Reject(f Format, reason Reason, format string, args ...any) *Rejection {
	err := fmt.Errorf(format, args...)
	return &Rejection{Format: f, Reason: reason, Detail: err.Error(), Err: errors.Unwrap(err)}
}

// ReasonOf returns the reason of err if it is (or wraps) a *Rejection, and
// "" otherwise.
func ReasonOf(err error) Reason {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}
