package terminal

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// promDir holds the alert rules and the Prometheus configuration that
// docs/ops.md ships.
var promDir = filepath.Join("..", "..", "docs", "prometheus")

// rulesFile is alerts.yml as Prometheus reads it.
type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// described returns the names of the metrics that the describe functions
// (prometheus.Collector's Describe) describe.
func described(describe ...func(chan<- *prometheus.Desc)) []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, f := range describe {
			f(ch)
		}
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// registeredMetrics returns the names of every metric that sentineld's
// management listener and sentinel-central's --metrics listener serve
// (their own, not the process's and the runtime's), from a running
// daemon and a running centre.
func registeredMetrics(t *testing.T) []string {
	t.Helper()
	c := startCentre(t)
	var logs syncBuffer
	d := syncDaemon(t, t.TempDir(), "", &logs)
	r := runDaemon(t, d, &logs)
	var describe []func(chan<- *prometheus.Desc)
	for _, c := range d.collectors() {
		describe = append(describe, c.Describe)
	}
	names := described(describe...)
	r.stop(t)
	names = append(names, described(c.srv.Metrics().Describe)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// TestAlertRulesUseRegisteredMetrics holds docs/prometheus/alerts.yml and
// docs/ops.md to the metrics the binaries register: every sentinel_ name
// in a rule is registered (a renamed metric fails here, not silently in
// production), every rule has a severity and words for whoever is woken,
// and docs/ops.md describes every metric and every alert.
func TestAlertRulesUseRegisteredMetrics(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(promDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf rulesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	registered := registeredMetrics(t)
	if len(registered) < 30 {
		t.Fatalf("got %d registered metrics, want the terminal's and the centre's: %v", len(registered), registered)
	}
	isRegistered := func(name string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(registered, base) {
				return true
			}
		}
		return false
	}
	ops, err := os.ReadFile(filepath.Join("..", "..", "docs", "ops.md"))
	if err != nil {
		t.Fatal(err)
	}
	metricName := regexp.MustCompile(`\bsentinel_[a-z0-9_]+`)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr: %+v", g.Name, r)
				continue
			}
			alerts = append(alerts, r.Alert)
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description for whoever is woken", r.Alert)
			}
			used := metricName.FindAllString(r.Expr+" "+r.Annotations["summary"]+" "+r.Annotations["description"], -1)
			if len(used) == 0 {
				t.Errorf("%s: names no Sentinel metric: %s", r.Alert, r.Expr)
			}
			for _, name := range used {
				if !isRegistered(name) {
					t.Errorf("%s uses %s, which neither sentineld nor sentinel-central registers", r.Alert, name)
				}
			}
			if !bytes.Contains(ops, []byte(r.Alert)) {
				t.Errorf("docs/ops.md does not describe the alert %s", r.Alert)
			}
		}
	}
	if len(alerts) < 10 {
		t.Errorf("got alerts %v, want the rules of docs/ops.md", alerts)
	}
	for _, name := range registered {
		if !bytes.Contains(ops, []byte("`"+name+"`")) && !bytes.Contains(ops, []byte("`"+name+"{")) {
			t.Errorf("docs/ops.md does not list the metric %s", name)
		}
	}
}

// TestAlertRulesPromtool runs Prometheus' own checks on the files
// docs/ops.md ships: the rules and the configuration parse, and the
// rules' unit tests (alerts_test.yml) pass.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found (%v): CI must install the Debian package prometheus", err)
		}
		t.Skipf("SKIPPING: promtool is not installed (apt-get install prometheus): the alert rules are not checked by Prometheus")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"check", "config", "prometheus.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = promDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
