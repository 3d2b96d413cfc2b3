package legacy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sentinel/internal/central/legacy"
	"sentinel/internal/central/memstore"
)

// FuzzImportEnrol feeds the import arbitrary enrol.json files: it must not
// panic, and a file it refuses stays where it was while one it takes is
// renamed, with every token and device of it in the store.
func FuzzImportEnrol(f *testing.F) {
	f.Add([]byte(enrolJSON))
	f.Add([]byte(`{"tokens": [], "devices": []}`))
	f.Add([]byte(`{"tokens": [{"hash": "00", "site": "x"}]}`))
	f.Add([]byte(`{"devices": [{"id": "t-1", "enrolled": "2026-11-30T09:00:00Z"}, {"id": "t-1", "enrolled": "2026-11-30T09:00:00Z"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"tokens": [{"hash": "` + hexSum("a") + `", "site": "s", "expires": "2026-11-30T09:00:00Z", "used": true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, legacy.EnrolFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st := memstore.New(nil)
		ctx := context.Background()
		rep, err := legacy.Import(ctx, st, dir)
		_, statErr := os.Stat(path)
		if err != nil {
			if statErr != nil {
				t.Fatalf("refused (%v), but the file moved: %v", err, statErr)
			}
			return
		}
		if statErr == nil {
			t.Fatal("imported, but the file is still there")
		}
		ts, _ := st.EnrolTokens(ctx)
		ds, _ := st.Enrolled(ctx)
		if len(ts) != rep.Tokens || len(ds) != rep.Devices {
			t.Fatalf("report %+v, store holds %d tokens and %d devices", rep, len(ts), len(ds))
		}
	})
}
