package central

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sentinel/crypto/credential"
)

// Actions recorded in the audit log.
const (
	AuditExport = "export"
	AuditTrace  = "trace"
	// AuditPassage: ops looked a passage up by its reference
	// (`sentinel-central passage show`), for an appeal.
	AuditPassage = "passage"
	// AuditExplain: ops had a holder's colour explained
	// (`sentinel-central status explain`).
	AuditExplain = "explain"
	// AuditWhitelist: ops listed whitelist entries, which name holders.
	AuditWhitelist = "whitelist"
	// AuditRulesTest: ops dry-ran rule sets, which lists the holders who
	// would change colour.
	AuditRulesTest = "rules-test"
	// AuditEngineChanges: ops read the engine's audit of changes, which
	// names holders (`sentinel-central audit --engine`).
	AuditEngineChanges = "engine-changes"
)

// AuditActions returns every action of the audit log.
func AuditActions() []string {
	return []string{AuditExport, AuditTrace, AuditPassage, AuditExplain, AuditWhitelist, AuditRulesTest, AuditEngineChanges}
}

// Errors of the audit log.
var (
	// ErrNoPurpose refuses an entry without a purpose: every export and
	// trace must say why it was run.
	ErrNoPurpose = errors.New("ops: no purpose given: say why with --purpose")
	// ErrNoOperator refuses an entry that names nobody.
	ErrNoOperator = errors.New("ops: no operator given: name who runs it with --operator")
)

// AuditEntry is one record of the audit log: who ran which query on the
// passages, when, why, and how many rows it handed out.
type AuditEntry struct {
	Time     time.Time  `json:"time"`     // when the query ran
	Operator string     `json:"operator"` // who ran it
	Action   string     `json:"action"`   // one of AuditActions
	Purpose  string     `json:"purpose"`  // why
	Query    AuditQuery `json:"query"`    // the filter
	Store    string     `json:"store"`    // which store: a file or "postgres"
	Format   string     `json:"format,omitempty"`
	Rows     int        `json:"rows"` // rows handed out
}

// AuditQuery is the filter of an audited query, as the operator gave it.
type AuditQuery struct {
	From   time.Time     `json:"from,omitzero"`
	To     time.Time     `json:"to,omitzero"`
	Site   string        `json:"site,omitempty"`
	Device string        `json:"device,omitempty"`
	Holder string        `json:"holder,omitempty"`
	Window time.Duration `json:"window,omitempty"` // trace: ± around each passage; nanoseconds in JSON
}

// Validate reports an entry that lacks who or why, or whose holder is not
// a holder identifier (credential.ParseHolderID): text such as a name never
// reaches the log.
func (e *AuditEntry) Validate() error {
	if e.Purpose == "" {
		return ErrNoPurpose
	}
	if e.Operator == "" {
		return ErrNoOperator
	}
	if e.Time.IsZero() {
		return errors.New("ops: audit entry without time")
	}
	if e.Query.Holder != "" {
		if _, err := credential.ParseHolderID(e.Query.Holder); err != nil {
			return fmt.Errorf("ops: holder: %w", err)
		}
	}
	return nil
}

// AuditFilter selects audit entries. Zero fields select everything; From
// is inclusive and To exclusive.
type AuditFilter struct {
	From, To time.Time
	Operator string
	Action   string
}

// Match reports whether e passes f.
func (f AuditFilter) Match(e *AuditEntry) bool {
	switch {
	case !f.From.IsZero() && e.Time.Before(f.From):
		return false
	case !f.To.IsZero() && !e.Time.Before(f.To):
		return false
	case f.Operator != "" && e.Operator != f.Operator:
		return false
	case f.Action != "" && e.Action != f.Action:
		return false
	}
	return true
}

// AuditLog records who queried the passages. It is append-only: no method
// changes an entry, and only the audit retention (Expirer.Expire with
// Horizons.Audit) removes the entries older than it.
type AuditLog interface {
	// AppendAudit validates e (AuditEntry.Validate) and records it; when it
	// returns nil the entry is durable.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit returns the entries that f selects in the order they were
	// appended.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
