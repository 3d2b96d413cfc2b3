package engine

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"sentinel/crypto/credential"
)

// MaxCaseRows bounds a case import.
const MaxCaseRows = 100_000

// CaseRow is one confirmed case of an import file.
type CaseRow struct {
	Line      int // the file's line, for messages and the fact's source
	Holder    string
	Confirmed time.Time
	Home      string // optional: the case's home area
	// Source is the facts' source: "import:FILE:LINE" from ParseCases;
	// empty means the change's author.
	Source string
}

// ErrCaseFile is wrapped by every error of ParseCases.
var ErrCaseFile = errors.New("case file")

// ParseCases reads a CSV file of confirmed cases (docs/rules/README.md,
// "Importing cases"): a header line "holder,confirmed_at" or
// "holder,confirmed_at,home", then one case a line: the holder as
// ISSUER:INDEX or p:HEX (never a name), the time of confirmation in RFC 3339
// (no zone: UTC; a date alone: its midnight), and the home area's id. The
// whole file is refused at the first bad line, with its line number;
// messages never repeat a holder field, which may be a name typed by
// mistake.
func ParseCases(file string, r io.Reader, parseTime func(string) (time.Time, error)) ([]CaseRow, error) {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w %s:%d: %s", ErrCaseFile, file, line, fmt.Sprintf(format, args...))
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, bad(1, "the file is empty: start it with the header line holder,confirmed_at[,home]")
	}
	if err != nil {
		return nil, bad(1, "%v", csvWords(err))
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(head[i], "\uFEFF")))
	}
	withHome := false
	switch strings.Join(head, ",") {
	case "holder,confirmed_at":
	case "holder,confirmed_at,home":
		withHome = true
	default:
		return nil, bad(1, "the header is not holder,confirmed_at or holder,confirmed_at,home")
	}
	var out []CaseRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos has no record to point into after an error: the
			// error carries its line.
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return nil, bad(line, "%v", csvWords(err))
		}
		line, _ := cr.FieldPos(0)
		if len(out) == MaxCaseRows {
			return nil, bad(line, "more than %d cases: split the file", MaxCaseRows)
		}
		want := 2
		if withHome {
			want = 3
		}
		if len(rec) != want {
			return nil, bad(line, "%d fields, want %d as the header says", len(rec), want)
		}
		h, err := credential.ParseHolderID(strings.TrimSpace(rec[0]))
		if err != nil {
			return nil, bad(line, "holder: %v", err)
		}
		t, err := parseTime(strings.TrimSpace(rec[1]))
		if err != nil {
			return nil, bad(line, "confirmed_at: %v", err)
		}
		row := CaseRow{Line: line, Holder: h.String(), Confirmed: t, Source: fmt.Sprintf("import:%s:%d", filepath.Base(file), line)}
		if withHome {
			row.Home = strings.TrimSpace(rec[2])
			if row.Home != "" && !ValidAreaID(row.Home) {
				return nil, bad(line, "home %q is not an area id (1 to 32 of A-Z, 0-9 and '-')", clip(row.Home))
			}
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, bad(1, "no cases after the header")
	}
	return out, nil
}

// csvWords drops encoding/csv's own position ("record on line 3: ") which
// the caller gives.
func csvWords(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
