package engine

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func parseTimeUTC(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

func TestParseCases(t *testing.T) {
	rows, err := ParseCases("c.csv", strings.NewReader("\uFEFFholder,confirmed_at,home\r\nZJ:0012,2020-02-03T10:00:00Z,ZJ-HZ\r\np:00112233445566778899AABBCCDDEEFF,2020-02-04T00:00:00Z,\n"), parseTimeUTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Holder != "ZJ:12" || rows[0].Home != "ZJ-HZ" || rows[0].Line != 2 || rows[0].Source != "import:c.csv:2" || rows[1].Holder != "p:00112233445566778899aabbccddeeff" || rows[1].Home != "" || rows[1].Line != 3 {
		t.Errorf("rows %+v", rows)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "c.csv:1: the file is empty"},
		{"bad header", "name,date\n", "c.csv:1: the header is not"},
		{"no rows", "holder,confirmed_at\n", "c.csv:1: no cases"},
		{"a name", "holder,confirmed_at\nZhang San,2020-02-03T10:00:00Z\n", "c.csv:2: holder:"},
		{"bad time", "holder,confirmed_at\nZJ:1,yesterday\n", "c.csv:2: confirmed_at:"},
		{"fields", "holder,confirmed_at\nZJ:1,2020-02-03T10:00:00Z,ZJ\n", "c.csv:2: 3 fields, want 2"},
		{"bad home", "holder,confirmed_at,home\nZJ:1,2020-02-03T10:00:00Z,hangzhou\n", `c.csv:2: home "hangzhou" is not an area id`},
		{"quote", "holder,confirmed_at\nZJ:1,\"2020\n", "c.csv:2: extraneous or missing \" in quoted-field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCases("c.csv", strings.NewReader(tc.src), parseTimeUTC)
			if err == nil || !errors.Is(err, ErrCaseFile) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "Zhang") {
				t.Errorf("the error repeats the holder field: %v", err)
			}
		})
	}
}

// FuzzParseCases: any bytes give rows or an ErrCaseFile, never a panic;
// every row has a canonical holder and a time.
func FuzzParseCases(f *testing.F) {
	for _, s := range []string{
		"holder,confirmed_at\nZJ:1,2020-02-03T10:00:00Z\n",
		"holder,confirmed_at,home\nZJ:1,2020-02-03T10:00:00Z,ZJ-HZ\np:00112233445566778899aabbccddeeff,2020-02-04T00:00:00Z,\n",
		"holder,confirmed_at\n\"ZJ:1\",\"2020-02-03T10:00:00Z\"\n", "", "holder\n", "\uFEFFHOLDER , Confirmed_At\r\nZJ:1,2020-02-03T10:00:00Z\r\n",
		"holder,confirmed_at\nZJ:1,\"2020\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseCases("f.csv", strings.NewReader(string(b)), parseTimeUTC)
		if err != nil {
			if !errors.Is(err, ErrCaseFile) {
				t.Fatalf("error %v is not an ErrCaseFile", err)
			}
			return
		}
		for _, r := range rows {
			if r.Holder == "" || r.Confirmed.IsZero() && !strings.Contains(string(b), "0001") || r.Line < 2 {
				t.Fatalf("row %+v", r)
			}
		}
	})
}
