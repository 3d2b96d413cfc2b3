package certlogic

import (
	"path/filepath"
	"runtime"
	"sentinel/internal/corpustest"
	"sort"
	"testing"
	"time"
)

// benchCountries are the countries of the corpus, each benchmarked on
// its whole rule set.
var benchCountries = []string{"AT", "CH", "DE", "ES", "EU", "FR", "IE", "NL"}

// BenchmarkCountryRules evaluates a country's whole acceptance rule set
// for a vaccination certificate (its General and Vaccination rules valid
// at the validation clock, as Select picks them) on one certificate, as a
// passage would: the payload's JSON is converted to values, the data
// context built and the rules selected each time; the value sets are
// shared. The certificate is a complete one of our own (a booster given
// six weeks before the clock); the value sets are the country's tests'.
func BenchmarkCountryRules(b *testing.B) {
	dir := corpustest.Dir(b, "eu-dcc-rules")
	for _, cc := range benchCountries {
		b.Run(cc, func(b *testing.B) {
			folders, err := FindRuleFolders(filepath.Join(dir, cc))
			if err != nil {
				b.Fatal(err)
			}
			var rules []*Rule
			sets := map[string][]string{}
			for _, f := range folders {
				r, tests, err := LoadRuleFolder(f)
				if err != nil {
					b.Fatal(err)
				}
				rules = append(rules, r)
				for _, tc := range tests {
					ext, _ := tc.Data.(map[string]any)["external"].(map[string]any)
					vs, _ := ext["valueSets"].(map[string]any)
					for name, codes := range vs {
						if _, ok := sets[name]; ok {
							continue
						}
						for _, c := range codes.([]any) {
							s, _ := c.(string)
							sets[name] = append(sets[name], s)
						}
					}
				}
			}
			clock := benchClock
			external := External{ValidationClock: clock, ValueSets: NewValueSets(sets), CountryCode: cc}
			payload := []byte(benchPayload)
			sel := Select(rules, Selection{Country: cc, Type: Acceptance, CertificateType: Vaccination, At: clock})
			if len(sel) == 0 {
				b.Skipf("%s has no acceptance rule for vaccinations valid at %s", cc, clock)
			}
			failed := 0
			p, _ := DecodeJSON(payload)
			for _, o := range EvalAll(sel, Data(p, external)) {
				if !o.Passed {
					failed++
				}
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			start, n := threadCPU(), 0
			for b.Loop() {
				n++
				p, err := DecodeJSON(payload)
				if err != nil {
					b.Fatal(err)
				}
				sel := Select(rules, Selection{Country: cc, Type: Acceptance, CertificateType: Vaccination, At: clock})
				if len(sel) == 0 {
					b.Fatal("no rule selected")
				}
				EvalAll(sel, Data(p, external))
			}
			// The CPU time of the benchmark's thread stays honest on a
			// loaded machine where wall time does not.
			if cpu := threadCPU() - start; cpu > 0 && n > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
			}
			b.ReportMetric(float64(len(sel)), "rules")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}

// benchPayload is a complete vaccination certificate (booster, 3/3).
const benchPayload = `{"ver":"1.3.0","dob":"1980-02-29","nam":{"fn":"Muster","fnt":"MUSTER","gn":"Erika","gnt":"ERIKA"},
"v":[{"tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528","ma":"ORG-100030215","dn":3,"sd":3,"dt":"2021-12-01",
"co":"AT","is":"Ministry of Health, Austria","ci":"URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"}]}`

// benchClock is the validation clock of BenchmarkCountryRules.
var benchClock = time.Date(2022, 1, 15, 10, 0, 0, 0, time.UTC)

// BenchmarkHoldAllRules parses every rule of the corpus (105 rules of 8
// countries) and reports the heap they hold, compiled and with their
// JSON, as heap-bytes.
func BenchmarkHoldAllRules(b *testing.B) {
	dir := corpustest.Dir(b, "eu-dcc-rules")
	folders, err := FindRuleFolders(dir)
	if err != nil {
		b.Fatal(err)
	}
	sort.Strings(folders)
	var held []*Rule
	var heap float64
	for b.Loop() {
		var before, after runtime.MemStats
		held = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, f := range folders {
			r, err := LoadRule(f)
			if err != nil {
				b.Fatal(err)
			}
			held = append(held, r)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
	}
	b.ReportMetric(heap, "heap-bytes")
	b.ReportMetric(float64(len(held)), "rules")
	runtime.KeepAlive(held)
}
