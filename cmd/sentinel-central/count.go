package main

import (
	"strconv"
	"strings"
)

// count writes n with noun, in the plural unless n is 1: "1 passage",
// "2 passages", "0 guards", "2 audit entries".
func count[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(int64(n), 10) + " " + plural(noun)
}

// countText is count for a number the server sent as text; text that is
// not a number is written as it came, with the plural.
func countText(n, noun string) string {
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		return count(v, noun)
	}
	if n == "" {
		return plural(noun)
	}
	return n + " " + plural(noun)
}

// plural is the plural of the nouns count is given: an s, or "ies" for a
// y after a consonant ("entry", not "day").
func plural(noun string) string {
	if stem, ok := strings.CutSuffix(noun, "y"); ok && stem != "" && !strings.ContainsRune("aeiou", rune(stem[len(stem)-1])) {
		return stem + "ies"
	}
	return noun + "s"
}
