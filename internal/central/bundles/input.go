package bundles

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// Input is a file that ops give to `sentinel-central bundles publish`.
//
// What each kind takes:
//
//   - trust: a signed trust bundle as `sentinel-central trust build` writes
//     it (opened under the operator root; its payload is re-signed as the
//     repository's next version), or a trust payload.
//   - policy: a policy source file (the format of
//     internal/policy/defaults/*.policy, see docs/policy.md) with the
//     settings in Policy, or a policy payload, or a signed policy bundle.
//   - config: a site settings file in TOML (siteconfig.ParseTOML,
//     `sentinel-central config example`), or a config payload, or a signed
//     config bundle.
type Input struct {
	// Name names the file in messages ("site.toml:7:1: …").
	Name string
	// Data is the file's content.
	Data []byte
	// Policy completes a policy source file; ignored otherwise.
	Policy PolicyOptions
}

// PolicyOptions are the parts of a policy bundle that a policy source file
// does not hold. Zero fields take the site type's defaults
// (policy.DefaultBundle).
type PolicyOptions struct {
	// Site is the type of site the policy is for. Empty: the site type of
	// the published config bundle.
	Site siteconfig.SiteType
	// Label is the policy's version label for ops and the journal
	// ("2026-12-07.1"); empty: the file's name and the publish time.
	Label string
	// Fever is the fever threshold (settings.fever); 0 for the default.
	Fever physic.Temperature
	// Yellow, ThermometerUnavailable: "" for the default.
	Yellow, ThermometerUnavailable passage.Verdict
	// PaperAccepted: nil for the default.
	PaperAccepted *bool
	// Residents is the compound's access list: holder ids such as ZJ:42
	// or p:HEX.
	Residents []string
	// EUCountry and EURules are the EU business rules the site enforces
	// on EU DCCs: the country whose acceptance rules apply and the rules
	// in the EU format; empty for none (policy.Bundle).
	EUCountry string
	EURules   []json.RawMessage
}

// Prepared is the payload made from an Input, with what it was made from.
type Prepared struct {
	Payload []byte
	// From says what the file was: "a signed trust bundle (version 7)",
	// "a policy source file", "a site settings file", "a payload".
	From string
	// Notes are things ops should know before the terminals get it.
	Notes []string
}

// InputError is a file that Prepare refuses. It wraps ErrPayload and the
// cause.
type InputError struct {
	Name string // the file
	Msg  string // what is wrong and what to change; may hold more lines
	Err  error  // the cause, or nil
}

// Error implements error.
func (e *InputError) Error() string { return e.Name + ": " + e.Msg }

// Unwrap gives ErrPayload and the cause.
func (e *InputError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrPayload}
	}
	return []error{ErrPayload, e.Err}
}

func refuse(name string, cause error, format string, args ...any) error {
	return &InputError{Name: name, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Prepare turns what ops give for kind into the payload Publish signs,
// checking it as a terminal would load it. Errors name the file, and
// where the file is text, the line and column, and say what to change.
// Nothing is published.
func (r *Repo) Prepare(kind trust.Kind, in Input) (*Prepared, error) {
	if trust.IsBundle(in.Data) {
		return r.prepareBundle(kind, in)
	}
	switch kind {
	case trust.KindTrust:
		if utf8.Valid(in.Data) {
			return nil, refuse(in.Name, trust.ErrNotBundle, "a text file, not a trust bundle: publish trust takes the file that `sentinel-central trust build` writes; nothing was published")
		}
		if _, err := trust.ParseTrustContent(in.Data); err != nil {
			return nil, refuse(in.Name, err, "neither a trust bundle as `sentinel-central trust build` writes it nor a trust payload (%v): nothing was published", err)
		}
		return noteTrust(&Prepared{Payload: in.Data, From: "a trust payload"}), nil
	case trust.KindPolicy:
		if utf8.Valid(in.Data) {
			return r.preparePolicySource(in)
		}
		if _, err := policy.ParseBundle(in.Data); err != nil {
			return nil, refuse(in.Name, err, "neither a policy source file (text, as internal/policy/defaults/supermarket.policy) nor a policy payload (%v): nothing was published", err)
		}
		if err := policy.Compile(in.Data); err != nil {
			return nil, refuse(in.Name, err, "the policy payload does not compile for the terminals, nothing was published: %v", err)
		}
		return r.checkPolicySite(in.Name, &Prepared{Payload: in.Data, From: "a policy payload"})
	case trust.KindConfig:
		if utf8.Valid(in.Data) {
			s, err := siteconfig.ParseTOML(in.Name, in.Data)
			if err != nil {
				return nil, refuse(in.Name, err, "the site settings are not valid, nothing was published:\n%v", err)
			}
			p, err := siteconfig.Marshal(s)
			if err != nil {
				return nil, refuse(in.Name, err, "%v", err)
			}
			return r.noteConfigSite(&Prepared{Payload: p, From: "a site settings file"}, s.Type)
		}
		s, err := siteconfig.Parse(in.Data)
		if err != nil {
			return nil, refuse(in.Name, err, "neither a site settings file (TOML text: start from `sentinel-central config example`) nor a config payload (%v): nothing was published", err)
		}
		return r.noteConfigSite(&Prepared{Payload: in.Data, From: "a config payload"}, s.Type)
	}
	if err := Check(kind, in.Data); err != nil {
		return nil, refuse(in.Name, err, "%v", err)
	}
	return &Prepared{Payload: in.Data, From: "a payload"}, nil
}

// prepareBundle takes the payload out of a signed bundle of kind, after
// checking that it comes from this deployment's root.
func (r *Repo) prepareBundle(kind trust.Kind, in Input) (*Prepared, error) {
	if r.opts.Root == nil {
		return nil, errors.New("bundles: prepare: the operator root's public key is required to open a signed bundle")
	}
	now := r.opts.Now()
	b, _, err := trust.OpenBundle(in.Data, r.opts.Root, now, trust.State{})
	if err != nil {
		return nil, refuse(in.Name, err, "a signed bundle that does not open under the operator root given with --root-pub (%v): nothing was published", err)
	}
	if b.Kind != kind {
		return nil, refuse(in.Name, trust.ErrWrongKind, "a signed %s bundle, not a %s bundle: publish it with `bundles publish %s`", b.Kind, kind, b.Kind)
	}
	p := &Prepared{Payload: b.Payload, From: fmt.Sprintf("a signed %s bundle (version %d)", kind, b.Version)}
	p.Notes = append(p.Notes, fmt.Sprintf("its content is signed again as the next %s version; its own version %d and times are not kept", kind, b.Version))
	if err := Check(kind, b.Payload); err != nil {
		return nil, refuse(in.Name, err, "%v", err)
	}
	switch kind {
	case trust.KindPolicy:
		return r.checkPolicySite(in.Name, p)
	case trust.KindConfig:
		s, err := siteconfig.Parse(b.Payload)
		if err != nil {
			return nil, refuse(in.Name, err, "%v", err)
		}
		return r.noteConfigSite(p, s.Type)
	case trust.KindTrust:
		return noteTrust(p), nil
	}
	return p, nil
}

// noteTrust notes what a trust bundle lacks that a deployment needs.
func noteTrust(p *Prepared) *Prepared {
	c, err := trust.ParseTrustContent(p.Payload)
	if err != nil {
		return p
	}
	if c.HPKE == nil {
		p.Notes = append(p.Notes, "it carries no centre HPKE key (trust build --hpke-pub): terminals then seal holders and temperatures to no one, and the centre cannot say who passed")
	}
	if c.PseudonymKey == nil {
		p.Notes = append(p.Notes, "it carries no pseudonym key (trust build --pseudonym-key): EU DCC and SMART Health Card holders get no pseudonym, so their status cannot be changed or traced")
	}
	if len(c.DSCs) > 0 && len(c.ValueSets) == 0 {
		p.Notes = append(p.Notes, "it carries no EU value sets (trust build --valuesets DIR, or bundles publish valuesets DIR afterwards): terminals do not check the codes of EU certificates against the EU's lists")
	}
	if len(c.Native) == 0 && len(c.DSCs) == 0 && len(c.SHC) == 0 {
		p.Notes = append(p.Notes, "it trusts no issuer key, document signer or SMART Health Card issuer: terminals refuse every code")
	}
	return p
}

// preparePolicySource compiles a policy source file into a policy payload.
func (r *Repo) preparePolicySource(in Input) (*Prepared, error) {
	o := in.Policy
	site, from := o.Site, "--site-type"
	if site == "" {
		cfg, ok, err := r.configSite()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refuse(in.Name, nil, "say which type of site the policy is for with --site-type supermarket|pharmacy|intersection|compound|custom, or publish the config bundle first (the policy then takes its site_type): nothing was published")
		}
		site, from = cfg, "the published config bundle's site_type"
	}
	b, err := policy.DefaultBundle(site)
	if err != nil {
		return nil, refuse(in.Name, err, "%s %q is not a site type: want supermarket, pharmacy, intersection, compound or custom", from, site)
	}
	// A byte order mark, as some Windows editors write, is not policy.
	b.Rules = strings.TrimPrefix(string(in.Data), "\ufeff")
	b.Version = o.Label
	if b.Version == "" {
		b.Version = policyLabel(in.Name, r.opts.Now())
	}
	if o.Fever != 0 {
		b.Fever = o.Fever
	}
	if o.Yellow != "" {
		b.Yellow = o.Yellow
	}
	if o.ThermometerUnavailable != "" {
		b.ThermometerUnavailable = o.ThermometerUnavailable
	}
	if o.PaperAccepted != nil {
		b.PaperAccepted = *o.PaperAccepted
	}
	b.Residents = o.Residents
	b.EUCountry, b.EURules = o.EUCountry, o.EURules
	payload, err := b.Marshal()
	if err != nil {
		return nil, refuse(in.Name, err, "%s: nothing was published", policyFieldWords(err))
	}
	if err := policy.Compile(payload); err != nil {
		return nil, refuse(in.Name, err, "the policy does not compile for the terminals, nothing was published:\n%v", locatePolicy(in.Name, err))
	}
	p := &Prepared{Payload: payload, From: "a policy source file"}
	p.Notes = append(p.Notes, fmt.Sprintf("policy %q for a %s: fever %.1f °C, yellow %s, thermometer unavailable %s, paper codes %s, %d residents",
		b.Version, b.Site, b.Fever.Celsius(), b.Yellow, b.ThermometerUnavailable, acceptedWords(b.PaperAccepted), len(b.Residents)))
	if b.EUCountry != "" {
		p.Notes = append(p.Notes, fmt.Sprintf("EU business rules: %d rules; EU DCCs must pass the acceptance rules of %s and their issuer's invalidation rules", len(b.EURules), b.EUCountry))
	}
	return r.checkPolicySite(in.Name, p)
}

// checkPolicySite refuses a policy for another type of site than the
// published config bundle's: every terminal would refuse it.
func (r *Repo) checkPolicySite(name string, p *Prepared) (*Prepared, error) {
	pb, err := policy.ParseBundle(p.Payload)
	if err != nil {
		return nil, refuse(name, err, "%v", err)
	}
	cfg, ok, err := r.configSite()
	if err != nil {
		return nil, err
	}
	if ok && string(cfg) != string(pb.Site) {
		return nil, refuse(name, policy.ErrSiteMismatch, "the policy is for a %s, but the published config bundle says site_type = %q, and terminals refuse a policy for another type of site: publish it with --site-type %s, or publish site settings for a %s first; nothing was published",
			pb.Site, cfg, cfg, pb.Site)
	}
	if !ok {
		p.Notes = append(p.Notes, fmt.Sprintf("no config bundle is published: terminals run this policy only once their site settings say site_type = %q", pb.Site))
	}
	return p, nil
}

// noteConfigSite notes when the published policy is for another type of
// site than the new settings: terminals then run their type's default
// rules until a policy for it is published.
func (r *Repo) noteConfigSite(p *Prepared, site siteconfig.SiteType) (*Prepared, error) {
	r.mu.Lock()
	e, ok := r.idx.Kinds[trust.KindPolicy]
	var data []byte
	if ok {
		data = r.files[fileName(e)]
	}
	r.mu.Unlock()
	if !ok {
		return p, nil
	}
	b, err := r.openPublished(e, data)
	if err != nil {
		return p, nil
	}
	if pb, err := policy.ParseBundle(b.Payload); err == nil && string(pb.Site) != string(site) {
		p.Notes = append(p.Notes, fmt.Sprintf("the published policy (version %d) is for a %s: terminals run the default %s rules until you publish a policy for a %s",
			e.Version, pb.Site, site, site))
	}
	return p, nil
}

// configSite returns the site type of the published config bundle.
func (r *Repo) configSite() (siteconfig.SiteType, bool, error) {
	r.mu.Lock()
	e, ok := r.idx.Kinds[trust.KindConfig]
	var data []byte
	if ok {
		data = r.files[fileName(e)]
	}
	r.mu.Unlock()
	if !ok {
		return "", false, nil
	}
	b, err := r.openPublished(e, data)
	if err != nil {
		return "", false, fmt.Errorf("%w: the published config bundle: %v", ErrIndex, err)
	}
	s, err := siteconfig.Parse(b.Payload)
	if err != nil {
		return "", false, fmt.Errorf("%w: the published config bundle: %v", ErrIndex, err)
	}
	return s.Type, true, nil
}

// openPublished opens a published bundle as of its issue time, when its
// delegation was valid: only its payload is wanted.
func (r *Repo) openPublished(e Entry, data []byte) (*trust.Bundle, error) {
	if r.opts.Root == nil {
		return nil, errors.New("the operator root's public key is required")
	}
	b, _, err := trust.OpenBundle(data, r.opts.Root, e.IssuedAt, trust.State{})
	return b, err
}

// policyLabel is the version label of a policy published from the file
// name at now: "supermarket.policy 2026-12-07T10:04Z".
func policyLabel(name string, now time.Time) string {
	base := filepath.Base(name)
	stamp := now.UTC().Format("2006-01-02T15:04Z")
	if max := 64 - len(stamp) - 1; len(base) > max {
		base = strings.ToValidUTF8(base[:max], "")
	}
	return base + " " + stamp
}

// locatePolicy rewrites the compiler's "policy line L, column C, …" as
// "FILE:L:C: …", one error a line.
func locatePolicy(name string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		var pe *policy.Error
		if !errors.As(e, &pe) {
			lines = append(lines, name+": "+e.Error())
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s:%d", name, pe.Line)
		if pe.Column > 0 {
			fmt.Fprintf(&b, ":%d", pe.Column)
		}
		b.WriteString(": ")
		if pe.Rule != "" {
			b.WriteString("rule " + pe.Rule)
			if pe.Clause != "" {
				b.WriteString(" (" + pe.Clause + ")")
			}
			b.WriteString(": ")
		}
		b.WriteString(pe.Msg)
		lines = append(lines, b.String())
	}
	return &located{msg: strings.Join(lines, "\n"), err: err}
}

type located struct {
	msg string
	err error
}

func (l *located) Error() string { return l.msg }
func (l *located) Unwrap() error { return l.err }

// policyFieldWords names the flag that sets a policy bundle field.
func policyFieldWords(err error) string {
	msg := strings.TrimPrefix(err.Error(), policy.ErrBundle.Error()+": ")
	for field, flag := range map[string]string{
		"fever": "--fever", "yellow": "--yellow", "thermometer_unavailable": "--thermometer-unavailable",
		"version": "--label", "residents": "--residents", "rules": "the policy source",
		"eu_country": "--eu-country", "eu_rules": "--eu-rules",
	} {
		if strings.HasPrefix(msg, field+":") || strings.HasPrefix(msg, field+"[") {
			return fmt.Sprintf("%s (set with %s)", msg, flag)
		}
	}
	return msg
}

func acceptedWords(b bool) string {
	if b {
		return "accepted"
	}
	return "refused"
}

// PrepareValueSets makes the next trust payload from the published trust
// bundle's content with the EU value sets vs in place of the ones it
// carries: the value sets travel in the trust bundle, and ops update them
// without rebuilding the rest. name names the directory in messages. With
// no trust bundle published, there is nothing to add them to.
func (r *Repo) PrepareValueSets(name string, vs *valueset.Sets) (*Prepared, error) {
	if vs.Len() == 0 {
		return nil, refuse(name, nil, "no value sets to publish")
	}
	r.mu.Lock()
	e, ok := r.idx.Kinds[trust.KindTrust]
	var data []byte
	if ok {
		data = r.files[fileName(e)]
	}
	r.mu.Unlock()
	if !ok {
		return nil, refuse(name, nil, "no trust bundle is published yet: the value sets travel in it. Publish one first "+
			"(sentinel-central trust build ... --valuesets %s, then bundles publish trust FILE); nothing was published", name)
	}
	b, err := r.openPublished(e, data)
	if err != nil {
		return nil, fmt.Errorf("%w: the published trust bundle: %v", ErrIndex, err)
	}
	c, err := trust.ParseTrustContent(b.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: the published trust bundle: %v", ErrIndex, err)
	}
	had := len(c.ValueSets)
	c.ValueSets = trust.ValueSetEntries(vs)
	payload, err := trust.MarshalTrustContent(c)
	if err != nil {
		return nil, refuse(name, err, "%v", err)
	}
	p := &Prepared{Payload: payload, From: fmt.Sprintf("a directory of %d value sets, added to the published trust bundle version %d", vs.Len(), e.Version)}
	p.Notes = append(p.Notes, fmt.Sprintf("the value sets replace the %d of trust version %d; its keys and certificates are kept", had, e.Version))
	for _, s := range vs.All() {
		if s.Example {
			p.Notes = append(p.Notes, fmt.Sprintf("%s (%s) is only an example of the real list: terminals report a code it lacks instead of refusing it; publish the EU's full list to check it", s.ID, s.Date))
		}
	}
	if m := vs.Missing(); len(m) > 0 {
		p.Notes = append(p.Notes, "not given, so not checked by the terminals: "+strings.Join(m, ", "))
	}
	return p, nil
}
