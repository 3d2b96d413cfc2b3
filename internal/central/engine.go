package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/status"
)

// The code engine's part of the store (package engine judges with it):
// the facts about holders, the areas tree with its sites and risk grades,
// the rule sets deployed, and the audit of every change to them.

// FactKind is the kind of a fact (CONTRACTS.md, "Colour rules").
type FactKind string

// Kinds of facts, as rules see them in f.kind.
const (
	// FactConfirmed: the holder is a confirmed case (by ops, or imported).
	FactConfirmed FactKind = "confirmed"
	// FactContact: the holder was a close contact of a confirmed case:
	// Value names the case, Site where they met.
	FactContact FactKind = "contact"
	// FactFever: a fever recorded at a checkpoint, with its reading in
	// Temperature and the checkpoint's Site.
	FactFever FactKind = "fever"
	// FactVisit: a passage at Site; its area's risk level at that time
	// is looked up when rules run, so that an area graded high after the
	// visit counts.
	FactVisit FactKind = "visit"
	// FactHome: the holder's home area (Area). The latest one at or
	// before the time judged is the holder's home; it picks the rule set.
	FactHome FactKind = "home"
	// FactTestNegative: a negative test taken at At.
	FactTestNegative FactKind = "test-negative"
	// FactWhitelist: the holder is on a list of essential workers for
	// Area or Site until Until; Value names the list.
	FactWhitelist FactKind = "whitelist"
	// FactManual: a status decided by ops: Value is green, yellow, red or
	// withheld, in force from At until Until (open when zero). The latest
	// manual fact decides before any rule while it is in force.
	FactManual FactKind = "manual"
)

// FactKinds returns every kind of fact.
func FactKinds() []FactKind {
	return []FactKind{FactConfirmed, FactContact, FactFever, FactVisit, FactHome, FactTestNegative, FactWhitelist, FactManual}
}

// Valid reports whether k is one of FactKinds.
func (k FactKind) Valid() bool { return slices.Contains(FactKinds(), k) }

// Fact is one thing the centre knows about a holder, with when it happened
// and where the centre learnt it.
type Fact struct {
	// Seq identifies the fact in the store, from 1; the store assigns it.
	Seq    uint64    `json:"seq"`
	Holder string    `json:"holder"` // "ISSUER:INDEX" or "p:HEX", never a name
	Kind   FactKind  `json:"kind"`
	At     time.Time `json:"at"`
	// Area is the area id the fact concerns; for a fact at a Site it may
	// be left empty and is then the site's area.
	Area string `json:"area,omitempty"`
	Site string `json:"site,omitempty"`
	// Value is kind-specific: the case's holder for a contact, the list
	// for a whitelist membership, the status for a manual fact.
	Value string `json:"value,omitempty"`
	// Temperature is a fever's reading (in nanokelvin in JSON); zero for
	// other kinds.
	Temperature physic.Temperature `json:"temperature_nk,omitempty"`
	// Until ends a whitelist membership or a manual status; zero is open.
	Until time.Time `json:"until,omitzero"`
	// Source says where the fact came from: "ops:NAME", "import:FILE:LINE",
	// "passage:DEVICE/EPOCH/SEQ", "derived:contact:…".
	Source string `json:"source"`
}

// Celsius returns the fever's reading in °C.
func (f *Fact) Celsius() float64 { return f.Temperature.Celsius() }

// Validate checks a fact before it is stored or judged; the error wraps
// ErrEngineInput.
func (f *Fact) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrEngineInput, fmt.Sprintf(format, args...))
	}
	switch {
	case f.Holder == "":
		return bad("fact: no holder")
	case !f.Kind.Valid():
		return bad("fact: kind %q: want one of confirmed, contact, fever, visit, home, test-negative, whitelist, manual", f.Kind)
	case f.At.IsZero():
		return bad("fact %s of %s: no time", f.Kind, f.Holder)
	case !f.Until.IsZero() && !f.Until.After(f.At):
		return bad("fact %s of %s: until %s is not after %s", f.Kind, f.Holder, f.Until.UTC().Format(time.RFC3339), f.At.UTC().Format(time.RFC3339))
	}
	switch f.Kind {
	case FactHome:
		if f.Area == "" {
			return bad("fact home of %s: no area", f.Holder)
		}
	case FactVisit:
		// A fever may name no place: one measured by a terminal enrolled
		// without a site is kept all the same (KeepFevers).
		if f.Site == "" && f.Area == "" {
			return bad("fact %s of %s: no site or area", f.Kind, f.Holder)
		}
	case FactWhitelist:
		if f.Site == "" && f.Area == "" {
			return bad("fact whitelist of %s: no area or site the list is for", f.Holder)
		}
	case FactManual:
		if _, err := status.ParseStatus(f.Value); err != nil {
			return bad("fact manual of %s: status %q: want green, yellow, red or withheld", f.Holder, f.Value)
		}
	}
	return nil
}

// Level is an area's risk level.
type Level string

// Risk levels. An area that ops never graded is low.
const (
	LevelLow    Level = "low"
	LevelMedium Level = "medium"
	LevelHigh   Level = "high"
)

// Valid reports whether l is low, medium or high.
func (l Level) Valid() bool { return l == LevelLow || l == LevelMedium || l == LevelHigh }

// AreaKind is an area's place in the tree.
type AreaKind string

// Area kinds, from the widest.
const (
	AreaProvince AreaKind = "province"
	AreaCity     AreaKind = "city"
	AreaDistrict AreaKind = "district"
	AreaCompound AreaKind = "compound"
)

// Depth is the kind's depth in the tree: province 0 … compound 3; -1 for
// an unknown kind.
func (k AreaKind) Depth() int {
	return slices.Index([]AreaKind{AreaProvince, AreaCity, AreaDistrict, AreaCompound}, k)
}

// Area is a region of the tree. Its ID is what rule sets, sites and facts
// name ("ZJ", "HB-WH", "HB-WH-JA-0012"): 1 to 32 of A-Z, 0-9 and '-'.
type Area struct {
	ID     string   `json:"id"`
	Kind   AreaKind `json:"kind"`
	Parent string   `json:"parent,omitempty"` // "" for a province
	Name   string   `json:"name,omitempty"`   // in the local language, for ops and explanations
}

// Site is a place with terminals (a supermarket, a compound's gate) and
// the area it lies in. Its ID is the site id of the terminals' enrolment.
type Site struct {
	ID   string `json:"id"`
	Area string `json:"area"`
	Name string `json:"name,omitempty"`
}

// Grade is a risk level set by ops for an area from Effective on.
type Grade struct {
	Area      string    `json:"area"`
	Level     Level     `json:"level"`
	Effective time.Time `json:"effective"`
	Source    string    `json:"source,omitempty"` // "ops:NAME"
}

// RuleSet is one deployed version of a region's rule set.
type RuleSet struct {
	Region string `json:"region"`
	// Number counts the region's deployments from 1; the store assigns
	// it. The latest is in force.
	Number uint64 `json:"number"`
	Label  string `json:"label"`  // the version line of the source
	Source []byte `json:"source"` // the rule set's text as deployed
	// Signed is the source sealed by the ops online key, when deployed
	// signed (see `sentinel-central rules deploy`).
	Signed []byte `json:"signed,omitempty"`
	// Deployed is when, By who.
	Deployed time.Time `json:"deployed"`
	By       string    `json:"by"`
}

// ChangeBy says who makes a change to the engine's data, when and why; it
// goes into the audit record of the change.
type ChangeBy struct {
	Time time.Time
	By   string // "ops:NAME", "engine", "import:FILE"
	Why  string
}

// EngineChange is one audit record of the engine's data: every fact
// added or removed, area, site, grade and rule set.
type EngineChange struct {
	Seq     uint64    `json:"seq"` // assigned by the store, from 1
	Time    time.Time `json:"time"`
	By      string    `json:"by"`
	Why     string    `json:"why,omitempty"`
	Action  string    `json:"action"`  // one of the Change* actions
	Subject string    `json:"subject"` // the holder, area, site or region
	// Detail is the changed object as JSON.
	Detail json.RawMessage `json:"detail"`
}

// Actions of EngineChange.
const (
	ChangeFactAdd    = "fact-add"
	ChangeFactRemove = "fact-remove"
	ChangeArea       = "area-set"
	ChangeSite       = "site-set"
	ChangeGrade      = "grade-add"
	ChangeRuleSet    = "rules-deploy"
	// ChangeStatus records a status the engine published (Audit).
	ChangeStatus = "status-publish"
)

// ChangeActions returns the actions of EngineChange, for a command line
// that selects by one.
func ChangeActions() []string {
	return []string{ChangeFactAdd, ChangeFactRemove, ChangeArea, ChangeSite, ChangeGrade, ChangeRuleSet, ChangeStatus}
}

// NewEngineChange builds the audit record of a change; the store assigns
// its Seq.
func NewEngineChange(action, subject string, obj any, by ChangeBy) (EngineChange, error) {
	d, err := json.Marshal(obj)
	if err != nil {
		return EngineChange{}, fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	if by.By == "" || by.Time.IsZero() {
		return EngineChange{}, fmt.Errorf("%w: a change of the engine's data must say who made it and when", ErrEngineInput)
	}
	return EngineChange{Time: by.Time.UTC(), By: by.By, Why: by.Why, Action: action, Subject: subject, Detail: d}, nil
}

// Errors of the engine's part of a store.
var (
	// ErrEngineInput: a fact, area, site, grade or rule set is not valid,
	// or names an area or site the store does not have.
	ErrEngineInput = errors.New("central: invalid engine data")
	// ErrNoFact: no fact has that sequence number.
	ErrNoFact = errors.New("central: no such fact")
	// ErrEngineDamaged: a stored record does not decode.
	ErrEngineDamaged = errors.New("central: damaged engine record")
)

// EngineStore is the code engine's part of the central store. Every
// change is made in UpdateEngine, with its audit record (EngineChange) in
// the same transaction: fn fails, nothing of it is kept. Transactions are
// serialised against each other in this process and every other process
// on the same store.
type EngineStore interface {
	// UpdateEngine runs fn in a read-write transaction; fn's error is
	// returned as it is. fn must not call the store itself, only tx.
	UpdateEngine(ctx context.Context, fn func(tx EngineTx) error) error
	// ViewEngine runs fn in a read-only transaction that sees one
	// consistent state.
	ViewEngine(ctx context.Context, fn func(r EngineReader) error) error
}

// EngineReader reads the engine's part of a store.
type EngineReader interface {
	// Facts returns the holder's facts in Seq order.
	Facts(ctx context.Context, holder string) ([]Fact, error)
	// AllFacts returns every fact, in holder order (bytewise) and then
	// Seq: each holder's facts together, for a sweep.
	AllFacts(ctx context.Context) ([]Fact, error)
	// Areas returns every area by ID, Sites every site by ID, and Grades
	// every grade by area, then effective time, then the order added.
	Areas(ctx context.Context) ([]Area, error)
	Sites(ctx context.Context) ([]Site, error)
	Grades(ctx context.Context) ([]Grade, error)
	// RuleSets returns every deployed rule set version, by region and
	// then number.
	RuleSets(ctx context.Context) ([]RuleSet, error)
	// Changes returns the audit records from seq from on (1: all), at most
	// limit (0: all), in Seq order.
	Changes(ctx context.Context, from uint64, limit int) ([]EngineChange, error)
}

// EngineTx changes the engine's part of a store within UpdateEngine. Each
// method validates, checks what it names exists, and appends the audit
// record of the change.
type EngineTx interface {
	EngineReader
	// AddFact stores f (Fact.Validate; its site and area must exist when
	// given) and returns it with its Seq.
	AddFact(ctx context.Context, f Fact, by ChangeBy) (Fact, error)
	// AddFacts stores the facts of fs that are new, each checked and
	// audited as AddFact does, and returns those added, with their Seq,
	// in the order of fs. A fact is not new when its holder has one,
	// stored or earlier in fs, equal to it in every field but Seq (the
	// area of a fact at a site is its site's); it is left out without an
	// audit record. Each site and area named is
	// looked up once. An error leaves the transaction to fail: nothing
	// of fs is kept.
	AddFacts(ctx context.Context, fs []Fact, by ChangeBy) ([]Fact, error)
	// FactsOf returns the facts of the holders, in holder order as given
	// and then Seq, in as few reads as the store can.
	FactsOf(ctx context.Context, holders []string) ([]Fact, error)
	// RemoveFact removes the fact with seq and returns it (ErrNoFact).
	RemoveFact(ctx context.Context, seq uint64, by ChangeBy) (Fact, error)
	// PutArea adds or replaces an area (ValidateArea against its parent).
	PutArea(ctx context.Context, a Area, by ChangeBy) error
	// PutSite adds or replaces a site in a known area.
	PutSite(ctx context.Context, s Site, by ChangeBy) error
	// AddGrade records a risk level of a known area.
	AddGrade(ctx context.Context, g Grade, by ChangeBy) error
	// DeployRuleSet records r as its region's next number and returns it.
	DeployRuleSet(ctx context.Context, r RuleSet, by ChangeBy) (RuleSet, error)
	// Audit records a change made elsewhere because of the engine's data
	// (ChangeStatus: a status the engine published), with obj as detail.
	Audit(ctx context.Context, action, subject string, obj any, by ChangeBy) error
}

// ValidAreaID reports whether id is 1 to 32 of A-Z, 0-9 and '-', not
// starting or ending with '-'.
func ValidAreaID(id string) bool {
	if id == "" || len(id) > 32 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// ValidateArea checks a on its own and against its parent (parent is
// nil when the store has no area a.Parent). Stores call it in PutArea.
func ValidateArea(a Area, parent *Area) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrEngineInput, fmt.Sprintf(format, args...))
	}
	switch {
	case !ValidAreaID(a.ID):
		return bad("area %q: an id is 1 to 32 of A-Z, 0-9 and '-'", a.ID)
	case a.Kind.Depth() < 0:
		return bad("area %s: kind %q: want province, city, district or compound", a.ID, a.Kind)
	case a.Kind == AreaProvince && a.Parent != "":
		return bad("area %s is a province and cannot lie in %s", a.ID, a.Parent)
	case a.Kind != AreaProvince && a.Parent == "":
		return bad("area %s is a %s and needs the area it lies in", a.ID, a.Kind)
	case a.Parent == "":
		return nil
	case parent == nil:
		return bad("area %s lies in %s, which is not an area: add it first", a.ID, a.Parent)
	case parent.Kind.Depth() >= a.Kind.Depth():
		return bad("area %s is a %s and cannot lie in %s, a %s", a.ID, a.Kind, parent.ID, parent.Kind)
	}
	return nil
}

// ValidateGrade checks a grade on its own.
func ValidateGrade(g Grade) error {
	switch {
	case !g.Level.Valid():
		return fmt.Errorf("%w: area %s: risk level %q: want low, medium or high", ErrEngineInput, g.Area, g.Level)
	case g.Effective.IsZero():
		return fmt.Errorf("%w: area %s: risk level %s has no effective time", ErrEngineInput, g.Area, g.Level)
	}
	return nil
}

// ValidateRuleSet checks what a store needs of a rule set record; that
// its source compiles is the engine's matter (rules deploy checks it).
func ValidateRuleSet(r RuleSet) error {
	switch {
	case !ValidAreaID(r.Region):
		return fmt.Errorf("%w: rule set region %q is not an area id", ErrEngineInput, r.Region)
	case len(r.Source) == 0:
		return fmt.Errorf("%w: rule set for %s has no source", ErrEngineInput, r.Region)
	case r.Label == "":
		return fmt.Errorf("%w: rule set for %s has no version label", ErrEngineInput, r.Region)
	}
	return nil
}

// EnginePrimitives are the plain reads and writes a store implements for
// its engine transaction; EngineTxOf adds the validation, the checks of
// what a change names and the audit records, so that no store repeats
// them.
type EnginePrimitives interface {
	EngineReader
	// Area, Site and Fact look one up.
	Area(ctx context.Context, id string) (Area, bool, error)
	Site(ctx context.Context, id string) (Site, bool, error)
	Fact(ctx context.Context, seq uint64) (Fact, bool, error)
	// InsertFact stores f under the next fact sequence number and returns
	// that number.
	InsertFact(ctx context.Context, f Fact) (uint64, error)
	// DeleteFact removes the fact with seq, which exists.
	DeleteFact(ctx context.Context, seq uint64) error
	// PutArea and PutSite add or replace by ID; InsertGrade adds.
	PutArea(ctx context.Context, a Area) error
	PutSite(ctx context.Context, s Site) error
	InsertGrade(ctx context.Context, g Grade) error
	// LastRuleSet returns the highest number deployed for region, 0 when
	// none; InsertRuleSet stores r, whose number is the next.
	LastRuleSet(ctx context.Context, region string) (uint64, error)
	InsertRuleSet(ctx context.Context, r RuleSet) error
	// AppendChange stores c under the next audit sequence number.
	AppendChange(ctx context.Context, c EngineChange) error
}

// EngineBatchPrimitives are what a store whose every call costs a round
// trip (PostgreSQL) implements besides EnginePrimitives so that
// EngineTx.AddFacts writes a batch in a few calls; a store without them
// gets the same result one fact at a time.
type EngineBatchPrimitives interface {
	// FactsOf returns the facts of the holders, in holder and then Seq
	// order.
	FactsOf(ctx context.Context, holders []string) ([]Fact, error)
	// InsertFacts stores fs under the next fact sequence numbers, in
	// order, and returns those numbers.
	InsertFacts(ctx context.Context, fs []Fact) ([]uint64, error)
	// AppendChanges stores cs under the next audit sequence numbers, in
	// order.
	AppendChanges(ctx context.Context, cs []EngineChange) error
}

// EngineTxOf returns the EngineTx of a store's primitives.
func EngineTxOf(p EnginePrimitives) EngineTx { return engineTx{p} }

type engineTx struct{ EnginePrimitives }

func (t engineTx) Audit(ctx context.Context, action, subject string, obj any, by ChangeBy) error {
	if action != ChangeStatus {
		return fmt.Errorf("%w: audit action %q: the engine's own changes are audited by the change itself", ErrEngineInput, action)
	}
	return t.audit(ctx, action, subject, obj, by)
}

func (t engineTx) audit(ctx context.Context, action, subject string, obj any, by ChangeBy) error {
	c, err := NewEngineChange(action, subject, obj, by)
	if err != nil {
		return err
	}
	return t.AppendChange(ctx, c)
}

func (t engineTx) AddFact(ctx context.Context, f Fact, by ChangeBy) (Fact, error) {
	if err := f.Validate(); err != nil {
		return f, err
	}
	f.At, f.Until = f.At.UTC(), f.Until.UTC()
	if f.Site != "" {
		s, ok, err := t.Site(ctx, f.Site)
		if err != nil {
			return f, err
		}
		switch {
		case !ok && f.Kind != FactFever:
			return f, fmt.Errorf("%w: fact %s of %s: site %s is not known: add it with sites set", ErrEngineInput, f.Kind, f.Holder, f.Site)
		case !ok:
			// A fever recorded at a checkpoint ops have not placed yet
			// is kept with its site alone: the engine places it by
			// its site when it judges, once the site is set.
		case f.Area == "":
			f.Area = s.Area
		}
	}
	if f.Area != "" {
		if _, ok, err := t.Area(ctx, f.Area); err != nil {
			return f, err
		} else if !ok {
			return f, fmt.Errorf("%w: fact %s of %s: area %s is not known: add it with areas set", ErrEngineInput, f.Kind, f.Holder, f.Area)
		}
	}
	seq, err := t.InsertFact(ctx, f)
	if err != nil {
		return f, err
	}
	f.Seq = seq
	return f, t.audit(ctx, ChangeFactAdd, f.Holder, f, by)
}

// factKey is what makes two facts the same to AddFacts: every field
// AddFact stores but the Seq, so that a fact differing in its area (a
// home elsewhere) is another fact. A fact at a site is placed by its site:
// AddFact fills its area in from the site's, which ops may move later.
type factKey struct {
	holder, kind string
	at, until    int64
	area, site   string
	value        string
	temperature  physic.Temperature
	source       string
}

func keyOf(f Fact) factKey {
	var until int64
	if !f.Until.IsZero() {
		until = f.Until.UnixNano()
	}
	area := f.Area
	if f.Site != "" {
		area = ""
	}
	return factKey{f.Holder, string(f.Kind), f.At.UnixNano(), until, area, f.Site, f.Value, f.Temperature, f.Source}
}

func (t engineTx) FactsOf(ctx context.Context, holders []string) ([]Fact, error) {
	if bp, ok := t.EnginePrimitives.(EngineBatchPrimitives); ok {
		fs, err := bp.FactsOf(ctx, holders)
		if err != nil {
			return nil, err
		}
		// In the order of holders, as the fallback gives them.
		by := map[string][]Fact{}
		for _, f := range fs {
			by[f.Holder] = append(by[f.Holder], f)
		}
		var out []Fact
		for _, h := range holders {
			out = append(out, by[h]...)
			delete(by, h)
		}
		return out, nil
	}
	var out []Fact
	seen := map[string]bool{}
	for _, h := range holders {
		if seen[h] {
			continue
		}
		seen[h] = true
		fs, err := t.Facts(ctx, h)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (t engineTx) AddFacts(ctx context.Context, fs []Fact, by ChangeBy) ([]Fact, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	bp, batch := t.EnginePrimitives.(EngineBatchPrimitives)
	// What the holders already have.
	var holders []string
	seenHolder := map[string]bool{}
	for _, f := range fs {
		if !seenHolder[f.Holder] {
			seenHolder[f.Holder] = true
			holders = append(holders, f.Holder)
		}
	}
	have := map[factKey]bool{}
	stored, err := t.FactsOf(ctx, holders)
	if err != nil {
		return nil, err
	}
	for _, f := range stored {
		have[keyOf(f)] = true
	}
	sites := map[string]*Site{}
	areas := map[string]bool{}
	var add []Fact
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		k := keyOf(f)
		if have[k] {
			continue
		}
		have[k] = true
		f.At, f.Until = f.At.UTC(), f.Until.UTC()
		if f.Site != "" {
			s, looked := sites[f.Site]
			if !looked {
				got, ok, err := t.Site(ctx, f.Site)
				if err != nil {
					return nil, err
				}
				if ok {
					s = &got
				}
				sites[f.Site] = s
			}
			switch {
			case s == nil && f.Kind != FactFever:
				return nil, fmt.Errorf("%w: fact %s of %s: site %s is not known: add it with sites set", ErrEngineInput, f.Kind, f.Holder, f.Site)
			case s == nil:
				// As AddFact: a fever at a site not placed yet.
			case f.Area == "":
				f.Area = s.Area
			}
		}
		if f.Area != "" {
			ok, looked := areas[f.Area]
			if !looked {
				_, got, err := t.Area(ctx, f.Area)
				if err != nil {
					return nil, err
				}
				ok, areas[f.Area] = got, got
			}
			if !ok {
				return nil, fmt.Errorf("%w: fact %s of %s: area %s is not known: add it with areas set", ErrEngineInput, f.Kind, f.Holder, f.Area)
			}
		}
		add = append(add, f)
	}
	if len(add) == 0 {
		return nil, nil
	}
	if !batch {
		for i, f := range add {
			seq, err := t.InsertFact(ctx, f)
			if err != nil {
				return nil, err
			}
			add[i].Seq = seq
			if err := t.audit(ctx, ChangeFactAdd, f.Holder, add[i], by); err != nil {
				return nil, err
			}
		}
		return add, nil
	}
	seqs, err := bp.InsertFacts(ctx, add)
	if err != nil {
		return nil, err
	}
	if len(seqs) != len(add) {
		return nil, fmt.Errorf("central: add facts: the store numbered %d of %d facts", len(seqs), len(add))
	}
	cs := make([]EngineChange, len(add))
	for i := range add {
		add[i].Seq = seqs[i]
		if cs[i], err = NewEngineChange(ChangeFactAdd, add[i].Holder, add[i], by); err != nil {
			return nil, err
		}
	}
	return add, bp.AppendChanges(ctx, cs)
}

func (t engineTx) RemoveFact(ctx context.Context, seq uint64, by ChangeBy) (Fact, error) {
	f, ok, err := t.Fact(ctx, seq)
	if err != nil {
		return f, err
	}
	if !ok {
		return f, fmt.Errorf("%w: %d", ErrNoFact, seq)
	}
	if err := t.DeleteFact(ctx, seq); err != nil {
		return f, err
	}
	return f, t.audit(ctx, ChangeFactRemove, f.Holder, f, by)
}

func (t engineTx) PutArea(ctx context.Context, a Area, by ChangeBy) error {
	var parent *Area
	if a.Parent != "" {
		p, ok, err := t.Area(ctx, a.Parent)
		if err != nil {
			return err
		}
		if ok {
			parent = &p
		}
	}
	if err := ValidateArea(a, parent); err != nil {
		return err
	}
	if old, ok, err := t.Area(ctx, a.ID); err != nil {
		return err
	} else if ok && (old.Kind != a.Kind || old.Parent != a.Parent) {
		return fmt.Errorf("%w: area %s is a %s in %q; only its name can change", ErrEngineInput, a.ID, old.Kind, old.Parent)
	}
	if err := t.EnginePrimitives.PutArea(ctx, a); err != nil {
		return err
	}
	return t.audit(ctx, ChangeArea, a.ID, a, by)
}

func (t engineTx) PutSite(ctx context.Context, s Site, by ChangeBy) error {
	if s.ID == "" || len(s.ID) > 64 {
		return fmt.Errorf("%w: a site id is 1 to 64 characters", ErrEngineInput)
	}
	if _, ok, err := t.Area(ctx, s.Area); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: site %s lies in %q, which is not an area: add it with areas set", ErrEngineInput, s.ID, s.Area)
	}
	if err := t.EnginePrimitives.PutSite(ctx, s); err != nil {
		return err
	}
	return t.audit(ctx, ChangeSite, s.ID, s, by)
}

func (t engineTx) AddGrade(ctx context.Context, g Grade, by ChangeBy) error {
	if err := ValidateGrade(g); err != nil {
		return err
	}
	if _, ok, err := t.Area(ctx, g.Area); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: risk level for %q, which is not an area", ErrEngineInput, g.Area)
	}
	g.Effective = g.Effective.UTC()
	if err := t.InsertGrade(ctx, g); err != nil {
		return err
	}
	return t.audit(ctx, ChangeGrade, g.Area, g, by)
}

func (t engineTx) DeployRuleSet(ctx context.Context, r RuleSet, by ChangeBy) (RuleSet, error) {
	if err := ValidateRuleSet(r); err != nil {
		return r, err
	}
	n, err := t.LastRuleSet(ctx, r.Region)
	if err != nil {
		return r, err
	}
	r.Number, r.Deployed, r.By = n+1, by.Time.UTC(), by.By
	if err := t.InsertRuleSet(ctx, r); err != nil {
		return r, err
	}
	// The audit names the version; the source itself is in the record.
	return r, t.audit(ctx, ChangeRuleSet, r.Region, struct {
		Region string
		Number uint64
		Label  string
		Signed bool
		Bytes  int
	}{r.Region, r.Number, r.Label, len(r.Signed) > 0, len(r.Source)}, by)
}
