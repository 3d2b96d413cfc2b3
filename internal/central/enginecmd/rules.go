package enginecmd

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/sweep"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/status"
)

// RulesFile is a rule set's source and the name its errors give.
type RulesFile struct {
	File   string `json:"file"`
	Source string `json:"source"`
}

func (f RulesFile) compile() (*engine.RuleSet, error) {
	if f.Source == "" {
		return nil, invalid("rule set %q: no source", f.File)
	}
	rs, err := engine.Compile(cmpOr(f.File, "rules"), []byte(f.Source))
	if err != nil {
		return nil, invalid("%s does not compile; nothing was changed:\n%v", cmpOr(f.File, "the rule set"), err)
	}
	return rs, nil
}

// RulesTestRequest dry-runs rule sets (rules/test) in place of their
// regions' deployed ones, as at At (zero: now). Purpose goes into the
// audit log (default "dry run of rule sets").
type RulesTestRequest struct {
	Rules   []RulesFile `json:"rules"`
	At      time.Time   `json:"at,omitzero"`
	Purpose string      `json:"purpose,omitempty"`
}

// RulesTestReport is what rules/test gives.
type RulesTestReport struct {
	At       time.Time                 `json:"at"`
	RuleSets []string                  `json:"rule_sets"`
	Judged   int                       `json:"judged"`
	Unjudged int                       `json:"unjudged"`
	Counts   map[string]map[string]int `json:"counts"` // region -> status -> holders
	Moves    map[string]int            `json:"moves"`  // "green>red" -> holders
	Changes  []RulesTestChange         `json:"changes"`
	Errors   []string                  `json:"errors,omitempty"`
}

// RulesTestChange is one holder who would change colour.
type RulesTestChange struct {
	Holder  string    `json:"holder"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Region  string    `json:"region"`
	Rule    string    `json:"rule,omitempty"`
	Reason  string    `json:"reason"`
	Until   time.Time `json:"until,omitzero"`
	Because string    `json:"because,omitempty"` // the last deciding fact
}

// loadEngine reads the engine's snapshot and the current statuses.
func loadEngine(ctx context.Context, st central.Store, at time.Time) (*engine.Snapshot, map[string]status.Status, error) {
	var snap *engine.Snapshot
	err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) {
		snap, err = engine.Load(ctx, r)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	current := map[string]status.Status{}
	err = st.ViewStatus(ctx, func(r central.StatusReader) error {
		for e, err := range r.Entries(ctx) {
			if err != nil {
				return err
			}
			if !e.Lapsed(at) && !e.Effective.After(at) {
				current[e.Holder.String()] = e.Status
			}
		}
		return nil
	})
	return snap, current, err
}

// RulesTest judges every holder with facts by q's rule sets and the
// deployed ones of the other regions, changes nothing, and says who would
// change colour; the dry run is audited before it is handed out.
func RulesTest(ctx context.Context, env *Env, c Caller, q RulesTestRequest) (RulesTestReport, error) {
	if len(q.Rules) == 0 {
		return RulesTestReport{}, invalid("rules is required: the rule set to test (docs/rules/ has examples)")
	}
	var sets []*engine.RuleSet
	for _, f := range q.Rules {
		rs, err := f.compile()
		if err != nil {
			return RulesTestReport{}, err
		}
		sets = append(sets, rs)
	}
	now := q.At
	if now.IsZero() {
		now = env.now()
	}
	snap, current, err := loadEngine(ctx, env.Store, now)
	if err != nil {
		return RulesTestReport{}, err
	}
	set, err := snap.With(sets...)
	if err != nil {
		return RulesTestReport{}, invalid("%v", err)
	}
	if _, err := snap.AddVisits(ctx, env.Store, now, set.Lookback()); err != nil {
		return RulesTestReport{}, err
	}
	sim := engine.Simulate(snap.Holders, current, set, snap.World(), now)
	rep := RulesTestReport{At: now.UTC(), Judged: sim.Judged, Unjudged: sim.Unjudged, Counts: map[string]map[string]int{}, Moves: map[string]int{}, Changes: []RulesTestChange{}}
	for _, region := range set.Regions() {
		rs, _ := set.Get(region)
		name := fmt.Sprintf("%s %s", region, rs.Version())
		if slices.Contains(sets, rs) {
			name += " (from " + rs.Source().File + ", not deployed)"
		} else if rec, ok := snap.Records[region]; ok {
			name = engine.RuleSetName(rec) + " (deployed)"
		}
		rep.RuleSets = append(rep.RuleSets, name)
	}
	for region, byStatus := range sim.Counts {
		rep.Counts[region] = map[string]int{}
		for s, n := range byStatus {
			rep.Counts[region][s.String()] = n
		}
	}
	for m, n := range sim.Moves() {
		rep.Moves[m[0].String()+">"+m[1].String()] = n
	}
	for _, ch := range sim.Changes {
		out := RulesTestChange{Holder: ch.Holder, From: ch.From.String(), To: ch.To.String(), Region: ch.Result.Region,
			Rule: ch.Result.Rule, Reason: ch.Result.Reason.String(), Until: ch.Result.Until}
		if len(ch.Result.Facts) > 0 {
			f := ch.Result.Facts[len(ch.Result.Facts)-1]
			out.Because = fmt.Sprintf("%s %s", f.Kind, f.At.UTC().Format(time.RFC3339))
			if f.Site != "" {
				out.Because += " at " + f.Site
			}
		}
		rep.Changes = append(rep.Changes, out)
	}
	for _, e := range sim.Errors {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if err := env.audit(ctx, c, central.AuditRulesTest, cmpOr(q.Purpose, "dry run of rule sets"), central.AuditQuery{To: now}, len(rep.Changes)); err != nil {
		return RulesTestReport{}, err
	}
	return rep, nil
}

// RulesDeployRequest deploys a rule set (rules/deploy): its source, and
// the same source sealed by an ops signing key as a colour-rules bundle
// whose version is the region's next number (RulesList says the last).
// Force deploys it even when the region's rule set in force has the same
// source.
type RulesDeployRequest struct {
	File   string `json:"file"`
	Source string `json:"source"`
	Signed []byte `json:"signed"` // the COSE_Sign1 bundle, base64 in JSON
	Why    string `json:"why"`
	Force  bool   `json:"force,omitempty"`
}

// Deployed is what rules/deploy gives.
type Deployed struct {
	Region  string    `json:"region"`
	Number  uint64    `json:"number"`
	Label   string    `json:"label"`
	Signer  string    `json:"signer"`
	At      time.Time `json:"at"`
	Replace string    `json:"replaces,omitempty"`
	// Unchanged: the region's rule set in force has the same source, so
	// nothing was deployed; the other fields describe the one in force.
	Unchanged bool `json:"unchanged,omitempty"`
}

// RulesDeploy compiles q's rule set, checks its signature under the
// root, and records it as its region's next number; it is refused when
// it does not compile, when the signature does not verify or does not
// cover the source, and (ErrConflict) when the signed number is taken.
// A source equal to that of the region's rule set in force is not
// deployed again unless q.Force: the answer then describes the one in
// force, with Unchanged.
func RulesDeploy(ctx context.Context, env *Env, c Caller, q RulesDeployRequest) (Deployed, error) {
	rs, err := RulesFile{File: q.File, Source: q.Source}.compile()
	if err != nil {
		return Deployed{}, err
	}
	now := env.now()
	by, err := c.by(now, q.Why)
	if err != nil {
		return Deployed{}, err
	}
	if env.Root == nil {
		return Deployed{}, errors.New("no root public key to verify the rule set's signature with: give --root-pub")
	}
	if len(q.Signed) == 0 {
		return Deployed{}, invalid("signed is required: a rule set is deployed signed (sentinel-central rules deploy signs it)")
	}
	b, _, err := trust.OpenBundle(q.Signed, env.Root, now, trust.State{})
	if err != nil {
		return Deployed{}, invalid("the signed rule set does not verify under the centre's root: %v", err)
	}
	if b.Kind != trust.KindColourRules || !bytes.Equal(b.Payload, []byte(q.Source)) {
		return Deployed{}, invalid("the signed bundle is a %s of other bytes than the rule set given: sign this rule set as colour-rules", b.Kind)
	}
	var out Deployed
	err = env.Store.UpdateEngine(ctx, func(tx central.EngineTx) error {
		all, err := tx.RuleSets(ctx)
		if err != nil {
			return err
		}
		var next uint64 = 1
		var last *central.RuleSet
		for i, r := range all {
			if r.Region == rs.Region() {
				next, out.Replace, last = r.Number+1, engine.RuleSetName(r), &all[i]
			}
		}
		if last != nil && !q.Force && bytes.Equal(last.Source, []byte(q.Source)) {
			out = Deployed{Region: last.Region, Number: last.Number, Label: last.Label, Signer: signature(*last, env.Root), At: last.Deployed, Unchanged: true}
			return nil
		}
		if b.Version != next {
			return refused(ErrConflict, "the rule set is signed as %s #%d, but the region's next number is %d (another deployment came first): run the command again, it signs the next number", rs.Region(), b.Version, next)
		}
		rec, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: rs.Region(), Label: rs.Version(), Source: []byte(q.Source), Signed: q.Signed}, by)
		if err != nil {
			return err
		}
		out = Deployed{Region: rec.Region, Number: rec.Number, Label: rec.Label, Signer: b.Signer.String(), At: by.Time, Replace: out.Replace}
		return nil
	})
	if err != nil {
		return Deployed{}, err
	}
	if !out.Unchanged {
		env.notify()
	}
	return out, nil
}

// RulesListRequest asks for the rule sets deployed, of Region only when
// given.
type RulesListRequest struct {
	Region string `json:"region,omitempty"`
}

// RulesListed is one deployment.
type RulesListed struct {
	Region   string    `json:"region"`
	Number   uint64    `json:"number"`
	Label    string    `json:"label"`
	InForce  bool      `json:"in_force"`
	Deployed time.Time `json:"deployed"`
	By       string    `json:"by"`
	Signer   string    `json:"signer,omitempty"`
}

// RulesList lists the deployments, the one in force of each region first;
// each names its signer when env.Root verifies it.
func RulesList(ctx context.Context, env *Env, _ Caller, q RulesListRequest) ([]RulesListed, error) {
	var recs []central.RuleSet
	err := env.Store.ViewEngine(ctx, func(r central.EngineReader) (err error) {
		recs, err = r.RuleSets(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []RulesListed{}
	for i, r := range recs {
		if q.Region != "" && r.Region != q.Region {
			continue
		}
		out = append(out, RulesListed{Region: r.Region, Number: r.Number, Label: r.Label, Deployed: r.Deployed, By: r.By,
			InForce: i == len(recs)-1 || recs[i+1].Region != r.Region, Signer: signature(r, env.Root)})
	}
	slices.SortStableFunc(out, func(a, b RulesListed) int {
		if a.Region != b.Region {
			return strings.Compare(a.Region, b.Region)
		}
		return int(b.Number) - int(a.Number)
	})
	return out, nil
}

// NextNumber is the number the next deployment of region gets, from a
// rules/list answer of that region.
func NextNumber(listed []RulesListed, region string) uint64 {
	var next uint64 = 1
	for _, l := range listed {
		if l.Region == region && l.Number >= next {
			next = l.Number + 1
		}
	}
	return next
}

// signature says who signed a deployment: the key, verified under root
// when root is not nil.
func signature(r central.RuleSet, root crypto.PublicKey) string {
	switch {
	case len(r.Signed) == 0:
		return "unsigned"
	case root == nil:
		return "signed (--root-pub verifies)"
	}
	b, _, err := trust.OpenBundle(r.Signed, root, r.Deployed, trust.State{})
	switch {
	case err != nil:
		return "DOES NOT VERIFY: " + err.Error()
	case b.Kind != trust.KindColourRules || !bytes.Equal(b.Payload, r.Source) || b.Version != r.Number:
		return "DOES NOT MATCH the source stored"
	}
	return "key " + b.Signer.String()
}

// RulesApplyRequest runs the sweep (rules/apply).
type RulesApplyRequest struct{}

// RulesApply judges every holder with facts by the rules in force and
// publishes the changes with env.Publisher.
func RulesApply(ctx context.Context, env *Env, c Caller, _ RulesApplyRequest) (sweep.Report, error) {
	if env.Publisher == nil {
		return sweep.Report{}, ErrNoPublisher
	}
	if c.Name == "" {
		return sweep.Report{}, invalid("no operator: a sweep is recorded with who ran it")
	}
	now := env.now()
	return sweep.Run(ctx, env.Store, env.Publisher, now, central.ChangeBy{Time: now, By: engine.SourceEngine, Why: "rules apply by ops:" + c.Name})
}

// ExplainRequest asks why a holder, or the holder of a passage reference,
// has their colour (status/explain). Lang is en or zh (default en), Zone
// the holder's time zone (default UTC), At the time (zero: now). Purpose
// goes into the audit log (default "appeal").
type ExplainRequest struct {
	Holder  string    `json:"holder,omitempty"`
	Passage string    `json:"passage,omitempty"`
	Lang    string    `json:"lang,omitempty"`
	Zone    string    `json:"zone,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Purpose string    `json:"purpose,omitempty"`
}

// Explained is what status/explain gives: the holder and the
// explanation.
type Explained struct {
	Holder string `json:"holder"`
	appeal.Explanation
}

// StatusExplain explains by the rules in force why q's holder has their
// colour at q.At (appeal.Explain); the look-up is audited before it is
// handed out.
func StatusExplain(ctx context.Context, env *Env, c Caller, q ExplainRequest) (Explained, error) {
	lang := cmpOr(q.Lang, "en")
	if _, err := engine.ParseLang(lang); err != nil {
		return Explained{}, invalid("lang: %v", err)
	}
	zone := cmpOr(q.Zone, "UTC")
	if _, err := time.LoadLocation(zone); err != nil {
		return Explained{}, invalid("zone %q: not a time zone (as Asia/Shanghai or UTC)", q.Zone)
	}
	if (q.Holder == "") == (q.Passage == "") {
		return Explained{}, invalid("holder is required, or passage REF in its place: give one of them")
	}
	var h credential.Holder
	if q.Passage != "" {
		ref, err := passage.ParseRef(q.Passage)
		if err != nil {
			return Explained{}, invalid("passage: %v", err)
		}
		if h, err = appeal.HolderOf(ctx, env.Store, ref); err != nil {
			return Explained{}, err
		}
	} else {
		var err error
		if h, err = credential.ParseHolderID(q.Holder); err != nil {
			return Explained{}, invalid("holder: %v", err)
		}
	}
	now := q.At
	if now.IsZero() {
		now = env.now()
	}
	ex, err := appeal.Explain(ctx, env.Store, appeal.ExplainRequest{Holder: h.String(), Lang: lang, Zone: zone, At: now})
	if err != nil {
		return Explained{}, err
	}
	if err := env.audit(ctx, c, central.AuditExplain, cmpOr(q.Purpose, "appeal"), central.AuditQuery{Holder: h.String(), To: now}, 1); err != nil {
		return Explained{}, err
	}
	return Explained{Holder: h.String(), Explanation: ex}, nil
}

// PassageRequest finds a passage by the reference a holder read off the
// gate's display (passage/show). Lang (en or zh) is the language of the
// reasons, Zone the time zone of the messages; Purpose goes into the
// audit log (default "appeal").
type PassageRequest struct {
	Ref     string `json:"ref"`
	Lang    string `json:"lang,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// ShownPassage is a passage found by its reference.
type ShownPassage struct {
	Ref      string    `json:"ref"`
	Time     time.Time `json:"time"`
	Site     string    `json:"site"`
	Device   string    `json:"device"`
	Epoch    string    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Decision string    `json:"decision"`
	Reasons  []string  `json:"reasons"`
	Messages []string  `json:"messages"` // the reasons as the guard read them
	Holder   string    `json:"holder,omitempty"`
	Explain  string    `json:"explain,omitempty"` // the command that explains the holder's colour
}

// PassageShow finds the passages of q's reference and records the
// look-up in the audit log first; a reference no passage has is
// ErrNotFound (the look-up is recorded all the same).
func PassageShow(ctx context.Context, env *Env, c Caller, q PassageRequest) ([]ShownPassage, error) {
	ref, err := passage.ParseRef(q.Ref)
	if err != nil {
		return nil, invalid("%v", err)
	}
	lang := cmpOr(q.Lang, "en")
	if lang != "en" && lang != "zh" {
		return nil, invalid("lang %q: want en or zh", q.Lang)
	}
	loc, err := time.LoadLocation(cmpOr(q.Zone, "UTC"))
	if err != nil {
		return nil, invalid("zone %q: not a time zone (as Asia/Shanghai or UTC)", q.Zone)
	}
	found, err := appeal.Find(ctx, env.Store, ref)
	if err != nil {
		return nil, err
	}
	aq := central.AuditQuery{}
	if len(found) == 1 {
		aq = central.AuditQuery{Device: found[0].Device, Holder: found[0].Holder, From: found[0].Time, To: found[0].Time.Add(time.Millisecond)}
	}
	if err := env.audit(ctx, c, central.AuditPassage, cmpOr(q.Purpose, "appeal"), aq, len(found)); err != nil {
		return nil, err
	}
	if len(found) == 0 {
		from, to := ref.Window()
		return nil, fmt.Errorf("no passage at the centre has reference %s (recorded %s): check that the terminal has synced since (sentinel-central devices list shows its last upload), and the reference as read: %w",
			ref, describeWindow(from, to, loc), ErrNotFound)
	}
	out := make([]ShownPassage, len(found))
	for i, p := range found {
		out[i] = ShownPassage{Ref: ref.String(), Time: p.Time, Site: p.Site, Device: p.Device, Epoch: p.Epoch.String(), Seq: p.Seq,
			Decision: p.Decision, Reasons: p.Reasons, Messages: []string{}, Holder: p.Holder}
		for _, r := range p.Reasons {
			out[i].Messages = append(out[i].Messages, gate.Message(r, lang))
		}
		if p.Holder != "" {
			out[i].Explain = "sentinel-central status explain --holder " + p.Holder
			if lang == "zh" {
				out[i].Explain += " --lang zh"
			}
		}
	}
	return out, nil
}

func describeWindow(from, to time.Time, loc *time.Location) string {
	switch {
	case from.IsZero():
		return "before " + to.In(loc).Format("2006-01-02 15:04 MST") + " (the terminal's clock was not set)"
	case to.IsZero():
		return "after " + from.In(loc).Format("2006-01-02 15:04 MST")
	}
	return "in the minute " + from.In(loc).Format("2006-01-02 15:04 MST")
}
