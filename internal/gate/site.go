package gate

import "sentinel/internal/siteconfig"

// The site settings come from the config bundle; their schema lives in
// internal/siteconfig, which the centre and the ops command line share.
// These are the gate's names for it.
type (
	// SiteType is the kind of site a terminal stands at.
	SiteType = siteconfig.SiteType
	// SiteSettings are the settings that ops manage for a site.
	SiteSettings = siteconfig.SiteSettings
	// Guard is a guard who may override a verdict, with their PIN hash.
	Guard = siteconfig.Guard
)

// Site types.
const (
	Supermarket  = siteconfig.Supermarket
	Pharmacy     = siteconfig.Pharmacy
	Intersection = siteconfig.Intersection
	Compound     = siteconfig.Compound
	Custom       = siteconfig.Custom
)

// minPINIterations is the smallest work factor of a PIN hash.
const minPINIterations = siteconfig.MinPINIterations

// DefaultSiteSettings returns the settings a site of type t has before ops
// send any.
func DefaultSiteSettings(t SiteType) *SiteSettings { return siteconfig.Default(t) }

// HashPIN hashes a guard's PIN for the site settings (siteconfig.HashPIN).
func HashPIN(pin string, iterations int) (string, error) { return siteconfig.HashPIN(pin, iterations) }

// MarshalSiteSettings encodes s as a config bundle payload
// (siteconfig.Marshal).
func MarshalSiteSettings(s *SiteSettings) ([]byte, error) { return siteconfig.Marshal(s) }

// ParseSiteSettings decodes and checks a config bundle payload
// (siteconfig.Parse).
func ParseSiteSettings(payload []byte) (*SiteSettings, error) { return siteconfig.Parse(payload) }
