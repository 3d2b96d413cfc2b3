package clock

import "strings"

// codeWords are the Code constants in words, English and Chinese: what
// ops or the installer must fix. The guard display (internal/ui) and
// sentinelctl status both say them from here.
var codeWords = map[string][2]string{
	CodeCentralNoTime:      {"the centre does not sign its time", "中心未提供签名时间"},
	CodeCentralUnreachable: {"no NTP sync and the centre is unreachable", "NTP 未同步且无法连接中心"},
	CodeCentralInvalid:     {"the centre's time does not verify", "中心时间签名无效"},
	CodeCentralOld:         {"no NTP sync; the centre's time is too old", "NTP 未同步且中心时间已过旧"},
	CodeWaiting:            {"no NTP sync; waiting for the centre's time", "NTP 未同步，等待中心时间"},
	CodeNTPDisagrees:       {"NTP and the centre's time disagree", "NTP 与中心时间不一致"},
}

// Codes lists the Code constants.
func Codes() []string {
	return []string{CodeCentralNoTime, CodeCentralUnreachable, CodeCentralInvalid, CodeCentralOld, CodeWaiting, CodeNTPDisagrees}
}

// CodeWords says code in words in lang: Chinese for "zh" (or "zh-CN",
// "zh_Hans"), English otherwise. ok is false, and the words are code
// itself, when code is not one of the Code constants.
func CodeWords(code, lang string) (words string, ok bool) {
	w, ok := codeWords[code]
	if !ok {
		return code, false
	}
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "zh" || strings.HasPrefix(lang, "zh-") || strings.HasPrefix(lang, "zh_") {
		return w[1], true
	}
	return w[0], true
}
