package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"sentinel/crypto/credential"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/passage"
	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	syncserver "sentinel/sync/server"
)

// scrape reads serve's /metrics at addr with Prometheus' own parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	return fams
}

// values returns the samples of a counter or gauge by their labels,
// written `a="x",b="y"` in name order ("" without labels).
func values(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		v := m.GetGauge().GetValue()
		if m.Counter != nil {
			v = m.GetCounter().GetValue()
		}
		out[strings.Join(ls, ",")] = v
	}
	return out
}

// TestServeMetrics runs serve with --metrics beside a second serve in the
// same process (each has a registry of its own), enrols two terminals,
// uploads one's journal with the real sync client in batches, sends a
// malformed batch, revokes the other and lets it call, calls the operator
// API with and without a token, and checks every count on /metrics
// against what was done.
func TestServeMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", del)
	writeTestFile(t, filepath.Join(dir, "p1.policy"), bundlestest.Policy(t, "p1"))
	mustRun(t, "bundles", "publish", "policy", filepath.Join(dir, "p1.policy"), "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data)
	writeOpsTokens(t, data)

	started := time.Now().Add(-time.Second)
	s := startServe(t, "--data", data, "--root-pub", rootPub, "--key", signer, "--delegation", del,
		"--ops-listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0")
	// A second centre in the same process: were the metrics in the
	// process-wide registry, its start would fail or its counts mix.
	dir2 := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir2, "root"))
	other := startServe(t, "--data", filepath.Join(dir2, "central"), "--root-pub", filepath.Join(dir2, "root", "root.pub"),
		"--no-time", "--no-schedule", "--metrics", "127.0.0.1:0")

	// Two terminals enrol; each token is tried a second time, refused.
	termA, a := enrolTerminal(t, ctx, data, s.enrol, "north-gate")
	termB, b := enrolTerminal(t, ctx, data, s.enrol, "south-gate")

	j, err := journal.Open(filepath.Join(termA, journal.FileName), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const passages, batch = 25, 10
	at := time.Now().Add(-time.Hour)
	for i := range passages {
		p := &journal.Passage{
			Time: at.Add(time.Duration(i) * time.Second), ClockTrusted: true, Lane: "in-1",
			Format: credential.FormatNative, Issuer: "ZJ", Decision: passage.Admit, Reasons: []string{"ok"}, PolicyVersion: 1,
		}
		if _, err := j.Append(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	up, err := client.New(j, client.Options{
		URL: "https://" + s.mtls, Device: a.Device, HTTP: deviceClient(t, termA), Batch: batch,
		Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Drain(ctx); err != nil {
		t.Fatalf("upload: %v\nstderr: %s", err, s.stderr)
	}
	uploads := (passages + batch - 1) / batch

	// A batch that is not one: refused as malformed, nothing stored.
	hcA := deviceClient(t, termA)
	resp, err := hcA.Post("https://"+s.mtls+protocol.UploadPath(protocol.Version), "application/cbor", strings.NewReader("not a batch"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed batch: got %s, want 400", resp.Status)
	}
	uploads++

	// A reports its health: a backlog, an alarm, a clock 42 s ahead, a
	// thermometer that fails.
	report, err := protocol.EncodeHealth(&protocol.Health{
		Version: protocol.Version, Device: a.Device, Time: time.Now().Add(42 * time.Second), Last: passages + 7, Acked: passages, Alarms: 1,
		Lanes: []protocol.LaneHealth{{Name: "in-1 scanner", State: protocol.LaneOK}, {Name: "in-1 thermometer", State: protocol.LaneUnavailable, Reason: "no answer"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hcA.Post("https://"+s.mtls+protocol.HealthPath(protocol.Version), protocol.HealthType, bytes.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health report: got %s, want 200", resp.Status)
	}

	// B is revoked and calls twice; A downloads a bundle.
	mustRun(t, "devices", "revoke", "--device", b.Device, "--data", data)
	hcB := deviceClient(t, termB)
	for range 2 {
		resp, err := hcB.Get("https://" + s.mtls + syncserver.BundlePath(1, "policy"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a revoked terminal: got %s, want 403", resp.Status)
		}
		hcB.CloseIdleConnections()
	}
	before := time.Now()
	resp, err = hcA.Get("https://" + s.mtls + syncserver.BundlePath(1, "policy"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// The operator API: olga lists the fleet and exports (audited), a
	// caller without a token is refused, adam's admin token is the wrong
	// role for an export.
	hc := opsClient(t, data)
	call := func(method, path, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+s.ops+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	export := `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"jsonl","purpose":"case 4711"}`
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", opsapi.DevicesPath, "ops-token", "", 200},
		{"POST", opsapi.ExportPath, "ops-token", export, 200},
		{"POST", opsapi.ExportPath, "", export, 401},
		{"POST", opsapi.ExportPath, "admin-token", export, 403},
		{"POST", opsapi.ExportPath, "ops-token", `{"format":"jsonl"}`, 400},
	} {
		if got := call(c.method, c.path, c.token, c.body); got != c.want {
			t.Fatalf("%s %s with %q: got %d, want %d\nstderr: %s", c.method, c.path, c.token, got, c.want, s.stderr)
		}
	}

	// Neither the terminals' listener nor the operator API serves the
	// metrics: they are on their own listener only.
	for _, c := range []struct {
		hc  *http.Client
		url string
	}{{hcA, "https://" + s.mtls + "/metrics"}, {hc, "https://" + s.ops + "/metrics"}} {
		resp, err := c.hc.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "sentinel_central_") {
			t.Errorf("GET %s: got %s, want 404 without metrics", c.url, resp.Status)
		}
	}

	fams := scrape(t, s.metrics)
	for name, want := range map[string]map[string]float64{
		"sentinel_central_uploads_total":         {"": float64(uploads)},
		"sentinel_central_upload_rejected_total": {`reason="malformed"`: 1},
		"sentinel_central_upload_records_total":  {"": passages},
		"sentinel_central_ingest_records_total":  {"": passages},
		"sentinel_central_chain_breaks_total":    {"": 0},
		"sentinel_central_enrolments_total":      {`outcome="enrolled"`: 2, `outcome="token-used"`: 2},
		"sentinel_central_devices":               {`state="active"`: 1, `state="revoked"`: 1},
		"sentinel_central_revoked_calls_total":   {fmt.Sprintf("device=%q", b.Device): 2},
		"sentinel_central_device_acked_records":  {fmt.Sprintf("device=%q", a.Device): passages},
		"sentinel_central_ops_requests_total": {
			`outcome="ok",role="ops"`: 2, `outcome="unauthorized",role="none"`: 1,
			`outcome="forbidden",role="admin"`: 1, `outcome="refused",role="ops"`: 1,
		},
		"sentinel_central_audit_writes_total":     {`outcome="ok"`: 1},
		"sentinel_central_device_backlog_records": {fmt.Sprintf("device=%q", a.Device): 7},
		"sentinel_central_device_journal_alarms":  {fmt.Sprintf("device=%q", a.Device): 1},
		"sentinel_central_device_fault":           {fmt.Sprintf("device=%q,part=%q", a.Device, "in-1 thermometer"): 1},
	} {
		if got := values(fams, name); !maps.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	// The policy published above; the scheduler published a status base
	// at start.
	if got := values(fams, "sentinel_central_bundle_version"); len(got) != 2 || got[`kind="policy"`] != 1 || got[`kind="status-base"`] < 1 {
		t.Errorf("sentinel_central_bundle_version: got %v, want policy 1 and a status base", got)
	}
	if h := fams["sentinel_central_ingest_seconds"].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() != uint64(uploads-1) {
		t.Errorf("sentinel_central_ingest_seconds: got %v, want %d batches timed (the malformed one never reached the store)", h, uploads-1)
	}
	if age := values(fams, "sentinel_central_bundle_age_seconds")[`kind="policy"`]; age < 0 || age > time.Since(before).Seconds()+60 {
		t.Errorf("sentinel_central_bundle_age_seconds{kind=\"policy\"}: got %v, want the seconds since this test published it", age)
	}
	if off := values(fams, "sentinel_central_device_clock_offset_seconds")[fmt.Sprintf("device=%q", a.Device)]; off < 40 || off > 44 {
		t.Errorf("sentinel_central_device_clock_offset_seconds: got %v, want the report's 42 s", off)
	}
	last := values(fams, "sentinel_central_device_last_call_timestamp_seconds")
	if len(last) != 1 {
		t.Errorf("sentinel_central_device_last_call_timestamp_seconds: got %v, want the active terminal only", last)
	}
	if ts := last[fmt.Sprintf("device=%q,site=%q", a.Device, "north-gate")]; ts < float64(before.Unix()) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("the last call of %s: got %v, want its download at %v", a.Device, ts, before.Unix())
	}

	// The scheduler's first round swept (a centre without rule sets:
	// nobody judged, nothing changed) and none failed. (The round runs
	// beside this test: wait for it.)
	for deadline := time.Now().Add(10 * time.Second); values(fams, "sentinel_central_engine_sweeps_total")[`outcome="ok",trigger="scheduled"`] < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		fams = scrape(t, s.metrics)
	}
	if got := values(fams, "sentinel_central_engine_sweeps_total"); got[`outcome="ok",trigger="scheduled"`] < 1 || got[`outcome="error",trigger="scheduled"`] != 0 {
		t.Errorf("sentinel_central_engine_sweeps_total: got %v, want the scheduled rounds ok", got)
	}
	if got := values(fams, "sentinel_central_engine_status_changes_total")[""]; got != 0 {
		t.Errorf("sentinel_central_engine_status_changes_total: got %v, want 0 without rule sets", got)
	}
	if ts := values(fams, "sentinel_central_engine_last_success_timestamp_seconds")[""]; ts < float64(started.Unix()) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("sentinel_central_engine_last_success_timestamp_seconds: got %v, want a sweep since serve started at %v", ts, started.Unix())
	}
	// The other centre counted nothing of this.
	ofams := scrape(t, other.metrics)
	if got := values(ofams, "sentinel_central_uploads_total")[""]; got != 0 {
		t.Errorf("the other centre: got %v uploads, want 0", got)
	}
	if got := values(ofams, "sentinel_central_devices"); got[`state="active"`] != 0 || got[`state="revoked"`] != 0 {
		t.Errorf("the other centre: got devices %v, want none", got)
	}
}
