package valueset

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any bytes give a set or a *ParseError, never a panic; a set
// that parses holds what its file says.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "valuesets", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"valueSetId":"x","valueSetDate":"2021-01-01","valueSetValues":{"A":{"display":"a","lang":"en","active":false,"version":"","system":"","validUntil":"2022-01-01"}}}`))
	f.Add([]byte(`{"valueSetId":"x","valueSetId":"x"}`))
	f.Add([]byte(`{"valueSetValues":{"\u0000":{}}}`))
	f.Add([]byte("{\"valueSetId\":\"\xff\"}"))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrShape) && !errors.Is(err, ErrValue) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if s.ID == "" || !isDate(s.Date) || s.Codes == nil {
			t.Fatalf("accepted an incomplete set: %+v", s)
		}
		for c := range s.Codes {
			if c == "" || len(c) > MaxCodeLen || !printable(c) {
				t.Fatalf("accepted code %q", c)
			}
		}
	})
}
