// Package celpos maps a position CEL reports inside an expression to the
// line and column of the source file the expression was read from. The
// policy compiler (internal/policy) and the code engine
// (internal/central/engine) both quote clause expressions from a file and
// share this arithmetic; the package knows neither of them.
package celpos

import "cel.dev/cel-go/common"

// Map returns the file position of loc, a location inside an expression
// whose first character stands at line, col of the file (both 1-based).
// Without a usable location (nil, or a line before the first) it returns
// the expression's own position. On the expression's first line CEL's
// column (0-based) is counted from col; continuation lines keep their
// indentation in the file, so their column is CEL's plus one.
func Map(line, col int, loc common.Location) (int, int) {
	if loc == nil || loc.Line() < 1 {
		return line, col
	}
	if loc.Line() == 1 {
		return line, col + loc.Column()
	}
	return line + loc.Line() - 1, loc.Column() + 1
}
