package firmwareconfig

import (
	"errors"
	"testing"
)

// problemsOf returns the problems in err, failing the test when err is not
// a Problems list or one of them is not a typed error.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got error %T %q, want a Problems list", err, err)
	}
	for _, p := range ps {
		switch p.(type) {
		case *SyntaxError, *KeyError, *ValidationError:
		default:
			t.Errorf("got problem of type %T (%v), want *SyntaxError, *KeyError or *ValidationError", p, p)
		}
	}
	return ps
}
