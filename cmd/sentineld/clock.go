package main

import (
	"time"

	"sentinel/internal/gate"
)

// buildFloor is a time this program cannot run before: a clock that reads
// earlier was not set (a board without a battery clock boots in 1970).
var buildFloor = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// floorClock trusts the system clock once it reads after buildFloor.
type floorClock struct{}

var _ gate.Clock = floorClock{}

func (floorClock) Now() (time.Time, bool) {
	t := time.Now()
	return t, t.After(buildFloor)
}
