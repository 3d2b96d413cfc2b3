package legacy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/legacy"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// t0 has nanoseconds, as the files of older versions kept them.
var t0 = time.Date(2026, 11, 30, 8, 15, 0, 123456789, time.UTC)

// enrolJSON is an enrol.json as the older file store wrote it: a spent
// token, an unspent one, an expired unspent one, and three devices, one of
// them revoked.
var enrolJSON = `{
  "tokens": [
    {
      "hash": "` + hexSum("SPENT") + `",
      "site": "SM-0042",
      "created": "2026-11-30T08:15:00.123456789Z",
      "expires": "2026-12-01T08:15:00.123456789Z",
      "used": true,
      "used_at": "2026-11-30T09:00:00Z",
      "device": "t-00000000000000a1"
    },
    {
      "hash": "` + hexSum("FRESH") + `",
      "site": "SM-0043",
      "created": "2026-11-30T10:00:00Z",
      "expires": "2026-12-30T10:00:00Z"
    },
    {
      "hash": "` + hexSum("OLD") + `",
      "site": "SM-0044",
      "created": "2026-11-01T10:00:00Z",
      "expires": "2026-11-02T10:00:00Z"
    }
  ],
  "devices": [
    {
      "id": "t-00000000000000a1",
      "site": "SM-0042",
      "enrolled": "2026-11-30T09:00:00Z",
      "serial": "1f2e",
      "not_after": "2027-02-28T09:00:00Z"
    },
    {
      "id": "t-00000000000000b2",
      "site": "SM-0001",
      "enrolled": "2026-10-01T09:00:00Z",
      "serial": "0a0b",
      "not_after": "2026-12-30T09:00:00Z",
      "revoked": "2026-11-15T12:00:00Z"
    },
    {
      "id": "t-00000000000000c3",
      "site": "SM-0001",
      "enrolled": "2026-10-02T09:00:00Z",
      "serial": "0c0d",
      "not_after": "2026-12-31T09:00:00Z"
    }
  ]
}
`

// tokensJSON is an ops-tokens.json as the guide had ops write it.
var tokensJSON = `{"tokens": [
  {"name": "olga", "role": "ops", "sha256": "` + hexSum("olga-secret") + `"},
  {"name": "backup", "role": "admin", "sha256": "` + hexSum("backup-secret") + `"},
  {"name": "issuer-zj", "role": "issuer", "sha256": "` + hexSum("zj-secret") + `"}
]}
`

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// auditLines returns n audit entries as the older log appended them, with
// two at the same instant.
func auditLines(t *testing.T, n int) ([]ops.Entry, []byte) {
	var es []ops.Entry
	var b strings.Builder
	for i := range n {
		e := ops.Entry{Time: t0.Add(time.Duration(i/2) * time.Minute), Operator: []string{"olga", "ivan", "ana"}[i%3],
			Action: ops.ActionExport, Purpose: fmt.Sprintf("outbreak %d", i), Store: "/var/lib/sentinel-central/central.db",
			Query: ops.Query{From: t0.Add(-time.Hour), To: t0, Site: "SM-0042"}, Format: "csv", Rows: i * 3}
		if i%4 == 3 {
			e.Action, e.Format = ops.ActionTrace, ""
			e.Query = ops.Query{From: t0.Add(-14 * 24 * time.Hour), To: t0, Holder: "ZJ:42", Window: 30 * time.Minute}
		}
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		es = append(es, e)
	}
	return es, []byte(b.String())
}

func writeLegacy(t *testing.T, dir string, audit []byte) {
	t.Helper()
	for name, data := range map[string][]byte{legacy.EnrolFile: []byte(enrolJSON), ops.AuditFile: audit, opsapi.TokensFile: []byte(tokensJSON)} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImport: every device, spent and unspent token, audit entry (in
// order) and operator token with its role reaches each store, the files
// are renamed, and importing again (a crash before the renames) stores
// nothing twice.
func TestImport(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T, dir string) central.Store
	}{
		{"memstore", func(t *testing.T, dir string) central.Store { return memstore.New(nil) }},
		{"boltstore", func(t *testing.T, dir string) central.Store {
			s, err := boltstore.Open(filepath.Join(dir, "central.db"), &boltstore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"pgstore", func(t *testing.T, dir string) central.Store {
			s, err := pgstore.Open(context.Background(), pgtest.NewDatabase(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			entries, audit := auditLines(t, 41)
			writeLegacy(t, dir, audit)
			st := sc.open(t, dir)
			defer st.Close()
			rep, err := legacy.Import(ctx, st, dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Tokens != 3 || rep.Devices != 3 || rep.AuditEntries != 41 || rep.OpsTokens != 3 || len(rep.Files) != 3 {
				t.Errorf("report: got %+v, want 3 tokens, 3 devices, 41 entries, 3 operator tokens, 3 files", rep)
			}
			check(t, st, entries)
			for _, name := range legacy.Files {
				if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
					t.Errorf("%s is still there after the import (%v)", name, err)
				}
				if _, err := os.Stat(filepath.Join(dir, name+legacy.ImportedSuffix)); err != nil {
					t.Errorf("%s was not renamed: %v", name, err)
				}
			}
			// Nothing left to import.
			if rep, err := legacy.Import(ctx, st, dir); err != nil || len(rep.Files) != 0 {
				t.Errorf("second import: got %+v, %v; want nothing", rep, err)
			}
			// The files back, as after a crash before the renames: nothing
			// is stored twice.
			writeLegacy(t, dir, audit)
			rep, err = legacy.Import(ctx, st, dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Tokens != 0 || rep.Devices != 0 || rep.AuditEntries != 0 || len(rep.Files) != 3 {
				t.Errorf("repeated import: got %+v, want nothing stored and 3 files renamed", rep)
			}
			check(t, st, entries)
			if _, err := os.Stat(filepath.Join(dir, ops.AuditFile+legacy.ImportedSuffix)); err != nil {
				t.Errorf("the first import's renamed file is gone: %v", err)
			}
		})
	}
}

func check(t *testing.T, st central.Store, entries []ops.Entry) {
	t.Helper()
	ctx := context.Background()
	ts, err := st.EnrolTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type tok struct {
		site, device string
		used         bool
		expires      time.Time
	}
	var got []tok
	for _, x := range ts {
		got = append(got, tok{x.Site, x.Device, x.Used, x.Expires.Truncate(time.Microsecond)})
	}
	want := []tok{
		{"SM-0044", "", false, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)},
		{"SM-0042", "t-00000000000000a1", true, time.Date(2026, 12, 1, 8, 15, 0, 123456000, time.UTC)},
		{"SM-0043", "", false, time.Date(2026, 12, 30, 10, 0, 0, 0, time.UTC)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tokens:\n got %+v\nwant %+v", got, want)
	}
	// The spent one stays spent, the fresh one redeems, the expired one
	// does not.
	if _, err := st.EnrolDevice(ctx, sha256.Sum256([]byte("SPENT")), central.EnrolledDevice{ID: "t-x", Enrolled: t0}, t0); err == nil {
		t.Error("the spent token redeemed again")
	}
	ds, err := st.Enrolled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID+"/"+d.Site+"/"+d.Serial)
	}
	if want := []string{"t-00000000000000b2/SM-0001/0a0b", "t-00000000000000c3/SM-0001/0c0d", "t-00000000000000a1/SM-0042/1f2e"}; !slices.Equal(ids, want) {
		t.Errorf("devices: got %v, want %v", ids, want)
	}
	if d, ok, err := st.EnrolledDevice(ctx, "t-00000000000000b2"); err != nil || !ok || !d.Revoked.Equal(time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("the revoked device: got %+v, %v, %v; want it revoked", d, ok, err)
	}
	if d, _, _ := st.EnrolledDevice(ctx, "t-00000000000000a1"); !d.Revoked.IsZero() || !d.NotAfter.Equal(time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("the enrolled device: got %+v", d)
	}
	es, err := st.Audit(ctx, central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(entries) {
		t.Fatalf("audit: got %d entries, want %d", len(es), len(entries))
	}
	for i := range es {
		g, w := es[i], entries[i]
		if g.Purpose != w.Purpose || g.Operator != w.Operator || g.Action != w.Action || g.Rows != w.Rows || g.Query.Holder != w.Query.Holder ||
			g.Query.Window != w.Query.Window || g.Store != w.Store || g.Time.Sub(w.Time).Abs() >= time.Microsecond {
			t.Errorf("audit entry %d: got %+v, want %+v", i, g, w)
		}
	}
	ots, err := st.ListOpsTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []central.OpsToken{
		{Name: "backup", Role: central.RoleAdmin, SHA256: sha256.Sum256([]byte("backup-secret"))},
		{Name: "issuer-zj", Role: central.RoleIssuer, SHA256: sha256.Sum256([]byte("zj-secret"))},
		{Name: "olga", Role: central.RoleOps, SHA256: sha256.Sum256([]byte("olga-secret"))},
	}
	if !slices.Equal(ots, wantOps) {
		t.Errorf("operator tokens:\n got %+v\nwant %+v", ots, wantOps)
	}
}

// TestImportBadFile: a file that does not parse stops the import, says
// which, and stays where it is.
func TestImportBadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, opsapi.TokensFile)
	if err := os.WriteFile(path, []byte(`{"tokens": [{"name": "olga", "role": "root"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := legacy.Import(context.Background(), memstore.New(nil), dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "left as it was") {
		t.Errorf("got %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the bad file moved: %v", err)
	}
}
