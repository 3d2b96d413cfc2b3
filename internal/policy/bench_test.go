package policy

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// BenchmarkDecide measures one decision with the default supermarket
// policy: a green code admitted (every rule is evaluated before "green"),
// a fever referred, and a refused code denied early.
func BenchmarkDecide(b *testing.B) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*Input)
		want   passage.Verdict
	}{
		{"green-admit", func(*Input) {}, passage.Admit},
		{"fever-refer", func(in *Input) { in.Temperature.Value = celsius(38.2) }, passage.Refer},
		{"forged-deny", func(in *Input) { in.Credential, in.Rejection = nil, "bad-signature" }, passage.Deny},
		{"dcc-admit", func(in *Input) { *in = dcc() }, passage.Admit},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := green()
			c.mutate(&in)
			if d := e.Decide(in); d.Verdict != c.want {
				b.Fatalf("got %s %q, want %s", d.Verdict, d.Reasons, c.want)
			}
			loop(b, func() { e.Decide(in) })
		})
	}
}

// BenchmarkDecideParallel runs the green admit from every core, as lanes
// do.
func BenchmarkDecideParallel(b *testing.B) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		b.Fatal(err)
	}
	in := green()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Decide(in)
		}
	})
}

// BenchmarkNew measures compiling the default policy (once per bundle).
func BenchmarkNew(b *testing.B) {
	loop(b, func() {
		if _, err := New(nil, siteconfig.Compound); err != nil {
			b.Fatal(err)
		}
	})
}

// loop runs op b.N times on one locked thread and reports, besides the
// wall time, the thread's CPU time per operation (cpu-ns/op), which a
// loaded machine disturbs much less.
func loop(b *testing.B, op func()) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start := threadCPU()
	for b.Loop() {
		op()
	}
	if cpu := threadCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkDecideLatency reports the median and the 99th percentile of
// single green-admit decisions (wall time, so a loaded machine shows in
// the tail).
func BenchmarkDecideLatency(b *testing.B) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		b.Fatal(err)
	}
	in := green()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		e.Decide(in)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
