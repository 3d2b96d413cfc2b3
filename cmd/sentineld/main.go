// Command sentineld is the terminal daemon: it reads codes and temperatures
// at every lane, verifies and decides, writes each passage durably, opens
// the gate or not, and serves the guard display.
//
//	sentineld [-config FILE] [-data-dir DIR] [-log-level LEVEL]
//	sentineld -version
//
// The first SIGTERM (or Ctrl-C) drains: the lanes stop reading, the
// passages in progress finish and the journal closes, within 10 seconds.
// A second signal aborts at once, with the gate shut.
//
// The daemon is internal/terminal; this is only its main. The
// demonstration, a whole terminal with simulated devices and an embedded
// centre, is the command sentinel-demo: sentineld links neither.
//
// # Data directory
//
// Everything the terminal keeps lives under the data directory:
//
//	journal.db               the passage journal (sync/journal)
//	journal.db.wal, .wal2    its two write-ahead logs, written in turn
//	trust/root.pub           the pinned operator root (enrolment, sentinelctl)
//	device/key.pem, cert.pem the terminal's identity from enrolment (cert.pem
//	device/ca.pem            renewed by sync), and the CA of the centre's certificate
//	enrol-key.pem            the key pair of an enrolment not answered yet, so
//	                         that a retry after a lost answer is answered again
//	bundles/KIND.bundle      the signed bundles, KIND being trust, status-base,
//	                         status-delta, policy or config (written by sync)
//	bundles/status-delta/    the chain of status deltas since the base
//	bundles/state.json       what the sync download installed
//	lanes/...                each lane's device state, such as the
//	                         thermometer's calibration
//
// The configuration file is read at start only: restart sentineld after
// editing it. The site settings of the config bundle (language, time zone,
// guards, retention_days) take effect as the bundle arrives.
//
// sentineld reads the root and the bundles at start. The bundles that sync
// downloads reach it directly, before they are written: each replaces its
// own part (a status delta is applied to the list in memory), and one the
// terminal cannot use is refused and not written. Files that another
// process writes (enrolment, an installer) are found within 5 s: only the
// changed bundle is read again; a new root, or the clock becoming trusted,
// reads them all. Without a root or a trust bundle the terminal is not
// enrolled and refers every person to the guard.
//
// # Sync
//
// When the terminal is enrolled (device/cert.pem and key.pem) and the
// configuration names a central URL, sentineld uploads its journal (after
// every passage and every 30 s), downloads bundles and the centre's signed
// time (which the clock trusts), and renews the device certificate when a
// third of its lifetime remains (checked hourly). Offline is normal: the
// journal is the queue and the gate never waits for the centre. At drain,
// sync stops after the lanes and makes one last upload of at most 3 s.
//
// # Listeners
//
// The guard display (internal/ui) on 127.0.0.1:8080, and the management
// listener on 127.0.0.1:9108 with /healthz (503 while the journal cannot
// commit) and /metrics (Prometheus text format; sentinel_sync_* give the
// upload backlog and the last successful exchange with the centre;
// sentinel_verify_seconds, sentinel_decide_seconds,
// sentinel_journal_commit_seconds and sentinel_camera_decode_seconds are
// latency histograms; process_* and go_* describe the process itself).
package main

import (
	"context"
	"os"

	"sentinel/internal/terminal"
)

func main() {
	os.Exit(terminal.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
