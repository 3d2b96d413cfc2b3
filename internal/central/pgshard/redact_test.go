package pgshard

import (
	"strings"
	"testing"
)

// TestRedact: clusters list never prints a cluster's password, in either
// form of connection string, and leaves the rest as given.
func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://sentinel:s3cr%21t@pg-c2:5432/sentinel?sslmode=require", "postgres://sentinel:***@pg-c2:5432/sentinel?sslmode=require"},
		{"postgres://sentinel@pg-c2/sentinel", "postgres://sentinel@pg-c2/sentinel"},
		{"host=pg-c2 user=sentinel password=s3cret dbname=sentinel", "host=pg-c2 user=sentinel password=*** dbname=sentinel"},
		{"host=pg-c2 password = 'a b\\' c' dbname=x", "host=pg-c2 password = *** dbname=x"},
		{"host=pg-c2 dbname=x", "host=pg-c2 dbname=x"},
	} {
		got := Redact(tt.in)
		if got != tt.want || strings.Contains(got, "s3c") {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestKeepBounded: the answers a server keeps never pass cacheMax.
func TestKeepBounded(t *testing.T) {
	m := map[int]int{}
	for i := range cacheMax + 10 {
		keep(m, i, i)
		if len(m) > cacheMax {
			t.Fatalf("%d entries kept, more than %d", len(m), cacheMax)
		}
	}
	if v, ok := m[cacheMax+9]; !ok || v != cacheMax+9 {
		t.Fatal("the last answer was not kept")
	}
}
