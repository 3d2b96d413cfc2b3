package terminal

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/server"
	"sentinel/internal/clock"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// parseMetrics reads a /metrics body with Prometheus' own text parser and
// fails the test when Prometheus could not scrape it.
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v\n%s", err, text)
	}
	return fams
}

// histogramCount returns the observations of the histogram name, which
// must be there with one series.
func histogramCount(t *testing.T, fams map[string]*dto.MetricFamily, name string) uint64 {
	t.Helper()
	f := fams[name]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.Metric) != 1 {
		t.Fatalf("/metrics: %s is not one histogram: %v", name, f)
	}
	return f.Metric[0].GetHistogram().GetSampleCount()
}

// series returns the values of the counter or gauge name by their labels
// written as `a="x",b="y"` in the labels' order, which is by name (""
// without labels).
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
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

// TestMetricsScenario passes people through the real gate of a daemon
// enrolled with a centre (admitted, refused, a wrong PIN, an override,
// something that is no code), lets sync deliver the journal, scrapes the
// management listener and checks every count against the passages made.
func TestMetricsScenario(t *testing.T) {
	c := startCentre(t)
	now := time.Now()
	issuer, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	trustPayload, err := trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}})
	if err != nil {
		t.Fatal(err)
	}
	const pin = "246810"
	site := siteconfig.Default(siteconfig.Supermarket)
	hash, err := siteconfig.HashPIN(pin, siteconfig.MinPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	site.Guards = []siteconfig.Guard{{ID: "guard-1", PINHash: hash}}
	config, err := siteconfig.Marshal(site)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(c.data, server.BundlesDir), Root: c.keys.Root.Public()})
	if err != nil {
		t.Fatal(err)
	}
	for k, payload := range map[trust.Kind][]byte{
		trust.KindTrust: trustPayload, trust.KindConfig: config, trust.KindPolicy: bundlestest.Policy(t, "p1"),
		trust.KindStatusBase: bundlestest.StatusBase(t, now.Add(-time.Hour)),
	} {
		if _, err := repo.Publish(k, payload, c.keys.Signer, c.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
			t.Fatalf("publish %s: %v", k, err)
		}
	}
	dir, _ := c.enrolTerminal(t)

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	// The terminal's real clock: trusted from NTP or the centre's signed
	// time, with its offset from the latter.
	d.clock = monitorClock{clock.New(clock.Options{})}
	r := runDaemon(t, d, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.sync.Load().down.Sync(ctx); err != nil {
		t.Fatalf("download round: %v\n%s", err, logs.String())
	}
	if _, trusted := d.clock.Now(); !trusted {
		t.Fatalf("the clock is not trusted after the centre's signed time: %v", d.clock.(clockStater).ClockState())
	}

	is, err := healthcode.NewIssuer("ZJ", issuer, &healthcode.IssuerOptions{Clock: func() time.Time { return now.Add(-10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	code := func(index uint32, colour credential.Colour) []byte {
		t.Helper()
		s, err := is.Issue(healthcode.Claims{Index: index, Colour: colour, DisplayName: "Zhang *"})
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
	var (
		verdicts = map[string]float64{}
		reasons  = map[string]float64{}
		records  int // journal records: passages and the wrong PIN
		decided  int // passages through verification and policy
	)
	count := func(res gate.Result) {
		t.Helper()
		p := res.Passage
		if !res.Committed {
			t.Fatalf("passage not committed: %v", res.Err)
		}
		records++
		verdicts[fmt.Sprintf("verdict=%q", p.Decision)]++
		rs := p.Reasons
		if len(rs) == 0 {
			rs = []string{gate.ReasonNone}
		}
		for _, reason := range rs {
			reasons[fmt.Sprintf("reason=%q,verdict=%q", reason, p.Decision)]++
		}
	}
	pass := func(payload []byte, want passage.Verdict) {
		t.Helper()
		res, err := d.gate.Process(ctx, "in-1", payload)
		if err != nil {
			t.Fatal(err)
		}
		if res.Passage.Decision != want {
			t.Fatalf("got %s (%v), want %s\n%s", res.Passage.Decision, res.Passage.Reasons, want, logs.String())
		}
		decided++
		count(res)
	}
	pass(code(1, credential.ColourGreen), passage.Admit)
	pass(code(2, credential.ColourGreen), passage.Admit)
	pass(code(3, credential.ColourRed), passage.Deny)
	// A wrong PIN is journalled, not a passage; then the guard admits
	// the refused person in an emergency.
	if _, err := d.gate.Override(ctx, "in-1", "135790", gate.OverrideEmergency); !errors.Is(err, gate.ErrBadPIN) {
		t.Fatalf("wrong PIN: got %v, want ErrBadPIN", err)
	}
	records++
	res, err := d.gate.Override(ctx, "in-1", pin, gate.OverrideEmergency)
	if err != nil {
		t.Fatal(err)
	}
	count(res)
	pass([]byte("NOT A HEALTH CODE"), passage.Deny)

	// Sync delivers the journal; the centre's acknowledgement is there.
	waitFor(t, "the journal acknowledged", func() (bool, string) {
		acked, err := d.journal.Acked()
		return err == nil && int(acked) == records, fmt.Sprintf("acked %d (%v), want %d", acked, err, records)
	})
	url := "http://" + d.mgmtAddr.String() + "/metrics"
	var fams map[string]*dto.MetricFamily
	waitFor(t, "the scanner's fault", func() (bool, string) {
		fams = parseMetrics(t, getMetrics(t, url))
		got := series(fams, "sentinel_device_fault")
		return got[`device="scanner",lane="in-1"`] == 1, fmt.Sprintf("%v", got)
	})

	if got, want := series(fams, "sentinel_passages_total"), withZeros(verdicts, `verdict="admit"`, `verdict="deny"`, `verdict="refer"`); !maps.Equal(got, want) {
		t.Errorf("sentinel_passages_total: got %v, want %v", got, want)
	}
	if got := series(fams, "sentinel_passage_reasons_total"); !maps.Equal(got, reasons) {
		t.Errorf("sentinel_passage_reasons_total: got %v, want %v", got, reasons)
	}
	for name, want := range map[string]float64{
		"sentinel_overrides_total":             1,
		"sentinel_override_pin_failures_total": 1,
		"sentinel_overrides_refused_total":     1,
		"sentinel_journal_failures_total":      0,
		"sentinel_journal_last_seq":            float64(records),
		"sentinel_journal_acked_seq":           float64(records),
		"sentinel_sync_backlog_records":        0,
		"sentinel_enrolled":                    1,
		"sentinel_revoked":                     0,
		"sentinel_sync_enabled":                1,
		"sentinel_clock_trusted":               1,
	} {
		if got, ok := series(fams, name)[""]; !ok || got != want {
			t.Errorf("%s: got %v (present %v), want %v", name, got, ok, want)
		}
	}
	for name, want := range map[string]int{
		"sentinel_verify_seconds":         decided,
		"sentinel_decide_seconds":         decided,
		"sentinel_journal_commit_seconds": records,
	} {
		if got := histogramCount(t, fams, name); got != uint64(want) {
			t.Errorf("%s: got %d observations, want %d", name, got, want)
		}
	}
	// Every bundle enrolment brought is in force, version 1, issued
	// moments ago, fresh.
	versions, ages, fresh := series(fams, "sentinel_bundle_version"), series(fams, "sentinel_bundle_age_seconds"), series(fams, "sentinel_bundle_freshness")
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindConfig, trust.KindPolicy, trust.KindStatusBase} {
		l := fmt.Sprintf("kind=%q", k)
		if versions[l] != 1 {
			t.Errorf("sentinel_bundle_version{%s}: got %v, want 1", l, versions[l])
		}
		if age, ok := ages[l]; !ok || age < 0 || age > time.Since(now).Seconds()+60 {
			t.Errorf("sentinel_bundle_age_seconds{%s}: got %v (present %v), want the seconds since the test published it", l, age, ok)
		}
		if f := fresh[l+`,state="fresh"`]; f != 1 {
			t.Errorf("sentinel_bundle_freshness{%s,state=\"fresh\"}: got %v, want 1", l, f)
		}
	}
	if f := series(fams, "sentinel_status_list_freshness")[`state="fresh"`]; f != 1 {
		t.Errorf("sentinel_status_list_freshness{state=\"fresh\"}: got %v, want 1", f)
	}
	if _, ok := versions[fmt.Sprintf("kind=%q", trust.KindStatusDelta)]; ok {
		t.Errorf("sentinel_bundle_version has a status delta, none was published: %v", versions)
	}
	// The centre runs on this machine's clock: the offset is small.
	if off, ok := series(fams, "sentinel_clock_offset_seconds")[""]; !ok || math.Abs(off) > 5 {
		t.Errorf("sentinel_clock_offset_seconds: got %v (present %v), want under 5 s", off, ok)
	}
	src := series(fams, "sentinel_clock_source")
	if src[`source="ntp"`]+src[`source="central"`] != 1 || src[`source="none"`] != 0 {
		t.Errorf("sentinel_clock_source: got %v, want ntp or central", src)
	}
	r.stop(t)
}

// withZeros returns m with the labels ls at 0 where m lacks them.
func withZeros(m map[string]float64, ls ...string) map[string]float64 {
	out := maps.Clone(m)
	for _, l := range ls {
		out[l] += 0
	}
	return out
}

// TestSyncErrorsCounted: each failed exchange with the centre is counted
// by its kind and what went wrong; a success is not.
func TestSyncErrorsCounted(t *testing.T) {
	errs := newSyncErrors()
	a := answers{}
	tr := &trackTransport{base: a, now: time.Now, probeEvery: time.Hour, errors: errs}
	a["/v1/upload"] = func() (*http.Response, error) { return nil, errors.New("dial tcp: connection refused") }
	a["/v1/bundles/trust"] = answer(503)
	a["/v1/status"] = answer(200)
	a["/v1/time"] = answer(500)
	a["/v1/health"] = answer(400)
	a["/v1/renew"] = answer(403, "Sentinel-Refusal", "device-revoked")
	for _, p := range []string{"/v1/upload", "/v1/upload", "/v1/bundles/trust", "/v1/status", "/v1/time", "/v1/health", "/v1/renew", "/v1/upload"} {
		req, _ := http.NewRequest("GET", "https://centre.test"+p, nil)
		tr.RoundTrip(req)
	}
	want := map[[2]string]float64{
		{"upload", "network"}: 2, {"bundle", "busy"}: 1, {"time", "server"}: 1, {"health", "refused"}: 1,
		// The revocation is counted once; the calls after it are
		// answered by the terminal itself, not the centre.
		{"renew", "revoked"}: 1,
	}
	got := map[[2]string]float64{}
	for k := range want {
		var m dto.Metric
		if err := errs.WithLabelValues(k[0], k[1]).Write(&m); err != nil {
			t.Fatal(err)
		}
		got[k] = m.GetCounter().GetValue()
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	var m dto.Metric
	errs.WithLabelValues("status", "refused").Write(&m)
	if m.GetCounter().GetValue() != 0 {
		t.Error("a successful status download was counted as an error")
	}
}
