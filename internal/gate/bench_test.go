package gate

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// BenchmarkDecide measures the time from payload to decision: verification
// of a native code with the real verifier, the status lookup and policy,
// plus a journal append that does not sync. QR decoding, the temperature
// measurement and the fsync are not included. It reports the median and
// the 99th percentile of single passages, in wall-clock time and in the
// thread's CPU time (which a loaded machine does not inflate).
//
// The sub-benchmarks decide with the hand-written seed policy and with
// internal/policy's compiled CEL rules for a supermarket.
func BenchmarkDecide(b *testing.B) {
	b.Run("seed-policy", func(b *testing.B) { benchmarkDecide(b, seedPolicy{}) })
	e, err := policy.New(nil, siteconfig.Supermarket)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cel-policy", func(b *testing.B) { benchmarkDecide(b, PolicyEngine(e, 0, "SM-0042")) })
}

func benchmarkDecide(b *testing.B, pol Policy) {
	r := newRig(b, func(s *State) { s.Policy = pol })
	r.g.byName["in-1"].cfg.Thermometer = nil // no sampling while the clock runs
	r.g.byName["in-1"].cfg.Outputs = nil
	payload := green(b)
	ctx := context.Background()
	var took, cpu []time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		start, startCPU := time.Now(), threadCPU()
		res, err := r.g.Process(ctx, "in-1", payload)
		took = append(took, time.Since(start))
		cpu = append(cpu, threadCPU()-startCPU)
		if err != nil || res.Passage.Decision != passage.Admit {
			b.Fatalf("got %v %v, want admit", res.Passage.Decision, err)
		}
		if len(r.journal.passages) > 1<<16 {
			r.journal.passages = r.journal.passages[:0]
		}
	}
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))].Nanoseconds())
	}
	b.ReportMetric(pct(took, 0.50), "p50-ns")
	b.ReportMetric(pct(took, 0.99), "p99-ns")
	if cpu[len(cpu)-1] > 0 {
		b.ReportMetric(pct(cpu, 0.50), "p50-cpu-ns")
		b.ReportMetric(pct(cpu, 0.99), "p99-cpu-ns")
	}
}
