package compare

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what -json prints per decoder.
type Report struct {
	Decoder  string                `json:"decoder"`
	Decoded  int                   `json:"decoded"`
	Total    int                   `json:"total"`
	False    int                   `json:"false"`
	Variants map[string][2]int     `json:"variants"`
	CPUms    map[string]CPUSummary `json:"cpu_ms"`
}

// CPUSummary is the CPU time per frame at one resolution, in
// milliseconds.
type CPUSummary struct {
	Mean float64 `json:"mean"`
	P95  float64 `json:"p95"`
	Max  float64 `json:"max"`
}

// Summarise builds a decoder's -json report from its outcomes on frames.
// Frames without a code count in cpu_ms but not in total; a decode of one
// counts in false.
func Summarise(name string, frames []Frame, outs []Outcome) Report {
	r := Report{Decoder: name, Variants: map[string][2]int{}, CPUms: map[string]CPUSummary{}}
	byRes := map[string][]time.Duration{}
	for i, f := range frames {
		o := outs[i]
		res := resolution(f)
		byRes[res] = append(byRes[res], o.CPU)
		if o.Wrong {
			r.False++
		}
		if f.Want == nil {
			continue
		}
		v := r.Variants[f.Variant]
		v[1]++
		r.Total++
		if o.OK {
			v[0]++
			r.Decoded++
		}
		r.Variants[f.Variant] = v
	}
	for res, ds := range byRes {
		s := stats(ds)
		r.CPUms[res] = CPUSummary{Mean: round3(s.mean), P95: round3(s.p95), Max: round3(s.max)}
	}
	return r
}

func resolution(f Frame) string { return fmt.Sprintf("%dx%d", f.Width, f.Height) }

type summary struct{ mean, p50, p95, max float64 }

// stats returns the mean, median, 95th percentile (nearest rank) and
// maximum of ds in milliseconds.
func stats(ds []time.Duration) summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return summary{
		mean: ms(sum) / float64(len(s)),
		p50:  ms(s[(len(s)-1)/2]),
		p95:  ms(s[(len(s)*95+99)/100-1]),
		max:  ms(s[len(s)-1]),
	}
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report prints the table: per variant and per resolution, the share of
// frames each decoder reads and its mean CPU time per frame; then per
// resolution each decoder's mean, p50, p95 and worst; then Sentinel's
// time as a multiple of each peer's.
func report(w io.Writer, ds []Decoder, frames []Frame, res [][]Outcome, rounds int) {
	var vs []string
	for _, d := range ds {
		if d.Version != "" {
			vs = append(vs, d.Name+" "+d.Version)
		} else {
			vs = append(vs, d.Name)
		}
	}
	fmt.Fprintf(w, "decoders: %s\n", strings.Join(vs, ", "))
	fmt.Fprintf(w, "CPU ms per frame (median of %d interleaved rounds), decoding only, frames in memory\n\n", rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "variant\tframes\t")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s ok\t%s ms\t", d.Name, d.Name)
	}
	fmt.Fprintln(tw)
	var variants, resolutions []string
	for _, f := range frames {
		if !slices.Contains(variants, f.Variant) {
			variants = append(variants, f.Variant)
		}
		if f.Variant != CorpusVariant && !slices.Contains(resolutions, resolution(f)) {
			resolutions = append(resolutions, resolution(f))
		}
	}
	row := func(label string, sel func(f Frame) bool) {
		n := 0
		for _, f := range frames {
			if sel(f) {
				n++
			}
		}
		if n == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t", label, n)
		for j := range ds {
			ok, wrong := 0, 0
			var total time.Duration
			for i, f := range frames {
				if !sel(f) {
					continue
				}
				o := res[j][i]
				if o.OK {
					ok++
				}
				if o.Wrong {
					wrong++
				}
				total += o.CPU
			}
			cell := fmt.Sprintf("%.0f%%", 100*float64(ok)/float64(n))
			if wrong > 0 {
				cell += fmt.Sprintf(" (%d false)", wrong)
			}
			fmt.Fprintf(tw, "%s\t%.2f\t", cell, ms(total)/float64(n))
		}
		fmt.Fprintln(tw)
	}
	for _, v := range variants {
		row(v, func(f Frame) bool { return f.Variant == v })
	}
	generated := func(f Frame) bool { return f.Variant != CorpusVariant }
	if len(variants) > 1 {
		row("all but corpus", generated)
	}
	for _, r := range resolutions {
		row("all "+r, func(f Frame) bool { return generated(f) && resolution(f) == r })
	}
	tw.Flush()
	for j, d := range ds {
		n := 0
		for _, o := range res[j] {
			if o.Unstable {
				n++
			}
		}
		if n > 0 {
			what := "frames"
			if n == 1 {
				what = "frame"
			}
			fmt.Fprintf(w, "%s: %d %s read in some rounds only (counted as missed)\n", d.Name, n, what)
		}
	}

	// Per-frame distribution per resolution, and the corpus as one group.
	groups := slices.Clone(resolutions)
	if slices.Contains(variants, CorpusVariant) {
		groups = append(groups, CorpusVariant)
	}
	inGroup := func(f Frame, g string) bool {
		if g == CorpusVariant {
			return f.Variant == CorpusVariant
		}
		return generated(f) && resolution(f) == g
	}
	sums := make([]map[string]summary, len(ds))
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "decoder\tframes\tms mean\tp50\tp95\tmax\t")
	for j, d := range ds {
		sums[j] = map[string]summary{}
		for _, g := range groups {
			var cpu []time.Duration
			for i, f := range frames {
				if inGroup(f, g) {
					cpu = append(cpu, res[j][i].CPU)
				}
			}
			s := stats(cpu)
			sums[j][g] = s
			fmt.Fprintf(tw, "%s %s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n", d.Name, g, len(cpu), s.mean, s.p50, s.p95, s.max)
		}
	}
	tw.Flush()

	// Sentinel as a multiple of each peer.
	own := slices.IndexFunc(ds, func(d Decoder) bool { return d.Name == "sentinel" })
	if own < 0 || len(ds) < 2 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sentinel / peer\tmean\tp95\tmax\t")
	for j, d := range ds {
		if j == own {
			continue
		}
		for _, g := range groups {
			a, b := sums[own][g], sums[j][g]
			fmt.Fprintf(tw, "/ %s %s\t%.2f×\t%.2f×\t%.2f×\t\n", d.Name, g, a.mean/b.mean, a.p95/b.p95, a.max/b.max)
		}
	}
	tw.Flush()
}
