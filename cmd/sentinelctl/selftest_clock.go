package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	firmwareconfig "sentinel/firmware-config"
	termclock "sentinel/internal/clock"
	"sentinel/sync/client"
	"sentinel/sync/enrol"
)

// timeProbe is the terminal's clock trust: *clock.Monitor.
type timeProbe interface {
	State() termclock.State
	ObserveSignedTime(t time.Time, rtt time.Duration)
	SignedTimeUnavailable(code, why string)
}

// hostTimeProbe reads the kernel's clock status.
func hostTimeProbe() timeProbe { return termclock.New(termclock.Options{}) }

// signedTimeTimeout bounds the request for the centre's signed time.
const signedTimeTimeout = 10 * time.Second

// checkClock says whether the terminal can trust its clock, as the daemon
// will judge it: NTP, or the centre's signed time, which it asks for when
// the terminal is enrolled. A clock it cannot trust fails, with why and
// what to do: the terminal refers every person until it is trusted.
func checkClock(ctx context.Context, cfg *firmwareconfig.Config, probe timeProbe) checkResult {
	r := checkResult{Lane: "-", Device: "clock", What: "NTP or the centre's signed time"}
	if st := probe.State(); st.Trusted {
		return r.ok(st.String())
	}
	enrolled := false
	if _, err := os.Stat(filepath.Join(cfg.DataDir, enrol.CertFile)); err == nil {
		enrolled = true
	}
	_, revoked, _ := enrol.Revoked(cfg.DataDir)
	switch {
	case !enrolled:
		probe.SignedTimeUnavailable(termclock.CodeWaiting, "the terminal is not enrolled, so it cannot ask the central system for its time")
	case revoked:
		// The centre answers a revoked terminal nothing, its time
		// included: the network and the URL are not what to check.
		return r.fail("untrusted: NTP is not synchronised, and the centre no longer answers this terminal (it was removed from service)",
			"give this terminal NTP, or enrol it again with a new ticket from ops (sentinelctl enrol --force --token TICKET); until then every person is referred to the guard")
	case cfg.Central.URL == "":
		probe.SignedTimeUnavailable(termclock.CodeCentralUnreachable, "no central URL in the configuration ([central] url)")
	default:
		t, rtt, err := fetchSignedTime(ctx, cfg)
		if err != nil {
			probe.SignedTimeUnavailable(client.SignedTimeFailure(err))
		} else {
			probe.ObserveSignedTime(t, rtt)
		}
	}
	st := probe.State()
	if st.Trusted {
		return r.ok(st.String())
	}
	advice := map[string]string{
		termclock.CodeCentralNoTime:      "the centre does not sign its time: ops must run sentinel-central serve with --key and --delegation (not --no-time); or give this terminal NTP",
		termclock.CodeCentralUnreachable: "check the network and [central] url in the configuration (the device port, e.g. :8443), or give this terminal NTP",
		termclock.CodeCentralInvalid:     "the centre's time is not signed under the root this terminal pinned: check the centre's --delegation, or enrol again with the right root",
		termclock.CodeNTPDisagrees:       "NTP and the centre disagree: check the NTP servers this terminal uses",
		termclock.CodeWaiting:            "enrol the terminal (sentinelctl enrol) so that it can ask the centre for its time, or give it NTP",
		termclock.CodeCentralOld:         "the centre's time is too old: check the network to the centre",
	}[st.Code]
	if advice == "" {
		advice = "give this terminal NTP, or enrol it with a centre that signs its time"
	}
	return r.fail("untrusted: "+st.Reason, advice+"; until then every person is referred to the guard")
}

// fetchSignedTime asks the centre for its signed time with the terminal's
// identity, as the daemon's sync does.
func fetchSignedTime(ctx context.Context, cfg *firmwareconfig.Config) (time.Time, time.Duration, error) {
	tlsCfg, err := enrol.ClientTLSConfig(cfg.DataDir)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("the terminal's identity: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, enrol.RootFile))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, 0, fmt.Errorf("no pinned operator root in %s: enrol again", cfg.DataDir)
	}
	if err != nil {
		return time.Time{}, 0, err
	}
	root, err := trust.ParsePublicKey(raw)
	if err != nil {
		return time.Time{}, 0, err
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, TLSHandshakeTimeout: signedTimeTimeout}
	defer tr.CloseIdleConnections()
	// SignedTime reads the downloader's state (the revoked keys) and
	// writes nothing.
	d, err := client.NewDownloader(client.DownloadOptions{URL: cfg.Central.URL, HTTP: &http.Client{Transport: tr},
		DataDir: cfg.DataDir, Root: root, Timeout: signedTimeTimeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return time.Time{}, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, signedTimeTimeout)
	defer cancel()
	return d.SignedTime(ctx)
}
