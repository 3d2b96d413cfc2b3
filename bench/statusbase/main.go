// Command statusbase measures what applying a large status base costs a
// terminal: it builds a signed status-base bundle as the centre does
// (status.Builder, trust.SealBundle), then applies it in fresh child
// processes through the terminal's path (client.LoadStatus into a
// status.List) and reports, as medians over the runs, the child's peak RSS
// (VmHWM), its CPU time (user + system) and the list's
// steady heap after GC.
//
//	go run ./bench/statusbase -entries 7000000 -runs 5
//
// The bundle is cached in -dir (a temporary directory when empty) and
// rebuilt when absent. The target of issue 14: peak RSS at most twice the
// steady size, in at most 0.5 s of CPU.
package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/status"
	"sentinel/sync/client"
)

var (
	issuers = []string{"ZJ", "HB-WH", "GD", "SH"}
	t0      = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

const indexRange = 50_000_000

// result is what a child reports.
type result struct {
	Entries   int     `json:"entries"`
	SteadyMB  float64 `json:"steady_mb"`
	PeakMB    float64 `json:"peak_rss_mb"`
	CPUSecond float64 `json:"cpu_s"`
}

func main() {
	entries := flag.Int("entries", 7_000_000, "native entries in the base")
	runs := flag.Int("runs", 5, "child processes to run")
	dir := flag.String("dir", "", "directory caching the bundle (default: a temporary one)")
	child := flag.Bool("child", false, "internal: apply the bundle in -dir and report")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each child's apply to `file`.N (N = 1..runs)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *child {
		if err := apply(*dir, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "statusbase:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*dir, *entries, *runs, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "statusbase:", err)
		os.Exit(1)
	}
}

func rootKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
}

func run(dir string, entries, runs int, cpuprofile string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "statusbase")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	dir = filepath.Join(dir, fmt.Sprint(entries))
	file := filepath.Join(dir, client.BundleDir, string(trust.KindStatusBase)+".bundle")
	if _, err := os.Stat(file); err != nil {
		if err := build(file, entries); err != nil {
			return err
		}
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var rs []result
	for i := range runs {
		args := []string{"-child", "-dir", dir}
		if cpuprofile != "" {
			args = append(args, "-cpuprofile", fmt.Sprintf("%s.%d", cpuprofile, i+1))
		}
		cmd := exec.Command(self, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("child: %w", err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("child: %w", err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		r.CPUSecond = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		rs = append(rs, r)
	}
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	peak, steady, cpu := med(func(r result) float64 { return r.PeakMB }), med(func(r result) float64 { return r.SteadyMB }), med(func(r result) float64 { return r.CPUSecond })
	fmt.Printf("entries %d, bundle %.1f MB, median of %d runs (%s)\n", rs[0].Entries, float64(fi.Size())/1e6, runs, runtime.Version())
	fmt.Printf("%-14s %10s %10s\n", "", "measured", "target")
	fmt.Printf("%-14s %8.1f MB\n", "steady heap", steady)
	fmt.Printf("%-14s %8.1f MB %8.1f MB (2x steady)  ratio %.2f\n", "peak RSS", peak, 2*steady, peak/(2*steady))
	fmt.Printf("%-14s %9.2f s %9.2f s             ratio %.2f\n", "CPU", cpu, 0.5, cpu/0.5)
	return nil
}

// build writes a signed base of n random entries: a week of changes spread
// over 0..50 M indexes of four issuers, mostly green and yellow.
func build(file string, n int) error {
	r := rand.New(rand.NewPCG(7, 7))
	b := status.NewBuilder()
	for range n {
		eff := t0.Add(time.Duration(r.Int64N(7*24*3600)) * time.Second)
		var e status.Entry
		switch p := r.IntN(100); {
		case p < 60:
			e = status.Entry{Status: status.Green, Effective: eff}
		case p < 90:
			e = status.Entry{Status: status.Yellow, Effective: eff, Until: eff.Add(7 * 24 * time.Hour), Reason: byte(1 + r.IntN(3))}
		case p < 98:
			e = status.Entry{Status: status.Red, Effective: eff, Until: eff.Add(14 * 24 * time.Hour), Reason: byte(4 + r.IntN(2))}
		default:
			e = status.Entry{Status: status.Withheld, Effective: eff, Reason: 6}
		}
		if err := b.SetNative(issuers[r.IntN(len(issuers))], uint32(r.IntN(indexRange)), e); err != nil {
			return err
		}
	}
	payload, err := b.MarshalBase()
	if err != nil {
		return err
	}
	data, err := trust.SealBundle(rootKey(), nil, trust.Bundle{Kind: trust.KindStatusBase, Version: 1,
		IssuedAt: t0, FreshUntil: t0.Add(24 * time.Hour), GraceUntil: t0.Add(48 * time.Hour), Payload: payload})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

// apply loads the base as sentineld does and prints the list's steady heap.
func apply(dir, cpuprofile string) error {
	before := heapInuse()
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	l, err := status.New(status.Options{})
	if err != nil {
		return err
	}
	if _, err := client.LoadStatus(dir, rootKey().Public(), t0.Add(time.Hour), l); err != nil {
		return err
	}
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	steady := heapInuse() - before
	r := result{Entries: l.Counts().Native, SteadyMB: float64(steady) / 1e6}
	// VmHWM, not the parent's ru_maxrss: Linux carries a process's peak
	// across fork and exec, so the child's ru_maxrss would be the parent's.
	hwm, err := vmHWM()
	if err != nil {
		return err
	}
	r.PeakMB = float64(hwm) / 1e6
	runtime.KeepAlive(l)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// vmHWM returns the process's peak resident set size in bytes.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmHWM: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status (Linux only)")
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
