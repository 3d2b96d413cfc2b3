//go:build !linux

package clock

import "errors"

// sysAdjtimex: only Linux reports NTP synchronisation here.
var sysAdjtimex = func() (ntpStatus, error) {
	return ntpStatus{}, errors.New("adjtimex: not supported on this system")
}
