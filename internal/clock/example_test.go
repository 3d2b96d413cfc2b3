package clock_test

import (
	"fmt"

	"sentinel/internal/clock"
)

func ExampleNew() {
	m := clock.New(clock.Options{BatteryRTC: false})
	t, trusted, source := m.Now()
	if !trusted {
		// Neither accept nor refuse a code: refer to the guard, and show why.
		fmt.Println("clock", m.State())
		return
	}
	_ = t
	_ = source
}
