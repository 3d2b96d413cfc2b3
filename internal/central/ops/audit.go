package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"sentinel/crypto/credential"
)

// AuditFile is the audit log's file in the centre's data directory.
const AuditFile = "audit.jsonl"

// Actions recorded in the audit log.
const (
	ActionExport = "export"
	ActionTrace  = "trace"
)

// Errors of the audit log.
var (
	// ErrNoPurpose refuses an entry without a purpose: every export and
	// trace must say why it was run.
	ErrNoPurpose = errors.New("ops: no purpose given: say why with --purpose")
	// ErrNoOperator refuses an entry that names nobody.
	ErrNoOperator = errors.New("ops: no operator given: name who runs it with --operator")
)

// Entry is one record of the audit log.
type Entry struct {
	Time     time.Time `json:"time"`     // when the query ran
	Operator string    `json:"operator"` // who ran it
	Action   string    `json:"action"`   // ActionExport or ActionTrace
	Purpose  string    `json:"purpose"`  // why
	Query    Query     `json:"query"`    // the filter
	Store    string    `json:"store"`    // which store: a file or "postgres"
	Format   string    `json:"format,omitempty"`
	Rows     int       `json:"rows"` // rows handed out
}

// Query is the filter of an audited query, as the operator gave it.
type Query struct {
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
func (e *Entry) Validate() error {
	if e.Purpose == "" {
		return ErrNoPurpose
	}
	if e.Operator == "" {
		return ErrNoOperator
	}
	if e.Query.Holder != "" {
		if _, err := credential.ParseHolderID(e.Query.Holder); err != nil {
			return fmt.Errorf("ops: holder: %w", err)
		}
	}
	return nil
}

// AuditLog records entries durably, in order, and never rewrites them.
type AuditLog interface {
	// Append records e; when it returns nil the entry is on disk.
	Append(ctx context.Context, e Entry) error
}

var _ AuditLog = (*FileLog)(nil)

// FileLog is an AuditLog in a JSON-lines file.
type FileLog struct {
	mu   sync.Mutex
	path string
}

// NewFileLog returns the log kept in the file path, created on the first
// Append.
func NewFileLog(path string) *FileLog { return &FileLog{path: path} }

// Path returns the log's file.
func (l *FileLog) Path() string { return l.path }

// Append writes e as one line with a single write to the file opened with
// O_APPEND, and syncs it before it returns.
func (l *FileLog) Append(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("audit append %s: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit append %s: sync: %w", l.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit append %s: %w", l.path, err)
	}
	return nil
}

// ReadLog reads the entries of a JSON-lines audit log; a missing file holds
// none.
func ReadLog(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	return DecodeLog(f)
}

// DecodeLog reads JSON-lines audit entries from r.
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
