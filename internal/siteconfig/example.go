package siteconfig

import (
	"fmt"
	"strings"
)

// siteNotes say, per site type, what the type changes.
var siteNotes = map[SiteType]string{
	Supermarket:  "A supermarket: green codes pass, yellow and red are refused, a fever is\n# referred to the guard for a retake.",
	Pharmacy:     "A pharmacy: like a supermarket, but yellow codes are referred to the\n# guard (people with a yellow code may still need their medicine).",
	Intersection: "A road checkpoint (intersection): the same rules as a supermarket.",
	Compound:     "A residential compound: only residents on the site's access list pass;\n# visitors are referred to the guard. The access list travels in the\n# policy bundle (bundles publish policy --residents FILE).",
	Custom:       "A custom site: the supermarket's rules until you publish the site's\n# own policy bundle.",
}

// Example returns a commented site settings file for a site of type t,
// with the defaults filled in, for ops to start from. It parses with
// ParseTOML once a guard block is filled in or left commented out.
func Example(t SiteType) ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("example site settings: %q is not a site type: want supermarket, pharmacy, intersection, compound or custom", t)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Site settings of a Sentinel terminal: the config bundle.
#
# Edit this file, then sign and publish it for the terminals with
#   sentinel-central bundles publish config FILE --key SIGNER.key \
#       --delegation SIGNER.delegation --root-pub ROOT.pub
# Every key is checked before anything is signed: an unknown key, a typo or
# a value out of range is refused with its line.
#
# The admission thresholds (fever, what a yellow code gets, paper codes, a
# faulty thermometer) are not set here: they travel with the rules in the
# policy bundle (sentinel-central bundles publish policy -h).

# %s
# One of supermarket, pharmacy, intersection, compound, custom. It picks the
# rules a terminal runs before it has a policy bundle, and a policy bundle
# must be for the same type of site.
site_type = %q

# Days a passage stays on the terminal after the centre has acknowledged it
# (1 to %d).
retention_days = %d

# The language of the guard display: "zh" (Chinese) or "en" (English).
language = %q

# The site's time zone (an IANA name such as "Asia/Shanghai" or
# "Europe/Berlin"), for the display's clock and the day's counters.
time_zone = %q

# The guards who may override a verdict on the display with their PIN. One
# [[guard]] block per guard. Make each PIN's hash with
#   sentinel-central config pin --guard guard-01
# (it asks for the PIN, which needs 6 to 12 digits) and paste the block it
# prints here. Never write a PIN itself in this file. Without any guard the
# terminal takes no override: the guard uses the manual procedure.
#
# [[guard]]
# id = "guard-01"
# pin_hash = "pbkdf2-sha256$200000$..."
`, siteNotes[t], t, MaxRetention, DefaultRetentionDays, DefaultLanguage, DefaultTimeZone)
	return []byte(b.String()), nil
}
