package gate

import (
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/policy"
	"sentinel/internal/status"
)

// statusList looks credentials up in an internal/status list.
type statusList struct{ l *status.List }

// StatusList returns l as the pipeline's StatusLookup: the holder's entry
// (for native and pseudonymous holders alike) and, for an EU DCC, whether
// its certificate identifier is revoked.
func StatusList(l *status.List) StatusLookup { return statusList{l} }

// Lookup asks the list about c at now.
func (s statusList) Lookup(c *credential.Credential, now time.Time) policy.Status {
	var r policy.Status
	if c.Holder.Kind != credential.HolderUnknown {
		res := s.l.Lookup(c.Holder, c.IssuedAt, now)
		if res.Overridden {
			r = policy.Status{Overridden: true, Status: res.Status.String(), Effective: res.Effective, Until: res.Until, Reason: res.Reason}
		}
	}
	if c.Format == credential.FormatDCC && c.Revocation != "" && s.l.Revoked(c.Revocation) {
		r.Revoked = true
	}
	return r
}
