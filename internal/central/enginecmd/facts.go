package enginecmd

import (
	"context"
	"slices"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/engine"
	"sentinel/internal/cli"
)

// AreaSetRequest adds an area or renames one (areas/set).
type AreaSetRequest struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Parent string `json:"parent,omitempty"`
	Name   string `json:"name,omitempty"`
	Why    string `json:"why"`
}

// AreasSet records q's area.
func AreasSet(ctx context.Context, env *Env, c Caller, q AreaSetRequest) (central.Area, error) {
	if q.ID == "" {
		return central.Area{}, invalid("id is required: the area's id, as ZJ-HZ-XH")
	}
	k, err := engine.ParseAreaKind(q.Kind)
	if err != nil {
		return central.Area{}, invalid("kind: %v", err)
	}
	by, err := c.by(env.now(), q.Why)
	if err != nil {
		return central.Area{}, err
	}
	a := central.Area{ID: q.ID, Kind: k, Parent: q.Parent, Name: q.Name}
	if err := env.Store.UpdateEngine(ctx, func(tx central.EngineTx) error { return tx.PutArea(ctx, a, by) }); err != nil {
		return central.Area{}, err
	}
	env.notify()
	return a, nil
}

// AreaRiskRequest grades an area from a time on (areas/risk); a zero
// Effective means now.
type AreaRiskRequest struct {
	ID        string    `json:"id"`
	Level     string    `json:"level"`
	Effective time.Time `json:"effective,omitzero"`
	Why       string    `json:"why"`
}

// AreasRisk records q's grade.
func AreasRisk(ctx context.Context, env *Env, c Caller, q AreaRiskRequest) (central.Grade, error) {
	if q.ID == "" {
		return central.Grade{}, invalid("id is required: the area to grade")
	}
	l, err := engine.ParseLevel(q.Level)
	if err != nil {
		return central.Grade{}, invalid("level: %v", err)
	}
	now := env.now()
	by, err := c.by(now, q.Why)
	if err != nil {
		return central.Grade{}, err
	}
	eff := q.Effective
	if eff.IsZero() {
		eff = now
	}
	g := central.Grade{Area: q.ID, Level: l, Effective: eff.UTC(), Source: by.By}
	if err := env.Store.UpdateEngine(ctx, func(tx central.EngineTx) error { return tx.AddGrade(ctx, g, by) }); err != nil {
		return central.Grade{}, err
	}
	env.notify()
	return g, nil
}

// AreasListRequest asks for the areas with their risk levels at At (zero:
// now).
type AreasListRequest struct {
	At time.Time `json:"at,omitzero"`
}

// ListedArea is an area with its risk level.
type ListedArea struct {
	central.Area
	// Level is the area's risk level at the time asked, its own or the
	// one of an area it lies in; Own is its own grade, when it has one.
	Level string `json:"level"`
	Own   string `json:"own_level,omitempty"`
	// Depth is its depth in the tree (province 0).
	Depth int `json:"depth"`
}

// AreasListAnswer is the areas, in tree order.
type AreasListAnswer struct {
	At    time.Time    `json:"at"`
	Areas []ListedArea `json:"areas"`
}

// AreasList lists the areas in tree order.
func AreasList(ctx context.Context, env *Env, _ Caller, q AreasListRequest) (AreasListAnswer, error) {
	now := q.At
	if now.IsZero() {
		now = env.now()
	}
	out := AreasListAnswer{At: now.UTC(), Areas: []ListedArea{}}
	err := env.Store.ViewEngine(ctx, func(r central.EngineReader) error {
		snap, err := engine.Load(ctx, r)
		if err != nil {
			return err
		}
		areas, err := r.Areas(ctx)
		if err != nil {
			return err
		}
		for _, a := range areas {
			l := ListedArea{Area: a, Level: string(snap.Areas.Level(a.ID, now)), Depth: max(a.Kind.Depth(), 0)}
			for _, g := range snap.Areas.Grades(a.ID) {
				if !g.Effective.After(now) {
					l.Own = string(g.Level)
				}
			}
			out.Areas = append(out.Areas, l)
		}
		slices.SortFunc(out.Areas, func(a, b ListedArea) int {
			return slices.Compare(snap.Areas.Path(a.ID), snap.Areas.Path(b.ID))
		})
		return nil
	})
	return out, err
}

// SiteSetRequest places a site in an area (sites/set).
type SiteSetRequest struct {
	ID   string `json:"id"`
	Area string `json:"area"`
	Name string `json:"name,omitempty"`
	Why  string `json:"why"`
}

// SitesSet records q's site.
func SitesSet(ctx context.Context, env *Env, c Caller, q SiteSetRequest) (central.Site, error) {
	if q.ID == "" || q.Area == "" {
		return central.Site{}, invalid("id and area are required: the site id of its terminals' enrolment, and the area it lies in")
	}
	by, err := c.by(env.now(), q.Why)
	if err != nil {
		return central.Site{}, err
	}
	s := central.Site{ID: q.ID, Area: q.Area, Name: q.Name}
	if err := env.Store.UpdateEngine(ctx, func(tx central.EngineTx) error { return tx.PutSite(ctx, s, by) }); err != nil {
		return central.Site{}, err
	}
	env.notify()
	return s, nil
}

// SitesListRequest asks for every site.
type SitesListRequest struct{}

// SitesList lists the sites.
func SitesList(ctx context.Context, env *Env, _ Caller, _ SitesListRequest) ([]central.Site, error) {
	var sites []central.Site
	err := env.Store.ViewEngine(ctx, func(r central.EngineReader) (err error) { sites, err = r.Sites(ctx); return err })
	if sites == nil {
		sites = []central.Site{}
	}
	return sites, err
}

// holderID checks a holder identifier.
func holderID(s string) (string, error) {
	if s == "" {
		return "", invalid("holder is required: ISSUER:INDEX or p:HEX")
	}
	h, err := credential.ParseHolderID(s)
	if err != nil {
		return "", invalid("holder: %v", err)
	}
	return h.String(), nil
}

// WhitelistAddRequest puts a holder on a list of essential workers for an
// area or a site (whitelist/add). A zero From is now; a zero Until open;
// an empty List is "essential".
type WhitelistAddRequest struct {
	Holder string    `json:"holder"`
	Area   string    `json:"area,omitempty"`
	Site   string    `json:"site,omitempty"`
	List   string    `json:"list,omitempty"`
	From   time.Time `json:"from,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Why    string    `json:"why"`
}

// WhitelistAdd records q's entry and returns it with its number.
func WhitelistAdd(ctx context.Context, env *Env, c Caller, q WhitelistAddRequest) (central.Fact, error) {
	h, err := holderID(q.Holder)
	if err != nil {
		return central.Fact{}, err
	}
	if (q.Area == "") == (q.Site == "") {
		return central.Fact{}, invalid("give area or site: the place the list is for")
	}
	now := env.now()
	by, err := c.by(now, q.Why)
	if err != nil {
		return central.Fact{}, err
	}
	from, list := q.From, q.List
	if from.IsZero() {
		from = now
	}
	if list == "" {
		list = "essential"
	}
	f := central.Fact{Holder: h, Kind: central.FactWhitelist, At: from, Area: q.Area, Site: q.Site, Value: list, Until: q.Until, Source: by.By}
	err = env.Store.UpdateEngine(ctx, func(tx central.EngineTx) (err error) { f, err = tx.AddFact(ctx, f, by); return err })
	if err != nil {
		return central.Fact{}, err
	}
	env.notify()
	return f, nil
}

// WhitelistRemoveRequest takes a whitelist entry off by its number
// (whitelist/remove).
type WhitelistRemoveRequest struct {
	Fact uint64 `json:"fact"`
	Why  string `json:"why"`
}

// WhitelistRemove removes q's entry and returns it.
func WhitelistRemove(ctx context.Context, env *Env, c Caller, q WhitelistRemoveRequest) (central.Fact, error) {
	if q.Fact == 0 {
		return central.Fact{}, invalid("fact is required: the entry's number from whitelist list")
	}
	by, err := c.by(env.now(), q.Why)
	if err != nil {
		return central.Fact{}, err
	}
	var f central.Fact
	err = env.Store.UpdateEngine(ctx, func(tx central.EngineTx) error {
		got, ok, err := factBySeq(ctx, tx, q.Fact)
		if err != nil {
			return err
		}
		if !ok || got.Kind != central.FactWhitelist {
			return refused(central.ErrNoFact, "no whitelist entry %d: see whitelist list", q.Fact)
		}
		f, err = tx.RemoveFact(ctx, q.Fact, by)
		return err
	})
	if err != nil {
		return central.Fact{}, err
	}
	env.notify()
	return f, nil
}

// factBySeq finds a fact by its number.
func factBySeq(ctx context.Context, r central.EngineReader, seq uint64) (central.Fact, bool, error) {
	all, err := r.AllFacts(ctx)
	if err != nil {
		return central.Fact{}, false, err
	}
	for _, f := range all {
		if f.Seq == seq {
			return f, true, nil
		}
	}
	return central.Fact{}, false, nil
}

// WhitelistListRequest asks for the whitelist entries, of one holder when
// Holder is given. Purpose goes into the audit log (default "whitelist
// review").
type WhitelistListRequest struct {
	Holder  string `json:"holder,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// WhitelistList lists the entries; the look-up is audited first.
func WhitelistList(ctx context.Context, env *Env, c Caller, q WhitelistListRequest) ([]central.Fact, error) {
	var h string
	if q.Holder != "" {
		var err error
		if h, err = holderID(q.Holder); err != nil {
			return nil, err
		}
	}
	out := []central.Fact{}
	err := env.Store.ViewEngine(ctx, func(r central.EngineReader) error {
		all, err := r.AllFacts(ctx)
		for _, f := range all {
			if f.Kind == central.FactWhitelist && (h == "" || f.Holder == h) {
				out = append(out, f)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := env.audit(ctx, c, central.AuditWhitelist, cmpOr(q.Purpose, "whitelist review"), central.AuditQuery{Holder: h}, len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// CaseIn is one confirmed case of a request.
type CaseIn struct {
	Holder      string    `json:"holder"`
	ConfirmedAt time.Time `json:"confirmed_at"`
	Home        string    `json:"home,omitempty"`
}

// CasesAddRequest records confirmed cases (cases/add) and, unless
// NoContacts, derives their close contacts from the passages.
type CasesAddRequest struct {
	Cases      []CaseIn `json:"cases"`
	NoContacts bool     `json:"no_contacts,omitempty"`
	Why        string   `json:"why"`
}

// CasesImportRequest records the cases of a CSV file (cases/import), in
// the layout of docs/rules/README.md: header holder,confirmed_at[,home].
// File names it in messages and in the facts' source.
type CasesImportRequest struct {
	File       string `json:"file"`
	CSV        string `json:"csv"`
	NoContacts bool   `json:"no_contacts,omitempty"`
	Why        string `json:"why"`
}

// CasesReport says what cases/add and cases/import recorded.
type CasesReport struct {
	Cases    int  `json:"cases"`
	Known    int  `json:"already_recorded"`
	Homes    int  `json:"homes"`
	Contacts int  `json:"contacts"`
	Capped   int  `json:"capped"`
	Derived  bool `json:"derived"` // close contacts were derived
}

// CasesAdd records q's cases.
func CasesAdd(ctx context.Context, env *Env, c Caller, q CasesAddRequest) (CasesReport, error) {
	if len(q.Cases) == 0 {
		return CasesReport{}, invalid("cases is required: at least one {holder, confirmed_at}")
	}
	var rows []engine.CaseRow
	for i, in := range q.Cases {
		h, err := holderID(in.Holder)
		if err != nil {
			return CasesReport{}, invalid("case %d: %v", i+1, err)
		}
		if in.ConfirmedAt.IsZero() {
			return CasesReport{}, invalid("case %d: confirmed_at is required: when the case was confirmed", i+1)
		}
		if in.Home != "" && !central.ValidAreaID(in.Home) {
			return CasesReport{}, invalid("case %d: home %q is not an area id", i+1, in.Home)
		}
		rows = append(rows, engine.CaseRow{Line: i + 1, Holder: h, Confirmed: in.ConfirmedAt, Home: in.Home})
	}
	return recordCases(ctx, env, c, rows, q.NoContacts, q.Why)
}

// CasesImport records the cases of q's CSV.
func CasesImport(ctx context.Context, env *Env, c Caller, q CasesImportRequest) (CasesReport, error) {
	file := cmpOr(q.File, "cases.csv")
	rows, err := engine.ParseCases(file, strings.NewReader(q.CSV), cli.ParseTime)
	if err != nil {
		return CasesReport{}, invalid("%v; nothing was recorded", err)
	}
	return recordCases(ctx, env, c, rows, q.NoContacts, q.Why)
}

func recordCases(ctx context.Context, env *Env, c Caller, rows []engine.CaseRow, noContacts bool, why string) (CasesReport, error) {
	by, err := c.by(env.now(), why)
	if err != nil {
		return CasesReport{}, err
	}
	// Contacts are derived up to now itself: the audit time is at the
	// second, and a passage of this very second must count.
	rep, err := engine.AddCases(ctx, env.Store, rows, !noContacts, by, env.now())
	if err != nil {
		return CasesReport{}, err
	}
	env.notify()
	return CasesReport{Cases: rep.Cases, Known: rep.Known, Homes: rep.Homes, Contacts: rep.Contacts, Capped: rep.Capped, Derived: !noContacts}, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ChangesRequest asks for the engine's audit of changes (changes/list):
// the records from number From on (0 or 1: from the first), at most Limit
// (0: 1,000), of one Subject (a holder, area, site or region) and one
// Action when given. Purpose goes into the audit log (default "review of
// the engine's changes").
type ChangesRequest struct {
	From    uint64 `json:"from,omitempty"`
	Limit   int    `json:"limit,omitempty"`
	Subject string `json:"subject,omitempty"`
	Action  string `json:"action,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// ChangesAnswer is a page of the engine's audit; Next is the number to
// ask from for the next page, zero at the end.
type ChangesAnswer struct {
	Changes []central.EngineChange `json:"changes"`
	Next    uint64                 `json:"next,omitempty"`
}

// MaxChanges bounds a page of changes/list.
const MaxChanges = 1000

// ChangesList reads a page of the engine's audit: every change of its
// data (facts, areas, sites, risk levels, rule sets) and every status the
// engine published or ops set by hand, with who, when and why. The read is
// recorded in the audit log first, since the records name holders.
func ChangesList(ctx context.Context, env *Env, c Caller, q ChangesRequest) (ChangesAnswer, error) {
	limit := q.Limit
	if limit <= 0 || limit > MaxChanges {
		limit = MaxChanges
	}
	from := max(q.From, 1)
	out := ChangesAnswer{Changes: []central.EngineChange{}}
	err := env.Store.ViewEngine(ctx, func(r central.EngineReader) error {
		// Read in pages until limit records pass the filter or the audit
		// ends.
		for len(out.Changes) < limit {
			page, err := r.Changes(ctx, from, MaxChanges)
			if err != nil {
				return err
			}
			for _, ch := range page {
				from = ch.Seq + 1
				if (q.Subject == "" || ch.Subject == q.Subject) && (q.Action == "" || ch.Action == q.Action) {
					out.Changes = append(out.Changes, ch)
					if len(out.Changes) == limit {
						out.Next = from
						return nil
					}
				}
			}
			if len(page) < MaxChanges {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return ChangesAnswer{}, err
	}
	var aq central.AuditQuery
	if h, err := credential.ParseHolderID(q.Subject); err == nil {
		aq.Holder = h.String()
	}
	if err := env.audit(ctx, c, central.AuditEngineChanges, cmpOr(q.Purpose, "review of the engine's changes"), aq, len(out.Changes)); err != nil {
		return ChangesAnswer{}, err
	}
	return out, nil
}
