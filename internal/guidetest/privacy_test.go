package guidetest

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central/schedule"
	"sentinel/internal/corpustest"
	"sentinel/internal/replay"
	"sentinel/internal/siteconfig"
	"sentinel/internal/status"
	"sentinel/sync/journal"
)

// A figure of docs/privacy.md is a number with its unit followed by an
// HTML comment naming what the code uses:
//
//	14 days<!-- = siteconfig.DefaultRetentionDays -->
//
// figureRE finds them; anyFigureRE finds every number with such a unit, so
// that a figure without its mark fails too.
var (
	figureRE    = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*(days?|hours?|minutes?|%)<!-- = ([^>]+?) -->`)
	anyFigureRE = regexp.MustCompile(`\b(\d+(?:\.\d+)?)\s*(days?|hours?|minutes?|%)`)
)

// figure is a value the code uses: a duration, or a fraction for "%".
type figure struct {
	d        time.Duration
	fraction float64
	percent  bool
}

func (f figure) String() string {
	if f.percent {
		return strconv.FormatFloat(f.fraction*100, 'f', -1, 64) + " %"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if f.d%u.d == 0 {
			if n := int64(f.d / u.d); n != 1 {
				return fmt.Sprintf("%d %ss", n, u.name)
			}
			return "1 " + u.name
		}
	}
	return f.d.String()
}

// codeFigures are the constants docs/privacy.md may quote, by the name its
// marks use. Flag defaults are added by flagFigures.
func codeFigures() map[string]figure {
	day := 24 * time.Hour
	return map[string]figure{
		"journal.DefaultRetention":        {d: journal.DefaultRetention},
		"journal.DefaultPurgeEvery":       {d: journal.DefaultPurgeEvery},
		"journal.DefaultDiskLimit":        {fraction: journal.DefaultDiskLimit, percent: true},
		"siteconfig.DefaultRetentionDays": {d: siteconfig.DefaultRetentionDays * day},
		"siteconfig.MaxRetention":         {d: siteconfig.MaxRetention * day},
		"replay.DefaultMaxWindow":         {d: replay.DefaultMaxWindow},
		"status.DefaultNativeLifetime":    {d: status.DefaultNativeLifetime},
		"status.DefaultTolerance":         {d: status.DefaultTolerance},
		"schedule.DefaultRetentionEvery":  {d: schedule.DefaultRetentionEvery},
	}
}

// parseFigure reads "14 days", "1 hour", "80 %".
func parseFigure(num, unit string) (figure, error) {
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return figure{}, err
	}
	switch strings.TrimSuffix(unit, "s") {
	case "day":
		return figure{d: time.Duration(n * float64(24*time.Hour))}, nil
	case "hour":
		return figure{d: time.Duration(n * float64(time.Hour))}, nil
	case "minute":
		return figure{d: time.Duration(n * float64(time.Minute))}, nil
	case "%":
		return figure{fraction: n / 100, percent: true}, nil
	}
	return figure{}, fmt.Errorf("unit %q", unit)
}

func (f figure) equal(g figure) bool {
	if f.percent != g.percent {
		return false
	}
	if f.percent {
		return math.Abs(f.fraction-g.fraction) < 1e-9
	}
	return f.d == g.d
}

// checkFigures returns one complaint per figure of md that is unmarked,
// names no known value, or differs from it, and per known value md never
// quotes.
func checkFigures(md string, known map[string]figure) []string {
	var bad []string
	lines := strings.Split(md, "\n")
	quoted := map[string]bool{}
	for i, line := range lines {
		marked := map[int]bool{}
		for _, m := range figureRE.FindAllStringSubmatchIndex(line, -1) {
			marked[m[0]] = true
			text, num, unit, name := line[m[0]:m[1]], line[m[2]:m[3]], line[m[4]:m[5]], strings.TrimSpace(line[m[6]:m[7]])
			quoted[name] = true
			got, err := parseFigure(num, unit)
			if err != nil {
				bad = append(bad, fmt.Sprintf("line %d: %q: %v", i+1, text, err))
				continue
			}
			want, ok := known[name]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("line %d: %s %s is marked as %s, which the test does not know: add it to codeFigures", i+1, num, unit, name))
			case !got.equal(want):
				bad = append(bad, fmt.Sprintf("line %d: the document says %s %s for %s, the code uses %s", i+1, num, unit, name, want))
			}
		}
		for _, m := range anyFigureRE.FindAllStringIndex(line, -1) {
			if !marked[m[0]] {
				bad = append(bad, fmt.Sprintf("line %d: %q has no mark naming the code's value (write it as %q)", i+1, line[m[0]:m[1]], line[m[0]:m[1]]+"<!-- = package.Name -->"))
			}
		}
	}
	for name := range known {
		if !quoted[name] {
			bad = append(bad, fmt.Sprintf("%s is not quoted: the document lost a figure", name))
		}
	}
	return bad
}

// Marks of serve's --retention and --audit-retention defaults.
const (
	serveRetentionFlag      = "sentinel-central serve --retention"
	serveAuditRetentionFlag = "sentinel-central serve --audit-retention"
)

// flagFigures reads the defaults docs/privacy.md quotes from the binaries'
// -h.
func flagFigures(t *testing.T, bin string) map[string]figure {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, filepath.Join(bin, "sentinel-central"), "serve", "-h").CombinedOutput()
	figs := map[string]figure{}
	for flag, mark := range map[string]string{"retention": serveRetentionFlag, "audit-retention": serveAuditRetentionFlag} {
		m := regexp.MustCompile(`(?m)^\s*-` + flag + ` string\n[^\n]*\(default "(\d+)d"\)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("sentinel-central serve -h gives no --%s default of the form NNd:\n%s", flag, out)
		}
		days, _ := strconv.Atoi(string(m[1]))
		figs[mark] = figure{d: time.Duration(days) * 24 * time.Hour}
	}
	return figs
}

// TestPrivacyFigures checks that every retention figure docs/privacy.md
// quotes is the one the code uses: the constants of the packages, and the
// flag defaults the binaries print with -h.
func TestPrivacyFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: builds the binaries for their flag defaults (-short)")
	}
	root := corpustest.ModuleRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "docs", "privacy.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := codeFigures()
	for k, v := range flagFigures(t, buildBinaries(t, root)) {
		known[k] = v
	}
	bad := checkFigures(string(md), known)
	for _, b := range bad {
		t.Errorf("docs/privacy.md: %s", b)
	}
	if n := len(figureRE.FindAllString(string(md), -1)); len(bad) == 0 {
		t.Logf("checked %d figures against %d values of the code", n, len(known))
	}
}

// TestCheckFigures shows that the check fails on a changed figure, an
// unmarked one, an unknown mark and a figure the document dropped.
func TestCheckFigures(t *testing.T) {
	known := map[string]figure{
		"a.Days":  {d: 14 * 24 * time.Hour},
		"b.Every": {d: time.Hour},
		"c.Full":  {fraction: 0.8, percent: true},
	}
	good := "kept 14 days<!-- = a.Days -->, purged every 1 hour<!-- = b.Every -->,\n" +
		"early past 80 %<!-- = c.Full --> full; 16 bytes are no figure.\n"
	if bad := checkFigures(good, known); len(bad) != 0 {
		t.Fatalf("a document that quotes the code's values: %q", bad)
	}
	for _, tc := range []struct {
		name, md, want string
	}{
		{"changed", strings.Replace(good, "14 days", "15 days", 1), "says 15 days for a.Days, the code uses 14 days"},
		{"changed percent", strings.Replace(good, "80 %", "90 %", 1), "says 90 % for c.Full, the code uses 80 %"},
		{"unit", strings.Replace(good, "1 hour", "1 minute", 1), "says 1 minute for b.Every, the code uses 1 hour"},
		{"unmarked", good + "and 30 days elsewhere\n", `"30 days" has no mark`},
		{"unknown", good + "3 days<!-- = d.Gone -->\n", "marked as d.Gone, which the test does not know"},
		{"dropped", strings.Replace(good, "purged every 1 hour<!-- = b.Every -->", "purged hourly", 1), "b.Every is not quoted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := checkFigures(tc.md, known)
			if len(bad) == 0 || !strings.Contains(strings.Join(bad, "\n"), tc.want) {
				t.Fatalf("got %q, want a complaint containing %q", bad, tc.want)
			}
		})
	}
}
