package policy

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"sentinel/crypto/credential"
	eudcc "sentinel/crypto/dcc"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// Engine decides passages with one compiled policy. It is safe for
// concurrent use.
type Engine struct {
	site      siteconfig.SiteType
	version   string
	rules     []rule
	def       rule
	chain     cel.Program
	residents map[string]struct{}
	adapter   types.Adapter
	settings  ref.Val      // settingsVar, converted once
	eu        *eudcc.Rules // the EU business rules of the policy bundle, or nil
	euCountry string       // whose acceptance rules apply
	// activations reuses finished decisions' variables, with their CEL
	// values bound to this engine's adapter; nil: no reuse.
	activations *sync.Pool
}

// Compile checks a policy bundle payload as the terminal would load it:
// its fields and that every rule compiles against the terminal's
// environment. The centre calls it before signing a policy bundle. A rule
// that does not compile gives an *Error naming its line, column and rule
// (several are joined with errors.Join).
func Compile(payload []byte) error {
	b, err := ParseBundle(payload)
	if err != nil {
		return err
	}
	env, err := NewEnv()
	if err != nil {
		return err
	}
	_, err = compileSource(env, b.Rules)
	return err
}

// New compiles the policy in b for a terminal at a site of type site. A nil
// b means the site type's default policy (DefaultBundle). A bundle for
// another type of site is refused with ErrSiteMismatch.
func New(b *Bundle, site siteconfig.SiteType) (*Engine, error) {
	if !site.Valid() {
		return nil, fmt.Errorf("new policy: unknown site type %q: want supermarket, pharmacy, intersection, compound or custom", site)
	}
	if b == nil {
		var err error
		if b, err = DefaultBundle(site); err != nil {
			return nil, err
		}
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	if b.Site != site {
		return nil, fmt.Errorf("%w: it is for a %s, this terminal stands at a %s", ErrSiteMismatch, b.Site, site)
	}
	env, err := NewEnv()
	if err != nil {
		return nil, err
	}
	c, err := compileSource(env, b.Rules)
	if err != nil {
		return nil, fmt.Errorf("new policy %q: %w", b.Version, err)
	}
	euRules, err := parseEURules(b.EUCountry, b.EURules)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		euCountry: b.EUCountry,
		site:      site, version: b.Version, rules: c.rules, def: c.def, chain: c.chain,
		residents: make(map[string]struct{}, len(b.Residents)),
		adapter:   env.CELTypeAdapter(),
		// The variables of a decision, about 1.4 KB with their CEL
		// values, were the largest garbage of a passage.
		activations: new(sync.Pool),
	}
	for _, id := range b.Residents {
		e.residents[id] = struct{}{}
	}
	if euRules != nil {
		e.eu = eudcc.NewRules(euRules)
	}
	e.settings = e.adapter.NativeToValue(&settingsVar{
		Fever:                  b.Fever.Celsius(),
		Yellow:                 string(b.Yellow),
		ThermometerUnavailable: string(b.ThermometerUnavailable),
		PaperAccepted:          b.PaperAccepted,
	})
	return e, nil
}

// Site returns the site type the engine decides for.
func (e *Engine) Site() siteconfig.SiteType { return e.site }

// Version returns the policy's version label ("default" for the built-in
// defaults).
func (e *Engine) Version() string { return e.version }

// Decide runs the rules in order on in; the first rule whose `when` holds
// decides, else the default. It never admits on an error: a rule that fails
// at run time refers with ReasonPolicyError.
func (e *Engine) Decide(in Input) Decision {
	var a *activation
	if e.activations != nil {
		a, _ = e.activations.Get().(*activation)
	}
	if a == nil {
		a = new(activation)
	}
	d := e.decideOn(a, &in)
	if d.Err == nil && e.activations != nil {
		// Nothing the decision holds points into a: its reasons are new
		// strings, its refusal a separate value. On an error the CEL
		// error might hold one of a's values, so a is left to the
		// collector then. Cleared first, the pool keeps no passage's
		// data (a holder's index, a name).
		a.clear()
		e.activations.Put(a)
	}
	return d
}

// decideOn is Decide with a, cleared, for the variables.
func (e *Engine) decideOn(a *activation, in *Input) Decision {
	colour := e.activation(a, in)
	out, _, err := e.chain.Eval(a)
	if err != nil {
		return e.failed(a, colour, err)
	}
	i, ok := out.(types.Int)
	switch {
	case !ok || i >= types.Int(len(e.rules)):
		return policyError("", colour, "when", fmt.Errorf("the rules gave %v", out))
	case i < 0:
		return e.decide(&e.def, a, colour)
	}
	return e.decide(&e.rules[i], a, colour)
}

// failed finds, when the chain of when expressions failed, the rule that
// failed by evaluating them one by one, as the chain does, and adding up
// their cost.
func (e *Engine) failed(a *activation, colour credential.Colour, chainErr error) Decision {
	var total uint64
	for i := range e.rules {
		r := &e.rules[i]
		out, det, err := r.when.Eval(a)
		if err != nil {
			return policyError(r.name, colour, "when", err)
		}
		if det != nil && det.ActualCost() != nil {
			if total += *det.ActualCost(); total > CostLimit {
				return policyError(r.name, colour, "when", fmt.Errorf("the rules up to this one exceed the cost limit of %d", CostLimit))
			}
		}
		if b, ok := out.(types.Bool); !ok || bool(b) {
			break
		}
	}
	return policyError("", colour, "when", chainErr)
}

// decide builds the decision of rule r. A refusal for a failed EU
// business rule names the rule.
func (e *Engine) decide(r *rule, a *activation, colour credential.Colour) Decision {
	d := e.decideRule(r, a, colour)
	if a.euRefusal != nil && len(d.Reasons) > 0 && d.Reasons[0] == ReasonBusinessRule {
		d.Refusal = a.euRefusal
	}
	return d
}

// decideRule builds the decision of rule r.
func (e *Engine) decideRule(r *rule, a *activation, colour credential.Colour) Decision {
	d := Decision{Verdict: r.verdict, Reasons: slices.Clone(r.reasons), Rule: r.name, Colour: colour}
	if r.colour >= 0 {
		d.Colour = credential.Colour(r.colour)
	}

	if r.verdX != nil {
		out, _, err := r.verdX.Eval(a)
		if err != nil {
			return policyError(r.name, d.Colour, "verdict", err)
		}
		s, ok := out.(types.String)
		if !ok || !passage.Verdict(s).Valid() {
			return policyError(r.name, d.Colour, "verdict", fmt.Errorf("%v is not admit, deny or refer", out))
		}
		d.Verdict = passage.Verdict(s)
	}
	if r.reasX != nil {
		out, _, err := r.reasX.Eval(a)
		if err != nil {
			return policyError(r.name, d.Colour, "reasons", err)
		}
		v, err := out.ConvertToNative(reflectStrings)
		if err != nil {
			return policyError(r.name, d.Colour, "reasons", err)
		}
		d.Reasons = v.([]string)
		if len(d.Reasons) > maxReasons {
			return policyError(r.name, d.Colour, "reasons", fmt.Errorf("%d reason codes, at most %d", len(d.Reasons), maxReasons))
		}
		if i := slices.IndexFunc(d.Reasons, func(c string) bool { return !validCode(c) }); i >= 0 {
			return policyError(r.name, d.Colour, "reasons", fmt.Errorf("%q is not a reason code (lowercase letters, digits, - _ . :)", d.Reasons[i]))
		}
	}
	return d
}

// policyError is the decision when a rule fails at run time.
func policyError(rule string, colour credential.Colour, clause string, err error) Decision {
	return Decision{
		Verdict: passage.Refer, Reasons: []string{ReasonPolicyError}, Rule: rule, Colour: colour,
		Err: fmt.Errorf("policy rule %s (%s): %w", rule, clause, err),
	}
}

// Resident reports whether holder ("ISSUER:INDEX" or "p:HEX") is on the
// site's access list (rules see it as resident).
func (e *Engine) Resident(holder string) bool {
	_, ok := e.residents[holder]
	return ok
}

// activation converts in to the variables rules see, in a (cleared), and
// returns the colour the display shows unless a rule names one.
func (e *Engine) activation(a *activation, in *Input) credential.Colour {
	var issuedAt time.Time
	code := credential.ColourNone
	resident := false
	if c := in.Credential; c != nil {
		issuedAt, code = c.IssuedAt, c.Colour
		holder := c.Holder.String()
		_, resident = e.residents[holder]
		a.cred = credentialVar{
			Format: string(c.Format), Issuer: c.Issuer, Holder: holder,
			Colour: colourName(c.Colour), ColourSince: c.ColourSince,
			IssuedAt: c.IssuedAt, Expires: c.Expires, Paper: c.Paper, Rolling: c.Rolling,
		}
		if f := c.Facts; f != nil {
			a.cred.Facts = factsVar{
				Kind: f.Kind, Disease: f.Disease, Product: f.Product, Dose: f.Dose,
				TotalDoses: f.TotalDoses, Date: f.Date, TestResult: f.TestResult,
				ValidFrom: f.ValidFrom, ValidUntil: f.ValidUntil, Count: f.Count,
			}
		}
	} else {
		a.cred.Colour = "none"
	}

	// The status list overrides the code only with an entry newer than the
	// code that has not lapsed.
	s := in.Status
	overrides := s.Overridden &&
		(issuedAt.IsZero() || s.Effective.IsZero() || s.Effective.After(issuedAt)) &&
		(s.Until.IsZero() || in.Now.Before(s.Until))
	a.status = statusVar{
		Overridden: overrides, Status: s.Status, Effective: s.Effective, Until: s.Until,
		Reason: int(s.Reason), Revoked: s.Revoked,
	}
	colour, colourVar := code, colourName(code)
	if overrides {
		colourVar = s.Status
		colour = credential.ColourNone
		if c, err := credential.ParseColour(s.Status); err == nil {
			colour = c
		}
	}

	t := in.Temperature
	a.temp = temperatureVar{Available: t.Available(), State: string(t.State), Confidence: t.Confidence, Fault: t.Fault}
	if a.temp.Available {
		a.temp.Celsius = t.Value.Celsius()
	}
	if a.temp.State == "" {
		a.temp.State = string(passage.TempNotTaken)
	}
	a.clock.Trusted = in.ClockTrusted
	a.bundles = bundlesVar{
		Trust:       freshness(in.Bundles, trust.KindTrust),
		StatusBase:  freshness(in.Bundles, trust.KindStatusBase),
		StatusDelta: freshness(in.Bundles, trust.KindStatusDelta),
		Policy:      freshness(in.Bundles, trust.KindPolicy),
		Config:      freshness(in.Bundles, trust.KindConfig),
	}
	a.site = siteVar{Type: string(e.site), ID: in.SiteID}
	a.eu, a.euRefusal = e.euRules(in.Credential, in.Now)

	if a.vars[varCredential] == nil {
		a.bind(e.adapter)
	}
	a.vars[varRefusal] = types.String(in.Rejection)
	a.vars[varColour] = types.String(colourVar)
	a.vars[varSettings] = e.settings
	a.vars[varEnrolled] = types.Bool(in.Enrolled)
	a.vars[varResident] = types.Bool(resident)
	a.vars[varNow] = types.Timestamp{Time: in.Now}
	return colour
}

// bind makes the CEL values of a's struct variables. They read the
// structs through pointers when a rule reads a field, so they stay bound
// while a is reused: clear keeps them.
func (a *activation) bind(ad types.Adapter) {
	a.vars[varCredential] = ad.NativeToValue(&a.cred)
	a.vars[varStatus] = ad.NativeToValue(&a.status)
	a.vars[varTemperature] = ad.NativeToValue(&a.temp)
	a.vars[varClock] = ad.NativeToValue(&a.clock)
	a.vars[varBundles] = ad.NativeToValue(&a.bundles)
	a.vars[varSite] = ad.NativeToValue(&a.site)
	a.vars[varEURules] = ad.NativeToValue(&a.eu)
}

// clear empties a for the next passage, keeping the struct variables'
// bound CEL values.
func (a *activation) clear() {
	vars := a.vars
	*a = activation{}
	for _, i := range []int{varCredential, varStatus, varTemperature, varClock, varBundles, varSite, varEURules} {
		a.vars[i] = vars[i]
	}
}

// reflectStrings is the Go type a reasons expression converts to.
var reflectStrings = reflect.TypeFor[[]string]()
