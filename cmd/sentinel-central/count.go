package main

import "strconv"

// count writes n with noun, in the plural unless n is 1: "1 passage",
// "2 passages", "0 guards". The nouns it is given take an s.
func count[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(int64(n), 10) + " " + noun + "s"
}

// countText is count for a number the server sent as text; text that is
// not a number is written as it came, with the plural.
func countText(n, noun string) string {
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		return count(v, noun)
	}
	if n == "" {
		return noun + "s"
	}
	return n + " " + noun + "s"
}
