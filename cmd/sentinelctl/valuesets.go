package main

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
)

// The terminal's trust bundle and pinned root under its data directory
// (as sentineld keeps them).
const (
	terminalRootFile  = "trust/root.pub"
	terminalTrustFile = "bundles/trust.bundle"
)

// checkValueSets says whether the terminal's trust bundle carries the EU
// value sets, without which the codes of EU certificates are not checked.
// It is a line below the selftest's table: the terminal works without
// them, but the installer and ops must know.
func checkValueSets(dataDir string, now time.Time) checkResult {
	r := checkResult{Lane: "-", Device: "value sets", What: filepath.Join(dataDir, terminalTrustFile)}
	root, data, why := readTerminalBundle(dataDir, r.What, "trust bundle",
		"the EU value sets come with the centre's trust bundle",
		"the EU value sets come with it at the next sync")
	if why != "" {
		return r.skip(why)
	}
	store, info, err := trust.LoadTrustBundle(data, root, now, trust.State{})
	if err != nil {
		return r.skip(fmt.Sprintf("the trust bundle is refused (%v): nothing is checked until a valid one arrives", err))
	}
	vs := store.ValueSets()
	if vs.Len() == 0 {
		return r.skip(fmt.Sprintf("none in trust bundle version %d: the codes of EU certificates are NOT checked against the EU value sets; "+
			"ask ops to publish them (sentinel-central bundles publish valuesets DIR)", info.Version))
	}
	return r.ok(fmt.Sprintf("trust bundle version %d: %s", info.Version, vs.Summary()))
}

// readTerminalBundle reads the terminal's pinned root and the bundle file
// path (named name in messages) for a selftest line. It returns why the
// line is skipped instead when either is missing or unreadable: notEnrolled
// and missing end the messages for a terminal not enrolled yet and for a
// bundle not received yet.
func readTerminalBundle(dataDir, path, name, notEnrolled, missing string) (root crypto.PublicKey, data []byte, why string) {
	rootData, err := os.ReadFile(filepath.Join(dataDir, terminalRootFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "not enrolled yet: " + notEnrolled
	}
	if err != nil {
		return nil, nil, fmt.Sprintf("cannot read the pinned root: %v", err)
	}
	if root, err = trust.ParsePublicKey(rootData); err != nil {
		return nil, nil, fmt.Sprintf("pinned root: %v", err)
	}
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "no " + name + " yet: " + missing
	}
	if err != nil {
		return nil, nil, fmt.Sprintf("cannot read the %s: %v", name, err)
	}
	return root, data, ""
}

// loadValueSetsDir reads --valuesets DIR for verify and says what it
// loaded on stderr.
func loadValueSetsDir(dir string, stderr io.Writer) (*valueset.Sets, error) {
	vs, skipped, err := valueset.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--valuesets: %w", err)
	}
	fmt.Fprintf(stderr, "value sets %s: %s\n", dir, vs.Summary())
	for _, s := range skipped {
		fmt.Fprintf(stderr, "value sets %s: skipped %s: %s\n", dir, s.File, s.Why)
	}
	return vs, nil
}
