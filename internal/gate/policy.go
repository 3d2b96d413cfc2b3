package gate

import (
	"sentinel/internal/policy"
)

// enginePolicy runs an internal/policy engine as the pipeline's Policy.
type enginePolicy struct {
	e       *policy.Engine
	version uint64
	siteID  string
}

// PolicyEngine returns e as the pipeline's Policy. version is the version
// of the policy bundle e was compiled from (0 for the site type's built-in
// default), recorded with every passage; siteID is what the rules see as
// site.id.
func PolicyEngine(e *policy.Engine, version uint64, siteID string) Policy {
	return enginePolicy{e: e, version: version, siteID: siteID}
}

// Decide hands the pipeline's input to the engine.
func (p enginePolicy) Decide(in *Input) Decision {
	d := p.e.Decide(policy.Input{
		Credential:   in.Credential,
		Rejection:    in.Rejection,
		Status:       in.Status,
		Temperature:  in.Temperature,
		ClockTrusted: in.ClockTrusted,
		Bundles:      in.Bundles,
		Enrolled:     in.Enrolled,
		SiteID:       p.siteID,
		Now:          in.Now,
	})
	return Decision{Verdict: d.Verdict, Reasons: d.Reasons, Colour: d.Colour, PolicyVersion: p.version, Refusal: d.Refusal,
		Resident: in.Credential != nil && p.e.Resident(in.Credential.Holder.String())}
}
