package ops

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"sentinel/internal/central"
)

// AuditFile is where the audit log was kept, as JSON lines in the centre's
// data directory, before it moved into the central store. A data directory
// that still has one has it imported on the store's first open (package
// legacy).
const AuditFile = "audit.jsonl"

// Actions recorded in the audit log.
const (
	ActionExport = central.AuditExport
	ActionTrace  = central.AuditTrace
)

// Errors of the audit log.
var (
	// ErrNoPurpose refuses an entry without a purpose: every export and
	// trace must say why it was run.
	ErrNoPurpose = central.ErrNoPurpose
	// ErrNoOperator refuses an entry that names nobody.
	ErrNoOperator = central.ErrNoOperator
)

// Entry is one record of the audit log.
type Entry = central.AuditEntry

// Query is the filter of an audited query, as the operator gave it.
type Query = central.AuditQuery

// AuditLog records entries durably, in order, and never rewrites them: the
// central store's audit log.
type AuditLog = central.AuditLog

// DecodeLog reads JSON-lines audit entries from r, the form of AuditFile.
func DecodeLog(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("read audit log: line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
