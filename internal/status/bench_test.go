package status

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// The benchmark's distribution: a few issuers whose indexes are spread
// uniformly over 0..50 M, statuses mostly green and yellow, effective times
// spread uniformly over the span of the payload.
var benchIssuers = []string{"ZJ", "HB-WH", "GD", "SH"}

const benchIndexRange = 50_000_000

var benchT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func randomEntry(r *rand.Rand, start time.Time, span time.Duration) Entry {
	eff := start.Add(time.Duration(r.Int64N(int64(span/time.Second))) * time.Second)
	p := r.IntN(100)
	switch {
	case p < 60:
		return Entry{Status: Green, Effective: eff}
	case p < 90:
		return Entry{Status: Yellow, Effective: eff, Until: eff.Add(7 * 24 * time.Hour), Reason: byte(1 + r.IntN(3))}
	case p < 98:
		return Entry{Status: Red, Effective: eff, Until: eff.Add(14 * 24 * time.Hour), Reason: byte(4 + r.IntN(2))}
	default:
		return Entry{Status: Withheld, Effective: eff, Reason: 6}
	}
}

// fillRandom adds n random native entries to b.
func fillRandom(tb testing.TB, b *Builder, r *rand.Rand, n int, start time.Time, span time.Duration) {
	for range n {
		iss := benchIssuers[r.IntN(len(benchIssuers))]
		if err := b.SetNative(iss, uint32(r.IntN(benchIndexRange)), randomEntry(r, start, span)); err != nil {
			tb.Fatal(err)
		}
	}
}

var big struct {
	once     sync.Once
	list     *List
	heap     uint64 // HeapInuse the list takes
	entries  int
	hits     []credential.Holder
	hitTimes []time.Time
	misses   []credential.Holder
	err      error
}

// bigBase makes the 7 M-entry base the benchmarks apply: a week of
// paper-code lifetime at a million changes a day, as bench/statusbase
// makes it.
func bigBase(b *testing.B, r *rand.Rand) []byte {
	const n = 7_000_000
	bl := NewBuilder()
	fillRandom(b, bl, r, n, benchT0, 7*24*time.Hour)
	payload, err := bl.MarshalBase()
	if err != nil {
		b.Fatal(err)
	}
	return payload
}

// bigList builds the 7 M-entry list once per benchmark run.
func bigList(b *testing.B) {
	big.once.Do(func() {
		before := heapInuse()
		r := rand.New(rand.NewPCG(7, 7))
		payload := bigBase(b, r)
		l, err := New(Options{})
		if err != nil {
			big.err = err
			return
		}
		if err := l.ApplyBase(&trust.Bundle{Kind: trust.KindStatusBase, Version: 1, Payload: payload}); err != nil {
			big.err = err
			return
		}
		payload = nil
		big.heap = heapInuse() - before
		big.list = l
		big.entries = l.Counts().Native
		// Holders to look up: listed ones (asked about a code issued before
		// the entry) and random ones, nearly all unlisted.
		s := l.cur.Load()
		for len(big.hits) < 1<<16 {
			name := benchIssuers[r.IntN(len(benchIssuers))]
			is := s.native[name]
			bi := r.IntN(len(is.blocks))
			blk := &is.blocks[bi]
			j := r.IntN(blk.len())
			h := credential.Holder{Kind: credential.HolderNative, Issuer: name, Index: uint32(is.keys[bi])<<16 | uint32(blk.low(j))}
			eff := blk.eff(j)
			big.hits = append(big.hits, h)
			big.hitTimes = append(big.hitTimes, time.Unix(eff-1, 0))
		}
		for len(big.misses) < 1<<16 {
			big.misses = append(big.misses, credential.Holder{Kind: credential.HolderNative,
				Issuer: benchIssuers[r.IntN(len(benchIssuers))], Index: uint32(r.IntN(benchIndexRange))})
		}
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
}

// reportCPU reports the thread's CPU time per operation: on a loaded
// machine the wall clock measures the scheduler, the thread's CPU time
// (which includes cache-miss stalls) measures the lookup.
func reportCPU(b *testing.B, start time.Duration, n int) {
	if d := threadCPU() - start; start > 0 && n > 0 {
		b.ReportMetric(float64(d)/float64(n), "cpu-ns/op")
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkMemory reports the heap the 7 M-entry list takes (target: at
// most 48 MB) as heap-MB, and the bytes per entry.
func BenchmarkMemory(b *testing.B) {
	bigList(b)
	for b.Loop() {
	}
	b.ReportMetric(float64(big.heap)/1e6, "heap-MB")
	b.ReportMetric(float64(big.heap)/float64(big.entries), "B/entry")
	b.ReportMetric(float64(big.entries), "entries")
}

// BenchmarkLookup looks up native holders in the 7 M-entry list (target: at
// most 1 µs).
func BenchmarkLookup(b *testing.B) {
	bigList(b)
	now := benchT0.Add(7*24*time.Hour - time.Second) // no yellow or red entry has lapsed yet
	b.Run("hit", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		i, missed := 0, 0
		start := threadCPU()
		for b.Loop() {
			k := i & (len(big.hits) - 1)
			if !big.list.Lookup(big.hits[k], big.hitTimes[k], now).Overridden {
				missed++
			}
			i++
		}
		reportCPU(b, start, i)
		if missed > 0 {
			b.Fatalf("%d of %d listed holders not found", missed, i)
		}
	})
	b.Run("miss", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		i := 0
		start := threadCPU()
		for b.Loop() {
			big.list.Lookup(big.misses[i&(len(big.misses)-1)], benchT0, now)
			i++
		}
		reportCPU(b, start, i)
	})
}

// BenchmarkDelta marshals a delta of one million changes spread over a day
// and reports its size on the wire (target: at most 4 MB) as wire-MB, then
// times applying it to the 7 M-entry list.
func BenchmarkDelta(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	bl := NewBuilder()
	fillRandom(b, bl, r, 1_000_000, benchT0.Add(7*24*time.Hour), 24*time.Hour)
	payload, err := bl.MarshalDelta()
	if err != nil {
		b.Fatal(err)
	}
	p, err := ParseDelta(payload)
	if err != nil {
		b.Fatal(err)
	}
	bigList(b)
	for b.Loop() {
		l := &List{window: big.list.window}
		l.cur.Store(big.list.cur.Load())
		if err := l.ApplyDeltaPayload(1, 2, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(payload))/1e6, "wire-MB")
	b.ReportMetric(float64(len(payload))*8/float64(p.Counts().Native), "bits/entry")
	b.ReportMetric(float64(p.Counts().Native), "changes")
}

// BenchmarkPrune drops the oldest hour of the 7 M-entry list, as an hourly
// prune does.
func BenchmarkPrune(b *testing.B) {
	bigList(b)
	dropped := 0
	for b.Loop() {
		l := &List{window: big.list.window}
		l.cur.Store(big.list.cur.Load())
		dropped = l.Prune(benchT0.Add(time.Duration(l.window)*time.Second + time.Hour))
	}
	b.ReportMetric(float64(dropped), "dropped")
}

// BenchmarkApplyBase applies the 7 M-entry base (bench/statusbase measures
// the same through the terminal's path, with the bundle's signature and
// the process's peak RSS).
func BenchmarkApplyBase(b *testing.B) {
	payload := bigBase(b, rand.New(rand.NewPCG(7, 7)))
	bundle := &trust.Bundle{Kind: trust.KindStatusBase, Version: 1, Payload: payload}
	n, ops := 0, 0
	start := processCPU()
	for b.Loop() {
		ops++
		l, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.ApplyBase(bundle); err != nil {
			b.Fatal(err)
		}
		n = l.Counts().Native
	}
	b.ReportMetric(float64(processCPU()-start)/float64(ops), "cpu-ns/op")
	b.ReportMetric(float64(n), "entries")
}

// processCPU returns the process's CPU time (user and system, all threads:
// the garbage collector's too). On a shared machine it measures the work
// where the wall clock measures the scheduler.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
