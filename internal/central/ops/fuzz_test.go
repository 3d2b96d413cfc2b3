package ops_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"sentinel/internal/central/ops"
)

// FuzzDecodeLog feeds the audit log reader arbitrary files: it must not
// panic, and every entry it returns must encode back to JSON that it reads
// again the same way.
func FuzzDecodeLog(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-29T09:00:00Z","operator":"ana","action":"export","purpose":"case 42","query":{"from":"2026-11-01T00:00:00Z","site":"hall"},"store":"postgres","format":"csv","rows":7}` + "\n"))
	f.Add([]byte("\n\n{\"rows\":1}\n{"))
	f.Add([]byte(`{"query":{"window":1800000000000}}`))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ops.DecodeLog(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, e := range es {
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
		again, err := ops.DecodeLog(&buf)
		if err != nil || len(again) != len(es) {
			t.Fatalf("re-read: got %d entries, %v, want %d", len(again), err, len(es))
		}
		for i := range es {
			if !again[i].Time.Equal(es[i].Time) || again[i].Operator != es[i].Operator || again[i].Rows != es[i].Rows || again[i].Query.Window != es[i].Query.Window {
				t.Fatalf("entry %d: got %+v, want %+v", i, again[i], es[i])
			}
		}
	})
}
