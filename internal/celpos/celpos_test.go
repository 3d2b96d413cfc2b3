package celpos

import (
	"testing"

	"cel.dev/cel-go/common"
)

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		loc       common.Location
		line, col int
	}{
		{"no location", nil, 10, 5},
		{"line before the first", common.NewLocation(0, 3), 10, 5},
		{"first line counts from the expression's column", common.NewLocation(1, 4), 10, 9},
		{"continuation line keeps its indentation", common.NewLocation(3, 6), 12, 7},
	} {
		line, col := Map(10, 5, tc.loc)
		if line != tc.line || col != tc.col {
			t.Errorf("%s: Map(10, 5, %v) = %d:%d, want %d:%d", tc.name, tc.loc, line, col, tc.line, tc.col)
		}
	}
}
