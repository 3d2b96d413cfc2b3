package opsapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/storetest"
)

const (
	opsToken    = "ops-secret-token"
	adminToken  = "admin-secret-token"
	issuerToken = "issuer-secret-token"
)

func testTokens(t testing.TB) *Tokens {
	t.Helper()
	tk, err := NewTokens([]Token{
		{Name: "olga", Role: RoleOps, SHA256: HashToken(opsToken)},
		{Name: "adam", Role: RoleAdmin, SHA256: HashToken(adminToken)},
		{Name: "iris", Role: RoleIssuer, SHA256: HashToken(issuerToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

type fixture struct {
	srv   *httptest.Server
	store *boltstore.Store
}

// newFixture serves a Handler over a bbolt store holding 40 passages of
// dev-a (epoch 1); backup is false for a store without Backup.
func newFixture(t *testing.T, backup bool, audit ops.AuditLog) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "central.db"), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := storetest.Ingest(context.Background(), st, "dev-a", central.Epoch{1}, storetest.Recs(1, 40, "api")); err != nil {
		t.Fatal(err)
	}
	if audit == nil {
		audit = st // the store's audit log
	}
	opts := Options{Tokens: testTokens(t), Store: st, Audit: audit, StoreName: "central.db", SpoolDir: dir}
	if backup {
		opts.Backup = st.Backup
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: st}
}

func (f *fixture) do(t *testing.T, method, path, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) entries(t *testing.T) []ops.Entry {
	t.Helper()
	es, err := f.store.Audit(context.Background(), central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

const exportBody = `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"csv","purpose":"outbreak 17"}`
const traceBody = `{"holder":"ZJ:3","from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","window":"30m","purpose":"outbreak 17"}`

func TestRefusals(t *testing.T) {
	calls := []struct {
		name, method, path, body string
		role                     Role
	}{
		{"devices", http.MethodGet, DevicesPath, "", RoleOps},
		{"export", http.MethodPost, ExportPath, exportBody, RoleOps},
		{"trace", http.MethodPost, TracePath, traceBody, RoleOps},
		{"backup", http.MethodGet, BackupPath, "", RoleAdmin},
	}
	wrong := map[Role]string{RoleOps: adminToken, RoleAdmin: opsToken}
	f := newFixture(t, true, nil)
	for _, c := range calls {
		for _, tc := range []struct {
			name, token string
			want        int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"unknown token", "guessed-token", http.StatusUnauthorized},
			{"issuer token", issuerToken, http.StatusForbidden},
			{"wrong role", wrong[c.role], http.StatusForbidden},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				resp := f.do(t, c.method, c.path, tc.token, c.body)
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.want {
					t.Fatalf("got status %d, want %d (%s)", resp.StatusCode, tc.want, body)
				}
				if bytes.Contains(body, []byte("gate-")) || bytes.Contains(body, []byte("ZJ:")) || bytes.Contains(body, []byte("dev-a")) {
					t.Errorf("refusal body carries data: %s", body)
				}
				if es := f.entries(t); len(es) != 0 {
					t.Errorf("got %d audit entries after a refusal, want 0", len(es))
				}
			})
		}
	}
	t.Run("basic auth scheme", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+DevicesPath, nil)
		req.SetBasicAuth("olga", opsToken)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("got status %d, want 401", resp.StatusCode)
		}
	})
}

func TestDevices(t *testing.T) {
	f := newFixture(t, false, nil)
	// A restored copy of dev-a's journal sends other records from 31 on.
	copyRecs := append(storetest.Recs(29, 30, "api"), storetest.Recs(31, 35, "restored")...)
	if _, err := storetest.Ingest(context.Background(), f.store, "dev-a", central.Epoch{1}, copyRecs); !errors.Is(err, central.ErrFork) {
		t.Fatalf("got %v, want a fork", err)
	}
	resp := f.do(t, http.MethodGet, DevicesPath, opsToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	var got struct{ Devices []DeviceOut }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 1 || got.Devices[0].ID != "dev-a" || len(got.Devices[0].Marks) != 1 || got.Devices[0].Marks[0].HighWater != 40 {
		t.Fatalf("got %+v, want dev-a with mark 40", got.Devices)
	}
	branch := central.ForkBranch(central.Epoch{1}, 31, copyRecs[2].Stored)
	if fs := got.Devices[0].Forks; len(fs) != 1 || fs[0].At != 31 || fs[0].Mark != 40 || fs[0].Epoch != (central.Epoch{1}).String() ||
		fs[0].Branch != branch.String() || fs[0].Found.IsZero() {
		t.Errorf("got forks %+v, want the fork at 31 of epoch 1 against 40, branch %s", fs, branch)
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t, false, nil)
	resp := f.do(t, http.MethodPost, ExportPath, opsToken, exportBody)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", resp.StatusCode, body)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 41 || strings.Join(rows[0], ",") != strings.Join(ops.CSVHeader, ",") {
		t.Fatalf("got %d lines starting %v, want header and 40 rows", len(rows), rows[0])
	}
	es := f.entries(t)
	if len(es) != 1 {
		t.Fatalf("got %d audit entries, want 1", len(es))
	}
	e := es[0]
	if e.Operator != "olga" || e.Action != ops.ActionExport || e.Purpose != "outbreak 17" || e.Rows != 40 || e.Format != "csv" || e.Store != "central.db" {
		t.Errorf("got entry %+v, want olga's csv export of 40 rows for outbreak 17", e)
	}
}

func TestTrace(t *testing.T) {
	f := newFixture(t, false, nil)
	resp := f.do(t, http.MethodPost, TracePath, opsToken, traceBody)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("got status %d, want 200: %s", resp.StatusCode, b)
	}
	var res ops.TraceResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.Holder != "ZJ:3" || len(res.Visits) == 0 {
		t.Fatalf("got holder %q with %d visits, want ZJ:3 with some", res.Holder, len(res.Visits))
	}
	es := f.entries(t)
	if len(es) != 1 || es[0].Action != ops.ActionTrace || es[0].Operator != "olga" || es[0].Query.Holder != "ZJ:3" || es[0].Query.Window != 30*time.Minute || es[0].Rows != res.Rows() {
		t.Errorf("got entries %+v, want one trace of ZJ:3 by olga with %d rows", es, res.Rows())
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, false, nil)
	big := `{"purpose":"` + strings.Repeat("x", MaxBody) + `"}`
	for _, tc := range []struct{ name, path, body string }{
		{"export no purpose", ExportPath, `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"csv"}`},
		{"export bad format", ExportPath, `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"xml","purpose":"p"}`},
		{"export no period", ExportPath, `{"format":"csv","purpose":"p"}`},
		{"export to before from", ExportPath, `{"from":"2100-01-01T00:00:00Z","to":"2000-01-01T00:00:00Z","format":"csv","purpose":"p"}`},
		{"export unknown field", ExportPath, `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"csv","purpose":"p","name":"x"}`},
		{"export oversized", ExportPath, big},
		{"export not json", ExportPath, `from=2000`},
		{"trace no holder", TracePath, `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","window":"30m","purpose":"p"}`},
		{"trace a name", TracePath, `{"holder":"Zhang San","from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","window":"30m","purpose":"p"}`},
		{"trace an ID number", TracePath, `{"holder":"110101199003077777","from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","window":"30m","purpose":"p"}`},
		{"trace bad window", TracePath, `{"holder":"ZJ:3","from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","window":"soon","purpose":"p"}`},
		{"trace oversized", TracePath, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.do(t, http.MethodPost, tc.path, opsToken, tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("got status %d, want 400", resp.StatusCode)
			}
			if es := f.entries(t); len(es) != 0 {
				t.Errorf("got %d audit entries, want 0", len(es))
			}
		})
	}
}

type failingLog struct{}

func (failingLog) AppendAudit(context.Context, ops.Entry) error { return errors.New("disk full") }

func (failingLog) Audit(context.Context, central.AuditFilter) ([]ops.Entry, error) { return nil, nil }

func TestUnauditedRefused(t *testing.T) {
	f := newFixture(t, false, failingLog{})
	for _, c := range []struct{ name, path, body string }{{"export", ExportPath, exportBody}, {"trace", TracePath, traceBody}} {
		t.Run(c.name, func(t *testing.T) {
			resp := f.do(t, http.MethodPost, c.path, opsToken, c.body)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("got status %d, want 500", resp.StatusCode)
			}
			if bytes.Contains(body, []byte("gate-")) || bytes.Contains(body, []byte("ZJ:")) {
				t.Errorf("unaudited call handed out data: %s", body)
			}
		})
	}
}

func TestBackupPostgres(t *testing.T) {
	f := newFixture(t, false, nil)
	resp := f.do(t, http.MethodGet, BackupPath, adminToken, "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotImplemented || !bytes.Contains(body, []byte("pg_dump")) {
		t.Errorf("got %d %s, want 501 pointing to pg_dump", resp.StatusCode, body)
	}
}

// TestBackupWhileWriting takes a backup over HTTP while another goroutine
// keeps ingesting: the copy opens, holds every passage committed before
// the request, and is consistent (its passages match its mark).
func TestBackupWhileWriting(t *testing.T) {
	f := newFixture(t, true, nil)
	ctx := context.Background()
	var committed atomic.Uint64
	committed.Store(40)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for next := uint64(41); next < 40+200*50; next += 50 {
			select {
			case <-stop:
				return
			default:
			}
			hw, err := storetest.Ingest(ctx, f.store, "dev-a", central.Epoch{1}, storetest.Recs(next, next+49, "api"))
			if err != nil {
				t.Error(err)
				return
			}
			committed.Store(hw)
		}
	})
	before := committed.Load()
	resp := f.do(t, http.MethodGet, BackupPath, adminToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		t.Fatal(err)
	}
	out.Close()
	close(stop)
	wg.Wait()

	cp, err := boltstore.Open(path, &boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("the copy does not open: %v", err)
	}
	defer cp.Close()
	hw, err := cp.HighWater(ctx, "dev-a", central.Epoch{1})
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(0)
	for p, err := range cp.Passages(ctx, central.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if p.Seq > hw {
			t.Errorf("passage %d above the copy's mark %d", p.Seq, hw)
		}
	}
	if n != hw || hw < before {
		t.Errorf("got %d passages and mark %d in the copy, want them equal and at least %d (committed before the request)", n, hw, before)
	}
	t.Logf("copy holds %d passages; %d were committed before the request, %d by the end", n, before, committed.Load())
}
