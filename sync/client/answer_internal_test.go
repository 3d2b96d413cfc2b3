package client

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// One reading of the centre's answers for the three loops: 408, 429 and
// 5xx are worth retrying, other 4xx are refused, and a Retry-After (in
// seconds or as an HTTP date, capped) says how long to wait either way.
func TestClassify(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		status  int
		after   string
		refused bool
		wait    time.Duration // 0: no RetryError
	}{
		{400, "", true, 0},
		{401, "", true, 0},
		{403, "", true, 0},
		{404, "", true, 0},
		{409, "", true, 0}, // a 409 the loop did not handle itself
		{413, "", true, 0}, // a single record too large: halving cannot help
		{422, "", true, 0},
		{408, "", false, 0},
		{429, "", false, 0},
		{429, "30", false, 30 * time.Second},
		{500, "", false, 0},
		{502, "", false, 0},
		{503, "120", false, 120 * time.Second},
		{503, "999999", false, MaxRetryAfter},
		{503, date, false, 90 * time.Second},
		{503, "soon", false, 0},
		{503, "-5", false, 0},
		{504, "", false, 0},
		{403, "60", true, 60 * time.Second}, // refused, and the wait is still honoured
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.after != "" {
			h.Set("Retry-After", tt.after)
		}
		cause := errors.New("client: health: centre answered " + http.StatusText(tt.status))
		err := classify(tt.status, h, cause)
		name := http.StatusText(tt.status) + " Retry-After " + tt.after
		if !errors.Is(err, cause) || !strings.Contains(err.Error(), cause.Error()) {
			t.Errorf("%d %s: got %v, want it to keep %q", tt.status, name, err, cause)
		}
		if got := errors.Is(err, ErrRefused); got != tt.refused {
			t.Errorf("%d %s: refused %v, want %v (%v)", tt.status, name, got, tt.refused, err)
		}
		var re *RetryError
		switch {
		case tt.wait == 0 && errors.As(err, &re):
			t.Errorf("%d %s: got a RetryError after %v, want none", tt.status, name, re.After)
		case tt.wait > 0 && !errors.As(err, &re):
			t.Errorf("%d %s: got %v, want a RetryError after %v", tt.status, name, err, tt.wait)
		case tt.wait > 0 && (re.After > tt.wait || re.After < tt.wait-2*time.Second):
			t.Errorf("%d %s: wait %v, want %v", tt.status, name, re.After, tt.wait)
		}
	}
}
