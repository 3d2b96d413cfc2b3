package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures durable appends (each written to the log and
// synced with fdatasync before Append returns; checkpoints into bbolt
// included) from 1, 4 and 16 concurrent lanes, in appends
// per second. The time per op is wall time divided by all appends.
func BenchmarkAppend(b *testing.B) {
	for _, lanes := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			centre := testCentre(b)
			j, err := Open(filepath.Join(b.TempDir(), FileName), Options{CentreKey: centre.PublicKey(), PurgeEvery: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			ps := make([]*Passage, 64)
			for i := range ps {
				ps[i] = testPassage(i, t0)
			}
			mustAppend(b, j, ps[0]) // the data key
			var commits atomic.Int64
			j.appendHook = func() error { commits.Add(1); return nil }
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range lanes {
				wg.Go(func() {
					for {
						i := n.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := j.Append(context.Background(), ps[i%64]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
			b.ReportMetric(float64(b.N)/float64(commits.Load()), "appends/sync")
		})
	}
}
