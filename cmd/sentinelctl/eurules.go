package main

import (
	"fmt"
	"path/filepath"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/policy"
)

// terminalPolicyFile is the terminal's policy bundle under its data
// directory (as sentineld keeps it).
const terminalPolicyFile = "bundles/policy.bundle"

// checkEURules says which EU business rules the terminal's policy bundle
// holds EU DCCs to: the country, how many rules and how many are valid
// now. Like the value sets, a line below the selftest's table: the
// terminal works without them, but the installer and ops must know.
func checkEURules(dataDir string, now time.Time) checkResult {
	r := checkResult{Lane: "-", Device: "EU business rules", What: filepath.Join(dataDir, terminalPolicyFile)}
	root, data, why := readTerminalBundle(dataDir, r.What, "policy bundle",
		"the EU business rules come with the centre's policy bundle",
		"the site's rules, and any EU business rules, come with it at the next sync")
	if why != "" {
		return r.skip(why)
	}
	b, _, err := trust.OpenBundle(data, root, now, trust.State{})
	if err == nil && b.Kind != trust.KindPolicy {
		err = fmt.Errorf("%w: got %s", trust.ErrWrongKind, b.Kind)
	}
	if err != nil {
		return r.skip(fmt.Sprintf("the policy bundle is refused (%v): the terminal keeps the rules it had", err))
	}
	pb, err := policy.ParseBundle(b.Payload)
	if err != nil {
		return r.skip(fmt.Sprintf("policy bundle version %d does not parse (%v): ask ops to publish it again", b.Version, err))
	}
	s, err := pb.EURulesSummary()
	if err != nil {
		return r.skip(fmt.Sprintf("policy bundle version %d: its EU business rules do not parse (%v): ask ops to publish them again", b.Version, err))
	}
	if s.Len() == 0 {
		return r.ok(fmt.Sprintf("none in policy bundle version %d: EU certificates are not held to any country's business rules", b.Version))
	}
	valid := s.ValidAt(now)
	detail := fmt.Sprintf("policy bundle version %d: the acceptance rules of %s, %d rules, %d valid now", b.Version, s.Country, s.Len(), valid)
	if valid == 0 {
		detail += ": none applies today, so EU certificates pass every rule; ask ops for current rules"
	}
	return r.ok(detail)
}
