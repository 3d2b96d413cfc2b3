package certlogic

import (
	"fmt"
	"time"
)

// timeUnit is the unit of a plusTime offset.
type timeUnit int8

const (
	unitYear timeUnit = iota
	unitMonth
	unitDay
	unitHour
)

var timeUnits = map[string]timeUnit{"year": unitYear, "month": unitMonth, "day": unitDay, "hour": unitHour}

// maxOffset bounds the amount of a plusTime: ten million hours is more
// than a thousand years, and any offset within it stays far inside Go's
// and JavaScript's ranges of dates.
const maxOffset = 10_000_000

// plusTime offsets t as JavaScript's Date.setUTC<unit>(getUTC<unit>() +
// amount) does: calendar arithmetic in UTC that overflows into the next
// unit (2020-02-29 plus one year is 2021-03-01), which is what
// time.Time.AddDate does too.
func plusTime(t time.Time, amount int64, unit timeUnit) time.Time {
	n := int(amount)
	switch unit {
	case unitYear:
		return t.AddDate(n, 0, 0)
	case unitMonth:
		return t.AddDate(0, n, 0)
	case unitDay:
		return t.AddDate(0, 0, n)
	default:
		return t.Add(time.Duration(amount) * time.Hour)
	}
}

// parseDateTime reads a date or date-time in one of the forms the
// specification allows for plusTime:
//
//	YYYY, YYYY-MM                       partial dates, as dccDateOfBirth reads them
//	YYYY-MM-DD                          midnight UTC
//	YYYY-MM-DDThh:mm:ss[.S+][offset]    offset Z, [+-]h, hh, hmm, hhmm, h:mm, hh:mm; none is Z
//
// Fractions beyond milliseconds are cut off. Anything else, or a date
// that does not exist (2021-02-30, month 13), is an error: the
// specification leaves such strings undefined and we refuse them.
func parseDateTime(s string) (time.Time, error) {
	bad := func(what string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%s is not a date-time (%s): want YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with an optional fraction and offset", describe(s), what)
	}
	if len(s) < 10 || len(s) == 4 || len(s) == 7 {
		if len(s) == 4 || len(s) == 7 {
			return parseDateOfBirth(s)
		}
		return bad("too short")
	}
	y, m, d, ok := parseDate(s[:10])
	if !ok {
		return bad("bad date")
	}
	if len(s) == 10 {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
	}
	rest := s[10:]
	if len(rest) < 9 || rest[0] != 'T' || rest[3] != ':' || rest[6] != ':' {
		return bad("bad time")
	}
	hh, ok1 := digits(rest[1:3])
	mm, ok2 := digits(rest[4:6])
	ss, ok3 := digits(rest[7:9])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return bad("bad time")
	}
	rest = rest[9:]
	ms := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 3 {
				ms = ms*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return bad("empty fraction")
		}
		for k := i; k <= 3; k++ {
			ms *= 10
		}
		rest = rest[i:]
	}
	offset, ok := parseOffset(rest)
	if !ok {
		return bad("bad offset")
	}
	t := time.Date(y, time.Month(m), d, hh, mm, ss, ms*int(time.Millisecond), time.UTC)
	return t.Add(-time.Duration(offset) * time.Minute), nil
}

// parseOffset reads "", "Z" or [+-] followed by h, hh, hmm, hhmm, h:mm or
// hh:mm, and returns the offset in minutes east of UTC.
func parseOffset(s string) (int, bool) {
	if s == "" || s == "Z" {
		return 0, true
	}
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	var h, m string
	switch {
	case len(s) == 1 || len(s) == 2:
		h = s
	case len(s) >= 4 && s[len(s)-3] == ':':
		h, m = s[:len(s)-3], s[len(s)-2:]
	case len(s) == 3 || len(s) == 4:
		h, m = s[:len(s)-2], s[len(s)-2:]
	default:
		return 0, false
	}
	if len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hv, ok := digits(h)
	if !ok || hv > 23 {
		return 0, false
	}
	mv := 0
	if m != "" {
		if mv, ok = digits(m); !ok || mv > 59 {
			return 0, false
		}
	}
	return sign * (hv*60 + mv), true
}

// parseDateOfBirth reads a date of birth as dccDateOfBirth does: YYYY is
// its 31 December, YYYY-MM the last day of that month, YYYY-MM-DD that
// day, all at midnight UTC (the last date consistent with the data).
func parseDateOfBirth(s string) (time.Time, error) {
	var y, m, d int
	ok := false
	switch len(s) {
	case 4:
		y, ok = digits(s)
		m, d = 12, 31
	case 7:
		var ok2 bool
		y, ok = digits(s[:4])
		m, ok2 = digits(s[5:7])
		ok = ok && ok2 && s[4] == '-' && m >= 1 && m <= 12
		d = daysIn(y, m)
	case 10:
		y, m, d, ok = parseDate(s)
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not a date of birth: want YYYY, YYYY-MM or YYYY-MM-DD", describe(s))
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// parseDate reads YYYY-MM-DD, checking that the day exists.
func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// digits reads a non-empty string of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
