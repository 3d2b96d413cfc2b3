package clock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// sysAdjtimex reads the kernel clock's status without changing it.
var sysAdjtimex = func() (ntpStatus, error) {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return ntpStatus{}, fmt.Errorf("adjtimex: %w", err)
	}
	return ntpStatus{
		unsync:   tx.Status&unix.STA_UNSYNC != 0 || state == unix.TIME_ERROR,
		maxError: time.Duration(int64(tx.Maxerror)) * time.Microsecond,
	}, nil
}
