package ui

import (
	"strings"

	"sentinel/crypto/credential"
	"sentinel/internal/clock"
)

// Languages the display speaks.
const (
	LangEN = "en"
	LangZH = "zh"
)

// normLang maps "zh-CN", "zh_Hans", "ZH" to "zh" and anything that is not
// Chinese to English.
func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "zh" || strings.HasPrefix(s, "zh-") || strings.HasPrefix(s, "zh_") {
		return LangZH
	}
	return LangEN
}

// htmlLang is the page's lang attribute, which picks CJK glyph forms.
func htmlLang(lang string) string {
	if lang == LangZH {
		return "zh-CN"
	}
	return "en"
}

// catalogue holds every label of the page: key → {en, zh}. Short words,
// what a guard in a hurry reads from two metres.
var catalogue = map[string][2]string{
	"title":                   {"Sentinel gate", "哨兵闸机"},
	"word.admit":              {"PASS", "通行"},
	"word.deny":               {"STOP", "禁止通行"},
	"word.refer":              {"CHECK", "人工核验"},
	"word.ready":              {"READY", "请扫码"},
	"sub.admit":               {"Gate open", "闸门已开"},
	"sub.deny":                {"Gate stays shut", "闸门关闭"},
	"sub.refer":               {"Guard: check this person", "请保安核验此人"},
	"sub.ready":               {"Show your code to the scanner", "请向扫码器出示健康码"},
	"sub.override":            {"Admitted by the guard", "保安人工放行"},
	"sub.manual":              {"NOT RECORDED: gate shut", "未记录：闸门关闭"},
	"ref.label":               {"Appeal reference", "申诉编号"},
	"ref.alt":                 {"QR code of the appeal reference", "申诉编号二维码"},
	"code.sep":                {": ", "："},
	"ready.in":                {"Ready in %s s", "%s 秒后就绪"},
	"lane":                    {"Lane", "通道"},
	"temp":                    {"Temperature", "体温"},
	"temp.high":               {"HIGH", "偏高"},
	"temp.none":               {"not taken", "未测温"},
	"temp.fault":              {"thermometer fault: measure by hand", "测温仪故障：请人工测温"},
	"temp.retake":             {"no stable reading: measure again", "读数不稳定：请重新测温"},
	"code":                    {"Code", "健康码"},
	"colour.green":            {"green", "绿码"},
	"colour.yellow":           {"yellow", "黄码"},
	"colour.red":              {"red", "红码"},
	"colour.none":             {"none", "无"},
	"count.admitted":          {"Admitted", "已通行"},
	"count.refused":           {"Refused", "已拒绝"},
	"count.referred":          {"Referred", "人工核验"},
	"count.overrides":         {"Overrides", "人工放行"},
	"count.today":             {"Today", "今日"},
	"dev.scanner":             {"Scanner", "扫码器"},
	"dev.camera":              {"Camera", "摄像头"},
	"dev.thermometer":         {"Thermometer", "测温仪"},
	"dev.ok":                  {"OK", "正常"},
	"dev.fault":               {"FAULT", "故障"},
	"dev.none":                {"none", "未安装"},
	"dev.unknown":             {"?", "未知"},
	"dev.camerafault":         {"Camera FAULT: use the scanner, tell your supervisor", "摄像头故障：请用扫码器扫码，并告知主管"},
	"dev.camerafault.alone":   {"Camera FAULT: check every code by hand, tell your supervisor", "摄像头故障：请人工核验每个健康码，并告知主管"},
	"bundle.trust":            {"Keys", "密钥"},
	"bundle.status-base":      {"Status list", "状态名单"},
	"bundle.status-delta":     {"Status update", "状态更新"},
	"bundle.policy":           {"Rules", "通行规则"},
	"bundle.config":           {"Settings", "站点设置"},
	"bundle.novaluesets":      {"no EU value sets: EU certificate codes not checked", "无欧盟代码表：未核对欧盟证书代码"},
	"bundle.eurules":          {"EU rules", "欧盟规则"},
	"bundle.eurulesvalid":     {"valid now", "当前有效"},
	"fresh.fresh":             {"fresh", "最新"},
	"fresh.grace":             {"grace", "宽限期"},
	"fresh.stale":             {"STALE", "已过期"},
	"fresh.blocked":           {"NONE", "不可用"},
	"net.online":              {"Online", "在线"},
	"net.offline":             {"OFFLINE", "离线"},
	"net.failing":             {"SYNC FAILING", "同步失败"},
	"net.unknown":             {"Connecting", "连接中"},
	"sync.last":               {"last sync %s", "上次同步 %s"},
	"sync.never":              {"never synced", "从未同步"},
	"clock.untrusted":         {"CLOCK NOT SET", "时间未校准"},
	"banner.manual":           {"MANUAL PROCEDURE: the terminal cannot record passages. Keep the gate shut and check every person by hand.", "改用人工流程：终端无法记录通行。保持闸门关闭，人工核验每位人员。"},
	"banner.revoked":          {"REMOVED FROM SERVICE: the central office revoked this terminal. Check every person by hand and call your supervisor or the central office.", "已停用：中心已吊销本终端。请人工核验每位人员，并联系主管或中心。"},
	"banner.journal":          {"JOURNAL REPLACED: the passage record was found damaged and a new one started. Passages still readable are being sent to the central office. The gate works; tell your supervisor.", "通行记录已更换：发现通行记录损坏，已启用新记录。仍可读取的通行正在发送至中心。闸机正常工作；请告知主管。"},
	"banner.nokeys":           {"ENROLLED, NO KEYS YET: waiting for the centre's trust bundle. Check every person by hand.", "已注册，尚无密钥：等待中心下发信任包。请人工核验每位人员。"},
	"banner.notenrolled":      {"NOT ENROLLED: this terminal has no keys yet. Check every person by hand.", "设备未注册：本终端尚无密钥。请人工核验每位人员。"},
	"banner.disconnected":     {"Display not connected to the terminal: reconnecting…", "显示屏未连接终端：正在重新连接…"},
	"override.button":         {"Override", "人工放行"},
	"override.title":          {"Guard override: lane %s", "保安人工放行：通道 %s"},
	"override.pin":            {"PIN", "密码"},
	"override.reason":         {"Reason", "原因"},
	"override.submit":         {"Admit", "确认放行"},
	"override.cancel":         {"Cancel", "取消"},
	"override.clear":          {"Clear", "清除"},
	"override.ok":             {"Override recorded: gate open", "已记录人工放行：闸门已开"},
	"override.wrongpin":       {"Wrong PIN. Try again.", "密码错误，请重试。"},
	"override.noguards":       {"No guard PINs on this gate yet. Use the manual procedure and call the supervisor.", "本闸机尚未设置保安密码。请按人工流程处理并联系主管。"},
	"override.locked":         {"Too many wrong PINs. Wait %s.", "密码错误次数过多。请等待 %s。"},
	"override.lockedfor":      {"Overrides locked: %s", "人工放行已锁定：%s"},
	"override.nothing":        {"Nothing to override at this lane.", "此通道没有可放行的记录。"},
	"override.nolane":         {"This terminal has no such lane: reload the page.", "本终端没有此通道：请刷新页面。"},
	"override.badreason":      {"Choose a reason from the list.", "请从列表中选择原因。"},
	"override.badpin":         {"Enter a PIN of 6 to 12 digits.", "请输入 6 到 12 位数字密码。"},
	"override.notgenuine":     {"This refusal cannot be overridden: the code is forged, altered, revoked or a screenshot. Refuse entry; call the supervisor.", "此拒绝不能人工放行：健康码系伪造、篡改、已撤销或为截图。拒绝通行；请联系主管。"},
	"override.emergencyonly":  {"Only an emergency can override this refusal.", "此拒绝仅在紧急情况下可人工放行。"},
	"note.nooverride":         {"No override for this refusal", "此拒绝不可人工放行"},
	"note.emergencyonly":      {"Override for emergencies only", "仅紧急情况可人工放行"},
	"override.noreason":       {"Choose a reason.", "请选择原因。"},
	"override.failed":         {"Override NOT recorded: gate stays shut. Use the manual procedure.", "人工放行未记录：闸门保持关闭。请改用人工流程。"},
	"override.unavailable":    {"Overrides are not available on this terminal.", "本终端不支持人工放行。"},
	"override.busy":           {"Another override is being recorded.", "另一个放行正在记录中。"},
	"reason.retake-normal":    {"Re-measured: temperature normal", "复测体温正常"},
	"reason.document-checked": {"Valid document checked by hand", "已人工核验有效证明"},
	"reason.known-resident":   {"Known resident", "本小区已知居民"},
	"reason.emergency":        {"Emergency", "紧急情况"},
	"reason.terminal-fault":   {"Terminal misread: code checked", "终端误读：已核验健康码"},
	"reason.not-enrolled":     {"Terminal not enrolled: checked by hand", "终端未注册：已人工核验"},
	"reason.other":            {"Other (logged)", "其他（已记录）"},
}

// The clock's reasons (clock.why.CODE, by internal/clock's codes) are
// said in internal/clock, which sentinelctl status shares.
func init() {
	for _, c := range clock.Codes() {
		en, _ := clock.CodeWords(c, LangEN)
		zh, _ := clock.CodeWords(c, LangZH)
		catalogue["clock.why."+c] = [2]string{en, zh}
	}
}

// DefaultOverrideReasons are the reasons a guard may give, as the gate
// lists them (internal/gate.OverrideReasons); the daemon passes the gate's
// list in Options.OverrideReasons.
var defaultOverrideReasons = []string{"retake-normal", "document-checked", "known-resident", "emergency", "terminal-fault", "not-enrolled"}

// tr returns the label for key in lang, or the key itself.
func tr(lang, key string) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	if lang == LangZH {
		return m[1]
	}
	return m[0]
}

// trf fills the label's one %s with arg.
func trf(lang, key, arg string) string {
	return strings.Replace(tr(lang, key), "%s", arg, 1)
}

// labels returns the whole catalogue in lang, for the page's script.
func labels(lang string) map[string]string {
	out := make(map[string]string, len(catalogue))
	for k := range catalogue {
		out[k] = tr(lang, k)
	}
	return out
}

// reasonLabel is an override reason code in words.
func reasonLabel(lang, code string) string {
	if _, ok := catalogue["reason."+code]; ok {
		return tr(lang, "reason."+code)
	}
	return code
}

// verdictMessage picks the sentence for a verdict in lang: the gate's
// rendering, English, the verifier's sentence, or the code itself.
func verdictMessage(v *Shown, lang string) string {
	if m := v.Message[lang]; m != "" {
		return m
	}
	if m := v.Message[LangEN]; m != "" && lang != LangZH {
		return m
	}
	if len(v.Reasons) > 0 {
		code := strings.TrimPrefix(v.Reasons[0], "verification:")
		for _, r := range credential.Reasons() {
			if string(r) == code {
				return r.Message(lang)
			}
		}
	}
	if m := v.Message[LangEN]; m != "" {
		return m
	}
	if len(v.Reasons) > 0 {
		return v.Reasons[0]
	}
	return ""
}
