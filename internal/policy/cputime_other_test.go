//go:build !linux

package policy

import "time"

// threadCPU is not measured outside Linux; benchmarks then report only
// the wall time.
func threadCPU() time.Duration { return 0 }
