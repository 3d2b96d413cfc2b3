package policy

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// The variables rules see are these Go structs, exposed to CEL as native
// object types with declared fields, so that a misspelt field is a compile
// error at the centre rather than a policy error at the gate. Their CEL
// names are the cel tags; docs/policy.md lists them.

// credentialVar is the verified credential; every field is zero when the
// code was refused (refusal is then not "").
type credentialVar struct {
	Format      string    `cel:"format"`       // "native", "eu-dcc", "shc" or ""
	Issuer      string    `cel:"issuer"`       // region id, DCC country or SHC issuer URL
	Holder      string    `cel:"holder"`       // "ISSUER:INDEX" or "p:HEX", never a name
	Colour      string    `cel:"colour"`       // the code's colour: green, yellow, red or none
	ColourSince time.Time `cel:"colour_since"` // native codes
	IssuedAt    time.Time `cel:"issued_at"`
	Expires     time.Time `cel:"expires"`
	Paper       bool      `cel:"paper"`   // a native paper code
	Rolling     bool      `cel:"rolling"` // a native rolling (live) code
	Facts       factsVar  `cel:"facts"`   // EU DCC and SHC content
}

type factsVar struct {
	Kind       string    `cel:"kind"` // vaccination, test, recovery, immunization or ""
	Disease    string    `cel:"disease"`
	Product    string    `cel:"product"`
	Dose       int       `cel:"dose"`
	TotalDoses int       `cel:"total_doses"`
	Date       time.Time `cel:"date"`
	TestResult string    `cel:"test_result"` // detected or not-detected
	ValidFrom  time.Time `cel:"valid_from"`
	ValidUntil time.Time `cel:"valid_until"`
	Count      int       `cel:"count"`
}

type statusVar struct {
	Overridden bool      `cel:"overridden"` // an entry newer than the code decides
	Status     string    `cel:"status"`     // green, yellow, red, withheld or ""
	Effective  time.Time `cel:"effective"`
	Until      time.Time `cel:"until"`
	Reason     int       `cel:"reason"` // the centre's reason code
	Revoked    bool      `cel:"revoked"`
}

type temperatureVar struct {
	Available  bool    `cel:"available"`
	State      string  `cel:"state"` // ok, unavailable, retake or not-taken
	Celsius    float64 `cel:"celsius"`
	Confidence float64 `cel:"confidence"`
	Fault      string  `cel:"fault"`
}

type clockVar struct {
	Trusted bool `cel:"trusted"`
}

type bundlesVar struct {
	Trust string `cel:"trust"` // fresh, grace, stale or blocked
	// StatusBase is the status list's: the base with its delta chain,
	// judged on the newest signed statement (gate.State.StatusList).
	StatusBase  string `cel:"status_base"`
	StatusDelta string `cel:"status_delta"`
	Policy      string `cel:"policy"`
	Config      string `cel:"config"`
}

type siteVar struct {
	Type string `cel:"type"`
	ID   string `cel:"id"`
}

type settingsVar struct {
	Fever                  float64 `cel:"fever"`                   // °C
	Yellow                 string  `cel:"yellow"`                  // admit, deny or refer
	ThermometerUnavailable string  `cel:"thermometer_unavailable"` // admit, deny or refer
	PaperAccepted          bool    `cel:"paper_accepted"`
}

// variables are the names a rule sees, with their CEL types.
func variables() []cel.EnvOption {
	obj := func(v any) *cel.Type {
		t := reflect.TypeOf(v)
		return cel.ObjectType("policy." + t.Name())
	}
	return []cel.EnvOption{
		cel.Variable("credential", obj(credentialVar{})),
		cel.Variable("refusal", cel.StringType),
		cel.Variable("status", obj(statusVar{})),
		cel.Variable("colour", cel.StringType),
		cel.Variable("temperature", obj(temperatureVar{})),
		cel.Variable("clock", obj(clockVar{})),
		cel.Variable("bundles", obj(bundlesVar{})),
		cel.Variable("site", obj(siteVar{})),
		cel.Variable("settings", obj(settingsVar{})),
		cel.Variable("enrolled", cel.BoolType),
		cel.Variable("resident", cel.BoolType),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("eu_rules", obj(euRulesVar{})),
	}
}

// Limits on what a policy may ask of the gate.
const (
	// MaxExpr is the longest expression, in code points.
	MaxExpr = 4096
	// maxRecursion bounds the parser's nesting.
	maxRecursion = 64
	// CostLimit bounds the work of one passage's decision, in CEL's cost
	// units (a comparison costs about 1): the when expressions tried,
	// together, and then the deciding rule's verdict and reasons
	// expressions, each. A decision that exceeds it refers the person to
	// the guard with ReasonPolicyError. The default policies cost about 50.
	CostLimit = 10_000
)

// NewEnv returns the terminal's CEL environment: the variables rules see,
// with CEL's standard library, its string extensions (split, lowerAscii…)
// and bounded parsing. The centre compiles
// policies against it (Compile does).
func NewEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		nativeTypes(),
		ext.Strings(),
		cel.ParserExpressionSizeLimit(MaxExpr),
		cel.ParserRecursionLimit(maxRecursion),
		cel.CrossTypeNumericComparisons(true),
	}
	opts = append(opts, variables()...)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("policy environment: %w", err)
	}
	return env, nil
}

// nativeTypes registers the view structs as native CEL object types.
func nativeTypes() cel.EnvOption {
	return func(env *cel.Env) (*cel.Env, error) {
		p, a, err := types.ComposeTypes(env.CELTypeProvider(), env.CELTypeAdapter(),
			types.ParseStructTags(true),
			reflect.TypeOf(credentialVar{}), reflect.TypeOf(statusVar{}),
			reflect.TypeOf(temperatureVar{}), reflect.TypeOf(clockVar{}),
			reflect.TypeOf(bundlesVar{}), reflect.TypeOf(siteVar{}),
			reflect.TypeOf(settingsVar{}), reflect.TypeOf(euRulesVar{}))
		if err != nil {
			return nil, err
		}
		env, err = cel.CustomTypeAdapter(a)(env)
		if err != nil {
			return nil, err
		}
		return cel.CustomTypeProvider(p)(env)
	}
}

// activation holds one passage's variables, converted to CEL values once
// and shared by every rule's evaluation.
type activation struct {
	vars [numVars]ref.Val
	// backing storage, so that one passage allocates once
	cred    credentialVar
	status  statusVar
	temp    temperatureVar
	clock   clockVar
	bundles bundlesVar
	site    siteVar
	eu      euRulesVar
	// euRefusal is the failed EU business rule, for the decision.
	euRefusal *credential.Rejection
}

const (
	varCredential = iota
	varRefusal
	varStatus
	varColour
	varTemperature
	varClock
	varBundles
	varSite
	varSettings
	varEnrolled
	varResident
	varNow
	varEURules
	numVars
)

var _ interpreter.Activation = (*activation)(nil)

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	var i int
	switch name {
	case "credential":
		i = varCredential
	case "refusal":
		i = varRefusal
	case "status":
		i = varStatus
	case "colour":
		i = varColour
	case "temperature":
		i = varTemperature
	case "clock":
		i = varClock
	case "bundles":
		i = varBundles
	case "site":
		i = varSite
	case "settings":
		i = varSettings
	case "enrolled":
		i = varEnrolled
	case "resident":
		i = varResident
	case "now":
		i = varNow
	case "eu_rules":
		i = varEURules
	default:
		return nil, false
	}
	return a.vars[i], true
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// colourName is a colour as rules see it.
func colourName(c credential.Colour) string {
	switch c {
	case credential.ColourGreen:
		return "green"
	case credential.ColourYellow:
		return "yellow"
	case credential.ColourRed:
		return "red"
	}
	return "none"
}

// freshness returns the freshness of kind k as rules see it; a missing
// kind is blocked.
func freshness(m map[trust.Kind]trust.Freshness, k trust.Kind) string {
	f, ok := m[k]
	if !ok {
		return "blocked"
	}
	switch f {
	case trust.FreshnessFresh:
		return "fresh"
	case trust.FreshnessGrace:
		return "grace"
	case trust.FreshnessStale:
		return "stale"
	}
	return "blocked"
}
