package clock

import "testing"

// TestCodeWords: every code has words in both languages, different from
// the code; an unknown code comes back as it is.
func TestCodeWords(t *testing.T) {
	for _, c := range Codes() {
		en, ok1 := CodeWords(c, "en")
		zh, ok2 := CodeWords(c, "zh-CN")
		if !ok1 || !ok2 || en == c || zh == c || en == zh || en == "" || zh == "" {
			t.Errorf("%s: got %q, %q (%v, %v), want a sentence in each language", c, en, zh, ok1, ok2)
		}
	}
	if len(codeWords) != len(Codes()) {
		t.Errorf("%d codes have words, Codes lists %d", len(codeWords), len(Codes()))
	}
	if w, ok := CodeWords("no-such-code", "en"); ok || w != "no-such-code" {
		t.Errorf("unknown code: got %q, %v", w, ok)
	}
}
