package status

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestStatusJSON: a status reads back from the JSON it writes (the
// centre's status answers travel as JSON), and an unknown name is refused.
func TestStatusJSON(t *testing.T) {
	for _, s := range []Status{Green, Yellow, Red, Withheld} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got Status
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("%s: got %v %v from %s, want it back", s, got, err, b)
		}
	}
	var s Status
	if err := json.Unmarshal([]byte(`"purple"`), &s); !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("purple: got %v, want ErrInvalidStatus", err)
	}
}
