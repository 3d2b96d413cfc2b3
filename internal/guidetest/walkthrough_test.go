package guidetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"sentinel/device/scanner"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/corpustest"
	"sentinel/sync/enrol"
)

// The guides the walkthrough runs, in the order their blocks run within a
// part.
var guides = []string{"docs/central.md", "docs/install.md"}

// blockTimeout bounds one block; a block that hangs fails the test.
const blockTimeout = 3 * time.Minute

// scannerDedup is the scanner's dedup window: the same code read again
// within it counts once (the walkthrough's configuration keeps the
// default).
const scannerDedup = scanner.DefaultDedupWindow

// revocationDeadline is how soon a running terminal must stop uploading
// after ops revoke it, and say so.
const revocationDeadline = 60 * time.Second

// TestWalkthrough runs the walkthrough of docs/central.md and
// docs/install.md as written (see the package documentation for the
// convention) with binaries built from this tree, in a temporary
// directory, on loopback ports, with a pseudo-terminal as the terminal's
// serial scanner. The prelude gives the guides' variables these values:
//
//	WORK           the walkthrough's directory, where every block starts
//	CENTRAL_DATA   $WORK/central (on a centre: /var/lib/sentinel-central)
//	CENTRAL_HOST   127.0.0.1 (the centre's name, e.g. central.example.org)
//	DEVICE_PORT    a free port (8443), ENROL_PORT (8444), OPS_PORT (8445),
//	               METRICS_PORT (9109)
//	LISTEN_HOST    127.0.0.1 (0.0.0.0 on a centre: the address serve listens on)
//	CONFIG         $WORK/etc/sentinel.toml (on a terminal: /etc/sentinel/sentinel.toml)
//	DATA           $WORK/terminal (on a terminal: /var/lib/sentinel)
//	DISPLAY_PORT   a free port (8080), MGMT_PORT (9108)
//	SCANNER_PORT   the pseudo-terminal (on a terminal: /dev/ttyACM0 or a udev link)
//	PATH           the built binaries first
//
// and stands in for systemd: `systemctl start|stop|restart|enable --now
// sentineld` runs the unit's ExecStart (firmware-config/systemd) with
// /usr/bin and the configuration path mapped to the above, and returns
// once the daemon listens.
//
// Between the parts the test checks what the guides promise: after
// "terminal", a terminal with fresh trust, policy and config bundles, a
// trusted clock, and a valid code admitted and uploaded; after "ops"
// (which revokes the terminal), that the terminal says it was revoked
// within 60 seconds and that the centre accepts nothing from it after;
// at the end, with the centre stopped, that its store holds the admitted
// passage exactly once.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: the guides' walkthrough builds the binaries and runs for a minute or two (-short)")
	}
	w := newWalkthrough(t)
	blocks := w.blocks()

	w.runPart(blocks, "centre")
	w.runPart(blocks, "terminal")
	device := w.checkTerminal()
	w.runPart(blocks, "ops")
	w.checkRevoked(device)
	w.stopAll()
	w.checkCentre(device)
}

// walkthrough is the test's state.
type walkthrough struct {
	t           *testing.T
	root        string // the repository
	work, bin   string
	state       string // the file that carries the variables between blocks
	ptmx        *os.File
	ports       map[string]int
	groups      []int     // the process groups of the blocks, each killed at the end
	lastShown   string    // the code last shown to the scanner
	lastShownAt time.Time // when
}

func newWalkthrough(t *testing.T) *walkthrough {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		needed(t, "bash runs the guides' shell blocks: %v", err)
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		needed(t, "the terminal's serial scanner is a pseudo-terminal (/dev/ptmx): %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	// Nobody reads what the line discipline echoes: drain it so that it
	// never fills.
	go io.Copy(io.Discard, ptmx)

	w := &walkthrough{t: t, root: corpustest.ModuleRoot(t), ptmx: ptmx, ports: map[string]int{}}
	dir := t.TempDir()
	w.work, w.bin = filepath.Join(dir, "work"), filepath.Join(dir, "bin")
	for _, d := range []string{w.work, w.bin, filepath.Join(w.work, "etc")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(w.stopAll)

	built := buildBinaries(t, w.root)
	for _, p := range programs {
		if err := os.Link(filepath.Join(built, p), filepath.Join(w.bin, p)); err != nil {
			if err := copyFile(filepath.Join(built, p), filepath.Join(w.bin, p)); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, name := range []string{"DEVICE_PORT", "ENROL_PORT", "OPS_PORT", "METRICS_PORT", "DISPLAY_PORT", "MGMT_PORT"} {
		w.ports[name] = freePort(t)
	}
	vars := []string{
		"WORK=" + w.work,
		"CENTRAL_DATA=" + filepath.Join(w.work, "central"),
		"CENTRAL_HOST=127.0.0.1",
		"LISTEN_HOST=127.0.0.1",
		"CONFIG=" + filepath.Join(w.work, "etc", "sentinel.toml"),
		"DATA=" + filepath.Join(w.work, "terminal"),
		"SCANNER_PORT=" + tty.Name(),
		"PATH=" + w.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + w.work,
		"USER=ops",
		"LC_ALL=C.UTF-8",
	}
	for name, p := range w.ports {
		vars = append(vars, fmt.Sprintf("%s=%d", name, p))
	}
	var prelude strings.Builder
	for _, v := range vars {
		k, val, _ := strings.Cut(v, "=")
		fmt.Fprintf(&prelude, "export %s=%s\n", k, shellQuote(val))
	}
	w.state = filepath.Join(dir, "state.sh")
	if err := os.WriteFile(w.state, []byte(prelude.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w.writeSystemctl()
	return w
}

// needed skips where a program the walkthrough needs is missing, and
// fails in CI.
func needed(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: CI must provide it", msg)
	}
	t.Skipf("SKIPPING the guides' walkthrough: %s", msg)
}

// writeSystemctl writes the stand-in for systemd: it runs the unit's
// ExecStart with the walkthrough's paths.
func (w *walkthrough) writeSystemctl() {
	t := w.t
	var exec string
	sc := bufio.NewScanner(strings.NewReader(string(firmwareconfig.SystemdUnit())))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ExecStart="); ok {
			exec = v
		}
	}
	const daemon = "/usr/bin/sentineld"
	if !strings.HasPrefix(exec, daemon+" ") || !strings.Contains(exec, firmwareconfig.DefaultConfigPath) {
		t.Fatalf("the unit's ExecStart %q does not run %s with %s", exec, daemon, firmwareconfig.DefaultConfigPath)
	}
	exec = strings.Replace(exec, daemon, filepath.Join(w.bin, "sentineld"), 1)
	exec = strings.ReplaceAll(exec, firmwareconfig.DefaultConfigPath, `"$CONFIG"`)
	script := `#!/bin/bash
# systemctl, as the guides' walkthrough test stands in for it: sentineld
# only, started as the unit's ExecStart says.
set -u
pidfile="$WORK/.sentineld.pid"
log="$WORK/sentineld.log"
stop() {
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
		sleep 0.1
	done
	echo "systemctl: sentineld did not stop within 30 s" >&2
	return 1
}
start() {
	stop
	` + exec + ` >>"$log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$MGMT_PORT") 2>/dev/null; then return 0; fi
		kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "systemctl: sentineld exited; see journalctl" >&2; tail -n 20 "$log" >&2; return 1; }
		sleep 0.1
	done
	echo "systemctl: sentineld is not listening after 30 s" >&2
	return 1
}
verb=${1:-}; shift || true
[ "${1:-}" = --now ] && shift
case "$verb:${1:-}" in
	start:sentineld|restart:sentineld|enable:sentineld) start ;;
	stop:sentineld|disable:sentineld) stop ;;
	is-active:sentineld) [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && echo active || { echo inactive; exit 3; } ;;
	*) echo "systemctl (walkthrough stand-in): only start|stop|restart|enable|disable|is-active sentineld" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(w.bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// journalctl -u sentineld shows the daemon's log.
	journalctl := "#!/bin/bash\n# journalctl, as the guides' walkthrough test stands in for it.\ncat \"$WORK/sentineld.log\"\n"
	if err := os.WriteFile(filepath.Join(w.bin, "journalctl"), []byte(journalctl), 0o755); err != nil {
		t.Fatal(err)
	}
}

// blocks reads the guides' walkthrough blocks.
func (w *walkthrough) blocks() []Block {
	var all []Block
	for _, g := range guides {
		md, err := os.ReadFile(filepath.Join(w.root, g))
		if err != nil {
			w.t.Fatal(err)
		}
		bs, err := Extract(g, md)
		if err != nil {
			w.t.Fatal(err)
		}
		all = append(all, bs...)
	}
	for _, p := range Parts {
		n := 0
		for _, b := range all {
			if b.Part == p {
				n++
			}
		}
		if n == 0 {
			w.t.Fatalf("the guides have no walkthrough block of part %q", p)
		}
	}
	return all
}

// runPart runs the blocks of one part in order.
func (w *walkthrough) runPart(blocks []Block, part string) {
	for _, b := range blocks {
		if b.Part == part {
			w.run(b)
		}
	}
}

// run runs one block in bash, in its own process group, with the
// variables of the earlier blocks, and saves its variables for the next.
func (w *walkthrough) run(b Block) {
	t := w.t
	t.Helper()
	if usesCurl(b.Code) {
		if _, err := exec.LookPath("curl"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s calls the operator API with curl: %v: CI must provide it", b, err)
			}
			t.Logf("SKIPPING the block %s: it calls the operator API with curl, which is not installed", b)
			return
		}
	}
	if b.Show != "" {
		w.show(b)
	}
	script := "set -a\n. " + shellQuote(w.state) + "\ncd \"$WORK\"\nset -euo pipefail\n" +
		b.Code + "\nexport -p >" + shellQuote(w.state) + "\n"
	log, err := os.CreateTemp(filepath.Dir(w.state), "block-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = w.work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.groups = append(w.groups, cmd.Process.Pid)
	stopScan := make(chan struct{})
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		if b.Scan == "" {
			return
		}
		code := w.code(b.Scan)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			w.ptmx.Write([]byte(code + "\r"))
			select {
			case <-stopScan:
				return
			case <-tick.C:
			}
		}
	}()
	err = cmd.Wait()
	close(stopScan)
	<-scanDone
	out, _ := os.ReadFile(log.Name())
	if err != nil {
		t.Fatalf("%s (part %s) failed after %v: %v\n--- the block:\n%s--- its output:\n%s", b, b.Part, time.Since(start).Round(time.Millisecond), err, b.Code, out)
	}
	t.Logf("%s (part %s): ok in %v\n%s", b, b.Part, time.Since(start).Round(time.Millisecond), indent(out))
}

// code reads a code the walkthrough wrote.
func (w *walkthrough) code(file string) string {
	b, err := os.ReadFile(filepath.Join(w.work, file))
	if err != nil {
		w.t.Fatalf("the code to show the scanner: %v", err)
	}
	code := strings.TrimSpace(string(b))
	if code == "" || strings.ContainsAny(code, "\r\n") {
		w.t.Fatalf("%s: want one code on one line, got %q", file, code)
	}
	return code
}

// show shows a code once to the scanner, as a person does, and waits until
// the terminal has decided one more passage.
func (w *walkthrough) show(b Block) {
	t := w.t
	before := w.passageCount()
	w.lastShown, w.lastShownAt = w.code(b.Show), time.Now()
	if _, err := w.ptmx.Write([]byte(w.lastShown + "\r")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.passageCount() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the terminal decided no passage within 30 s of showing %s\n%s", b, b.Show, w.daemonLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metrics returns the terminal's /metrics, or "" when it does not answer.
func (w *walkthrough) metrics() string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", w.ports["MGMT_PORT"]))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var metricLine = regexp.MustCompile(`(?m)^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$`)

// metric returns the sum of a metric's samples whose labels contain sel.
func metric(text, name, sel string) (float64, bool) {
	var sum float64
	found := false
	for _, m := range metricLine.FindAllStringSubmatch(text, -1) {
		if m[1] != name || !strings.Contains(m[2], sel) {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}

func (w *walkthrough) passageCount() float64 {
	n, _ := metric(w.metrics(), "sentinel_passages_total", "")
	return n
}

// displayState is what the test reads of the guard display's /state.
type displayState struct {
	Lanes []struct {
		Name    string `json:"name"`
		Verdict *struct {
			Outcome string   `json:"outcome"`
			Reasons []string `json:"reasons"`
		} `json:"verdict"`
	} `json:"lanes"`
	Status *struct {
		Online         bool   `json:"online"`
		NotEnrolled    bool   `json:"not_enrolled"`
		ClockUntrusted bool   `json:"clock_untrusted"`
		Revoked        string `json:"revoked"`
		Bundles        []struct {
			Kind      string `json:"kind"`
			Freshness string `json:"freshness"`
			Version   uint64 `json:"version"`
		} `json:"bundles"`
	} `json:"status"`
}

// display returns the guard display's state as JSON text and decoded.
func (w *walkthrough) display() (string, *displayState) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/state?lang=en", w.ports["DISPLAY_PORT"]))
	if err != nil {
		return err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s displayState
	if err := json.Unmarshal(b, &s); err != nil {
		return string(b), nil
	}
	return string(b), &s
}

// checkTerminal checks the terminal the installer left: enrolled, fresh
// trust, policy and config bundles, a trusted clock, one passage admitted
// and uploaded. It returns the device id enrolment gave it.
func (w *walkthrough) checkTerminal() string {
	t := w.t
	device := w.deviceID()
	deadline := time.Now().Add(60 * time.Second)
	var problems []string
	for {
		problems = problems[:0]
		raw, s := w.display()
		switch {
		case s == nil || s.Status == nil:
			problems = append(problems, "the display shows no status: "+raw)
		default:
			if s.Status.NotEnrolled {
				problems = append(problems, "the display says not enrolled")
			}
			if s.Status.ClockUntrusted {
				problems = append(problems, "the display says the clock is not trusted")
			}
			fresh := map[string]bool{}
			for _, b := range s.Status.Bundles {
				fresh[b.Kind] = b.Freshness == "fresh"
			}
			for _, k := range []string{"trust", "policy", "config"} {
				if !fresh[k] {
					problems = append(problems, fmt.Sprintf("the %s bundle is not fresh: %s", k, raw))
				}
			}
		}
		m := w.metrics()
		if n, _ := metric(m, "sentinel_passages_total", `verdict="admit"`); n < 1 {
			problems = append(problems, "no passage was admitted")
		}
		if n, ok := metric(m, "sentinel_sync_backlog_records", ""); !ok || n != 0 {
			problems = append(problems, fmt.Sprintf("the journal's backlog is %v records, want 0 (uploaded)", n))
		}
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the installer's part of the walkthrough:\n- %s\n%s", strings.Join(problems, "\n- "), w.daemonLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("terminal %s: enrolled, clock trusted, trust/policy/config fresh, a passage admitted and uploaded", device)
	return device
}

// deviceID reads the device id from the terminal's certificate.
func (w *walkthrough) deviceID() string {
	t := w.t
	pem, err := os.ReadFile(filepath.Join(w.work, "terminal", enrol.CertFile))
	if err != nil {
		t.Fatalf("the terminal holds no device certificate after the installer's part: %v", err)
	}
	c, err := enrol.ParseCertificatePEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := enrol.DeviceID(c)
	if !ok {
		t.Fatalf("the device certificate names no device id: %v", c.Subject)
	}
	return id
}

// checkRevoked checks what happens to the terminal the ops part has just
// revoked. A person passes at once: the terminal decides offline and
// keeps the passage, and the centre must refuse its upload (checkCentre
// then finds only the passage from before). And the terminal must say,
// within revocationDeadline, that it was revoked.
func (w *walkthrough) checkRevoked(device string) {
	t := w.t
	revokedAt := time.Now()
	if w.lastShown == "" {
		t.Fatal("the walkthrough showed no code to the scanner (show=FILE)")
	}
	// The scanner counts the same code read again within its dedup window
	// (2 s by default) once: the person comes after that.
	if wait := time.Until(w.lastShownAt.Add(scannerDedup + 500*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	before := w.passageCount()
	if _, err := w.ptmx.Write([]byte(w.lastShown + "\r")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.passageCount() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the revoked terminal decided no passage within 30 s\n%s\n%s", w.metrics(), w.daemonLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = revokedAt.Add(revocationDeadline)
	for {
		words := w.revokedWords()
		if words != "" {
			t.Logf("the terminal says it was revoked %v after devices revoke: %q", time.Since(revokedAt).Round(time.Millisecond), words)
			break
		}
		if time.Now().After(deadline) {
			raw, _ := w.display()
			t.Fatalf("the terminal does not say it was revoked %v after devices revoke:\n%s\n%s", revocationDeadline, raw, w.daemonLog())
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The passage after the revocation is still waiting on the terminal:
	// its upload was refused (checkCentre checks the centre's side).
	if n, ok := metric(w.metrics(), "sentinel_sync_backlog_records", ""); !ok || n < 1 {
		t.Errorf("after revocation the journal's backlog is %v, want the new passage still on the terminal\n%s", n, w.daemonLog())
	}
}

// revokedWords returns what the guard display says about the terminal's
// revocation (the centre's words), or "" while it says nothing.
func (w *walkthrough) revokedWords() string {
	_, s := w.display()
	if s == nil || s.Status == nil {
		return ""
	}
	return s.Status.Revoked
}

// checkCentre checks that the centre holds the terminal's admitted
// passage exactly once: in the export the ops part wrote (passages.csv),
// and in its store, opened once every process is stopped.
func (w *walkthrough) checkCentre(device string) {
	t := w.t
	csv, err := os.ReadFile(filepath.Join(w.work, "passages.csv"))
	if err != nil {
		t.Fatalf("the ops part's export: %v", err)
	}
	if n := strings.Count(string(csv), "\n"+device+","); n != 1 {
		t.Errorf("the export holds %d passages of %s, want 1:\n%s", n, device, csv)
	}
	st, err := boltstore.Open(filepath.Join(w.work, "central", "central.db"), &boltstore.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("the centre's store: %v", err)
	}
	defer st.Close()
	var got []central.Passage
	for p, err := range st.Passages(context.Background(), central.Filter{Device: device}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if len(got) != 1 || got[0].Decision != "admit" {
		var lines []string
		for _, p := range got {
			lines = append(lines, fmt.Sprintf("%s seq %d %s %s", p.Time.Format(time.RFC3339), p.Seq, p.Decision, p.Holder))
		}
		t.Fatalf("the centre holds %d passages of %s, want the admitted one exactly once:\n%s", len(got), device, strings.Join(lines, "\n"))
	}
}

// stopAll stops every process the blocks started: SIGTERM to each block's
// process group, then SIGKILL to what is left after 20 s.
func (w *walkthrough) stopAll() {
	for _, g := range w.groups {
		syscall.Kill(-g, syscall.SIGTERM)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, g := range w.groups {
		for syscall.Kill(-g, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if err := syscall.Kill(-g, 0); !errors.Is(err, syscall.ESRCH) {
			syscall.Kill(-g, syscall.SIGKILL)
		}
	}
	w.groups = nil
}

func (w *walkthrough) daemonLog() string {
	b, err := os.ReadFile(filepath.Join(w.work, "sentineld.log"))
	if err != nil {
		return "(no sentineld.log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return "--- sentineld.log (last 40 lines):\n" + strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// The binaries are built once per test binary, for every test that runs
// them, into a directory TestMain removes.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildBinaries builds sentinel-central, sentinelctl and sentineld from
// the tree at root and returns their directory.
func buildBinaries(t *testing.T, root string) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "sentinel-guides-bin-"); buildErr != nil {
			return
		}
		start := time.Now()
		build := exec.Command(goTool(t), "build", "-o", buildDir, "./cmd/sentinel-central", "./cmd/sentinelctl", "./cmd/sentineld")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		t.Logf("built the binaries in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// goTool returns the go command on PATH, as go test found it.
func goTool(t *testing.T) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the walkthrough builds the binaries with go: %v", err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// usesCurl says whether a block runs curl (the operator API's example).
func usesCurl(code string) bool {
	for _, c := range Commands("", []byte("```sh\n"+code+"```\n"), "curl") {
		if c.Program == "curl" {
			return true
		}
	}
	return false
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func indent(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
