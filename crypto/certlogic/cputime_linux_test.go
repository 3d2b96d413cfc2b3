package certlogic

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time of the calling OS thread, for the
// benchmarks' cpu-ns/op metric, which stays honest on a loaded machine
// where wall time does not.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
