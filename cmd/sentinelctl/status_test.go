package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	termclock "sentinel/internal/clock"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
)

// TestStatus asks a real guard display (internal/ui, as sentineld serves
// it) what the terminal shows: not ready with each problem while it has no
// bundles and no trusted clock, ready once it has them, with the lane's
// result and the day's counts.
func TestStatus(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	display := ui.New(ui.Options{Lang: "en", Site: "Staff entrance", Lanes: []string{"in-1"}, AdmitHold: time.Minute, RefuseHold: time.Minute})
	srv := &http.Server{Handler: display.Handler()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	cfg := writeFile(t, dir, "sentinel.toml", fmt.Sprintf(`data_dir = %q
[terminal]
id = "SM-0042-T1"
site_id = "SM-0042"
[central]
url = "https://central.example.org:8443"
[listen]
display = %q
[[lane]]
name = "in-1"
[lane.camera]
source = "replay"
dir = %q
`, dir, l.Addr().String(), dir))
	status := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"status", "--config", cfg}, args...), strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	display.SetStatus(ui.Status{
		Lanes:          []ui.LaneStatus{{Name: "in-1", Camera: ui.DeviceOK, Scanner: ui.DeviceAbsent, Thermometer: ui.DeviceAbsent}},
		Bundles:        []ui.Bundle{{Kind: trust.KindTrust, Freshness: trust.FreshnessFresh, Version: 1}, {Kind: trust.KindStatusBase, Freshness: trust.FreshnessBlocked}},
		NotEnrolled:    true,
		ClockUntrusted: true,
	})
	code, out, _ := status()
	// Not enrolled, the clock, the bundles and the link wait for
	// enrolment: each says to enrol first, not to check the network or to
	// wait for a sync that cannot come. A bundle never installed is
	// "none", not "blocked".
	for _, want := range []string{"NOT READY", "not enrolled", "clock not trusted", "policy bundle none: enrol first", "config bundle none: enrol first",
		"status-base bundle none: enrol first", "status-base none", "an enrolled terminal gets the centre's signed time", "offline"} {
		if !strings.Contains(out, want) {
			t.Errorf("not ready: output lacks %q:\n%s", want, out)
		}
	}
	for _, wrong := range []string{"check the network", "wait for the next sync", "blocked"} {
		if strings.Contains(out, wrong) {
			t.Errorf("not enrolled: output says %q:\n%s", wrong, out)
		}
	}
	if code != exitRefused {
		t.Errorf("not ready: exit %d, want %d", code, exitRefused)
	}

	var bundles []ui.Bundle
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindStatusBase, trust.KindPolicy, trust.KindConfig} {
		bundles = append(bundles, ui.Bundle{Kind: k, Freshness: trust.FreshnessFresh, Version: 3})
	}
	ready := ui.Status{Lanes: []ui.LaneStatus{{Name: "in-1", Camera: ui.DeviceOK, Scanner: ui.DeviceAbsent, Thermometer: ui.DeviceAbsent}},
		Bundles: bundles, Online: true, LastSync: time.Now()}
	// --wait answers once the terminal becomes ready.
	go func() {
		time.Sleep(300 * time.Millisecond)
		display.SetStatus(ready)
		display.Show(ui.Shown{Lane: "in-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "Test *"})
	}()
	code, out, stderr := status("--wait", "30s")
	if code != exitOK || !strings.Contains(out, "READY") || strings.Contains(out, "NOT READY") {
		t.Fatalf("ready: got exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"device not enrolled", "clock:    trusted", "policy fresh (v3)", "on screen: ADMIT green", "1 admitted"} {
		if !strings.Contains(out, want) {
			t.Errorf("ready: output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = status("--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.Ready || rep.Site != "SM-0042" || len(rep.Problems) != 0 {
		t.Errorf("--json: got exit %d, %+v (%v)", code, rep, err)
	}

	// The clock's reason comes from the display as internal/clock's code;
	// status says it in the display's words, not as the code.
	display.SetStatus(ui.Status{Lanes: ready.Lanes, Bundles: bundles, Online: true, ClockUntrusted: true, ClockReason: termclock.CodeCentralUnreachable})
	code, out, _ = status()
	if words, _ := termclock.CodeWords(termclock.CodeCentralUnreachable, "en"); code != exitRefused ||
		!strings.Contains(out, "clock not trusted (no NTP sync and the centre is unreachable)") || !strings.Contains(out, words) ||
		strings.Contains(out, termclock.CodeCentralUnreachable) {
		t.Errorf("clock reason: got exit %d, want the reason in words:\n%s", code, out)
	}

	display.SetStatus(ui.Status{Lanes: ready.Lanes, Bundles: bundles, Revoked: "removed from service by the central office"})
	code, out, _ = status()
	if code != exitRefused || !strings.Contains(out, "revoked (removed from service by the central office)") || !strings.Contains(out, "sentinelctl enrol --force --token TICKET") {
		t.Errorf("revoked: got exit %d\n%s", code, out)
	}

	srv.Close()
	code, out, _ = status()
	if code != exitRefused || !strings.Contains(out, "is sentineld running?") {
		t.Errorf("no daemon: got exit %d\n%s", code, out)
	}
}
