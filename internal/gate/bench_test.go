package gate

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
	"sentinel/sync/journal"
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

// BenchmarkPassage measures a passage from the code's bytes to a durable
// journal record, the path that must finish before the gate opens:
// verification of a native code with the real verifier, the lookup in a
// real status list (a base of 100,000 holders), the supermarket's compiled
// CEL policy and the append to the real journal, which returns once the
// record is synced to disk (sync/journal). QR decoding and the temperature
// are not included. Lanes process passages concurrently. It reports the
// median and the 99th percentile of single passages in wall-clock time
// (the disk's sync included; a loaded machine inflates it), the 99th
// percentile of the lane's own thread CPU time (the journal's committer
// runs on another thread), and the passages per second of all lanes.
//
// The sub-benchmark disk=fdatasync is the disk's own share, measured in
// the same run on the same file system: one pwrite of a journal frame's
// size and one fdatasync per operation, into a file written ahead with
// zeros as the journal's log is. A passage cannot be faster than that;
// what the lanes add beyond it is ours.
//
// On a machine that others keep busy, the wall-clock percentiles measure
// its scheduler. Running the compiled test binary under a real-time
// policy (chrt -f 10 ./gate.test -test.bench Passage ...) puts the lanes
// ahead of other processes for the CPU; the disk stays shared, which the
// disk=fdatasync line of the same run shows.
func BenchmarkPassage(b *testing.B) {
	b.Run("disk=fdatasync", benchmarkFdatasync)
	for _, lanes := range []int{1, 4} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) { benchmarkPassage(b, lanes) })
	}
}

// passageDir puts BenchmarkPassage's files on another file system than the
// temporary directory's: a RAM disk, to see the passage without the
// disk's sync, or the gate's own storage.
var passageDir = flag.String("passage.dir", "", "where BenchmarkPassage keeps its journal and sync file (default: a temporary directory)")

// benchDir returns a new directory for one benchmark's files.
func benchDir(b *testing.B) string {
	if *passageDir == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(*passageDir, "passage")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// benchmarkFdatasync times a bare pwrite+fdatasync loop.
func benchmarkFdatasync(b *testing.B) {
	const fileSize, frame = 2 << 20, 512
	f, err := os.Create(filepath.Join(benchDir(b), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, fileSize)); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fsync(int(f.Fd())); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, frame)
	took := make([]time.Duration, 0, b.N)
	off := int64(0)
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		if _, err := unix.Pwrite(int(f.Fd()), buf, off); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t))
		if off += frame; off+frame > fileSize {
			off = 0
		}
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func benchmarkPassage(b *testing.B, lanes int) {
	centre, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	j, err := journal.Open(journal.Path(benchDir(b)), journal.Options{CentreKey: centre.PublicKey(), PurgeEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	list := benchStatusList(b, 100_000)
	e, err := policy.New(nil, siteconfig.Supermarket)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, lanes)
	r := newRigOpts(b, func(s *State) {
		s.Status = StatusList(list)
		s.Policy = PolicyEngine(e, 0, "SM-0042")
	}, func(o *Options) {
		o.Journal = j
		o.Display = &lastShown{last: make(map[string]Shown)}
		o.Lanes = nil
		for i := range names {
			names[i] = fmt.Sprintf("in-%d", i+1)
			o.Lanes = append(o.Lanes, LaneConfig{Name: names[i]})
		}
	})
	payload := green(b)
	ctx := context.Background()
	if res, err := r.g.Process(ctx, names[0], payload); err != nil || !res.Committed || res.Passage.Decision != passage.Admit {
		b.Fatalf("got %v committed %v %v, want a committed admit", res.Passage.Decision, res.Committed, err)
	}
	took := make([][]time.Duration, lanes)
	cpu := make([][]time.Duration, lanes)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for i, name := range names {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for next.Add(1) <= int64(b.N) {
				t, c := time.Now(), threadCPU()
				res, err := r.g.Process(ctx, name, payload)
				took[i] = append(took[i], time.Since(t))
				cpu[i] = append(cpu[i], threadCPU()-c)
				if err != nil || !res.Committed || res.Passage.Decision != passage.Admit {
					b.Errorf("got %v committed %v %v, want a committed admit", res.Passage.Decision, res.Committed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	pct := func(d [][]time.Duration, p float64) float64 {
		all := slices.Concat(d...)
		slices.Sort(all)
		return float64(all[int(p*float64(len(all)-1))]) / 1e6
	}
	b.ReportMetric(pct(took, 0.50), "p50-ms")
	b.ReportMetric(pct(took, 0.99), "p99-ms")
	if c := slices.Concat(cpu...); slices.Max(c) > 0 {
		b.ReportMetric(pct(cpu, 0.99), "p99-cpu-ms")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "passages/s")
}

// lastShown is BenchmarkPassage's display. It keeps what a guard display
// keeps (internal/ui), each lane's last verdict; the tests' fakeDisplay
// keeps every verdict in one growing slice, whose regrowth, a copy of
// megabytes under the lock every lane takes, showed in the passages' tail.
type lastShown struct {
	mu   sync.Mutex
	last map[string]Shown
}

func (d *lastShown) Show(s Shown) {
	d.mu.Lock()
	d.last[s.Lane] = s
	d.mu.Unlock()
}

// benchStatusList returns a status list whose base holds n red holders
// of issuer ZJ (none of them the benchmark's holder, index 1).
func benchStatusList(b *testing.B, n int) *status.List {
	at := t0.Add(-24 * time.Hour)
	sb := status.NewBuilder()
	for i := range n {
		if err := sb.SetNative("ZJ", uint32(1000+2*i), status.Entry{Status: status.Red, Effective: at, Until: at.Add(14 * 24 * time.Hour), Reason: 4}); err != nil {
			b.Fatal(err)
		}
	}
	payload, err := sb.MarshalBase()
	if err != nil {
		b.Fatal(err)
	}
	l, err := status.New(status.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: 1, Payload: payload}); err != nil {
		b.Fatal(err)
	}
	return l
}
