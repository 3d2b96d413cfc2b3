package legacy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
)

// EnrolFile is where the device registry and the enrolment tokens were
// kept, as JSON in the centre's data directory.
const EnrolFile = "enrol/enrol.json"

// ImportedSuffix is added to a file's name once it is imported.
const ImportedSuffix = ".imported"

// Files are the legacy files in the data directory, as Import reads them.
var Files = []string{EnrolFile, ops.AuditFile, opsapi.TokensFile}

// Report says what Import stored.
type Report struct {
	Files        []string // the files imported and renamed, relative to the data directory
	Tokens       int      // enrolment tokens added
	Devices      int      // devices added
	AuditEntries int      // audit entries appended
	OpsTokens    int      // operator tokens put
}

// enrolState is EnrolFile's form.
type enrolState struct {
	Tokens  []central.EnrolToken     `json:"tokens"`
	Devices []central.EnrolledDevice `json:"devices"`
}

// Import imports the legacy files of the data directory dir into st and
// renames each to NAME.imported. A directory without them imports nothing.
func Import(ctx context.Context, st central.Store, dir string) (Report, error) {
	var r Report
	steps := []struct {
		name string
		run  func(ctx context.Context, st central.Store, data []byte, r *Report) error
	}{
		{EnrolFile, importEnrol},
		{ops.AuditFile, importAudit},
		{opsapi.TokensFile, importOpsTokens},
	}
	for _, s := range steps {
		path := filepath.Join(dir, s.name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("import %s: %w", path, err)
		}
		if err := s.run(ctx, st, data, &r); err != nil {
			return r, fmt.Errorf("import %s into the store: %w; the file is left as it was: fix or move it, then start again", path, err)
		}
		if err := os.Rename(path, importedName(path)); err != nil {
			return r, fmt.Errorf("import %s: imported, but: %w", path, err)
		}
		r.Files = append(r.Files, s.name)
	}
	return r, nil
}

// importedName is path with ImportedSuffix, or with a time too when an
// earlier import left that name.
func importedName(path string) string {
	p := path + ImportedSuffix
	if _, err := os.Lstat(p); err == nil {
		p += "-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	return p
}

func importEnrol(ctx context.Context, st central.Store, data []byte, r *Report) error {
	var s enrolState
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	have, err := st.EnrolTokens(ctx)
	if err != nil {
		return err
	}
	known := make(map[central.TokenHash]bool, len(have))
	for _, t := range have {
		known[t.Hash] = true
	}
	for _, t := range s.Tokens {
		if known[t.Hash] {
			continue
		}
		if err := st.AddEnrolToken(ctx, t); err != nil {
			return fmt.Errorf("token for site %s made %s: %w", t.Site, t.Created.Format(time.RFC3339), err)
		}
		known[t.Hash] = true
		r.Tokens++
	}
	for _, d := range s.Devices {
		_, ok, err := st.EnrolledDevice(ctx, d.ID)
		if err != nil {
			return err
		}
		if ok {
			continue // imported before, or a second entry of one id (the first one counted)
		}
		if err := st.AddEnrolled(ctx, d); err != nil {
			return fmt.Errorf("device %s: %w", d.ID, err)
		}
		r.Devices++
	}
	return nil
}

func importAudit(ctx context.Context, st central.Store, data []byte, r *Report) error {
	es, err := ops.DecodeLog(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return nil
	}
	first := es[0]
	// Stores keep times to the microsecond at least (PostgreSQL).
	have, err := st.Audit(ctx, central.AuditFilter{From: first.Time.Add(-time.Millisecond), To: first.Time.Add(time.Millisecond), Operator: first.Operator, Action: first.Action})
	if err != nil {
		return err
	}
	for _, h := range have {
		if h.Purpose == first.Purpose && h.Rows == first.Rows {
			return nil // imported before
		}
	}
	for i, e := range es {
		if err := st.AppendAudit(ctx, e); err != nil {
			return fmt.Errorf("entry %d (%s by %s at %s): %w", i+1, e.Action, e.Operator, e.Time.Format(time.RFC3339), err)
		}
		r.AuditEntries++
	}
	return nil
}

func importOpsTokens(ctx context.Context, st central.Store, data []byte, r *Report) error {
	tokens, err := opsapi.ParseTokens(data)
	if err != nil {
		return err
	}
	for _, t := range tokens.Stored() {
		if err := st.PutOpsToken(ctx, t); err != nil {
			return err
		}
		r.OpsTokens++
	}
	return nil
}
