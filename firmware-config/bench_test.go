package firmwareconfig

import (
	"strings"
	"testing"
)

func BenchmarkParseConfig(b *testing.B) {
	data, err := Example("custom")
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseConfig(strings.NewReader(s)); err != nil {
			b.Fatal(err)
		}
	}
}
