package status

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReasonsDocumented keeps the status reasons table of docs/reasons.md
// in step with Reasons(): the same codes, names and meanings, in order.
func TestReasonsDocumented(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "reasons.md"))
	if err != nil {
		t.Fatalf("read the reason tables: %v", err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| ([0-9]+) \\| `([a-z-]+)` \\| (.+) \\|$")
	var doc []ReasonInfo
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Status reasons"
			continue
		}
		if !in || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| code") || strings.HasPrefix(line, "|---") {
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("docs/reasons.md: status reason row %q is not | CODE | `name` | meaning |", line)
			continue
		}
		n, err := strconv.ParseUint(m[1], 10, 8)
		if err != nil {
			t.Errorf("docs/reasons.md: code %s: %v", m[1], err)
			continue
		}
		doc = append(doc, ReasonInfo{Code: Reason(n), Name: m[2], Meaning: m[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(doc) == 0 {
		t.Fatal(`docs/reasons.md has no "## Status reasons" table`)
	}
	if got, want := doc, Reasons(); !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w ReasonInfo
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("docs/reasons.md row %d: got %+v, want %+v", i+1, g, w)
			}
		}
	}
}

func TestParseReason(t *testing.T) {
	for i, ri := range Reasons() {
		if ri.Code != Reason(i) {
			t.Errorf("reason %q has code %d at position %d: codes are dense", ri.Name, ri.Code, i)
		}
		got, err := ParseReason(ri.Name)
		if err != nil || got != ri.Code || got.String() != ri.Name {
			t.Errorf("ParseReason(%q) = %v, %v, want %d", ri.Name, got, err, ri.Code)
		}
	}
	for _, bad := range []string{"", "2", "Close-Contact", "close contact"} {
		if _, err := ParseReason(bad); err == nil || !strings.Contains(err.Error(), "close-contact") {
			t.Errorf("ParseReason(%q): got %v, want an error listing the names", bad, err)
		}
	}
	if got := Reason(200).String(); got != "reason(200)" {
		t.Errorf("unknown code: got %q", got)
	}
}

// A reason written as JSON reads back as itself, a code this build does
// not know too; a name that is no reason is an error.
func TestReasonText(t *testing.T) {
	for _, r := range []Reason{ReasonUnspecified, ReasonFever, ReasonManual, Reason(200)} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var got Reason
		if err := json.Unmarshal(b, &got); err != nil || got != r {
			t.Errorf("%s: %s read back as %v (%v)", r, b, got, err)
		}
	}
	for _, bad := range []string{`"fevers"`, `"reason(256)"`, `"reason(x)"`, `""`} {
		var got Reason
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s read as %v, want an error", bad, got)
		}
	}
}
