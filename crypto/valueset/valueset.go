// Package valueset reads the EU DCC value sets: the code lists that the
// fields of an EU Digital COVID Certificate take their values from
// (countries, the disease targeted, vaccines, tests, results), in the
// format the EU gateway distributes them:
//
//	{"valueSetId": "covid-19-lab-result", "valueSetDate": "2021-04-27",
//	 "valueSetValues": {"260415000": {"display": "Not detected", "lang": "en",
//	   "active": true, "system": "http://snomed.info/sct", "version": "…"}, …}}
//
// Parse reads one file strictly: the three keys and nothing else, every
// entry with display, lang, active, system and version (validUntil
// optional) of the right types, no key twice, dates as YYYY-MM-DD, codes
// of printable characters. Every failure is a *ParseError naming the file,
// the line and column, the place in the document and what is wrong.
//
// LoadDir reads a directory as the EU's repository lays it out: the value
// sets that the EU DCC verifier checks are read strictly, and other files
// (the JSON schema of the format, the vaccines' encoding instructions, a
// value set no field uses) are skipped with a note saying why.
//
// A set read from a file whose name ends in "-example" (the EU's
// test-manf-example.json) is only an example of the real list: Set.Example
// is true, and a verifier reports a code it lacks instead of refusing it.
// The real list of rapid antigen tests is the EU common list, which the
// national backends distribute with the others.
package valueset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The identifiers (valueSetId) of the value sets the EU DCC fields use.
const (
	Country       = "country-2-codes"                         // co of v, t and r
	Disease       = "disease-agent-targeted"                  // tg of v, t and r
	VaccineType   = "sct-vaccines-covid-19"                   // v.vp
	VaccineProd   = "vaccines-covid-19-names"                 // v.mp
	VaccineHolder = "vaccines-covid-19-auth-holders"          // v.ma
	TestType      = "covid-19-lab-test-type"                  // t.tt
	TestResult    = "covid-19-lab-result"                     // t.tr
	TestDevice    = "covid-19-lab-test-manufacturer-and-name" // t.ma, of a rapid antigen test
)

// IDs returns the identifiers of the value sets the EU DCC fields use, in
// a stable order.
func IDs() []string {
	return []string{Country, Disease, VaccineType, VaccineProd, VaccineHolder, TestType, TestResult, TestDevice}
}

// Known reports whether id is one of IDs.
func Known(id string) bool { return slices.Contains(IDs(), id) }

// Limits on outside bytes.
const (
	// MaxFileSize is the largest value-set file read: the EU's largest
	// list (rapid antigen tests) is about 200 KB.
	MaxFileSize = 4 << 20
	// MaxCodes is the most codes one set may hold.
	MaxCodes = 20000
	// MaxCodeLen is the longest code.
	MaxCodeLen = 128
	// maxText is the longest display, system or version text.
	maxText = 4096
)

// Entry is one code of a value set.
type Entry struct {
	Display    string `json:"display"`
	Lang       string `json:"lang"`
	Active     bool   `json:"active"`
	System     string `json:"system"`
	Version    string `json:"version"`
	ValidUntil string `json:"validUntil,omitempty"` // YYYY-MM-DD, or empty
}

// Set is one value set.
type Set struct {
	ID   string // valueSetId
	Date string // valueSetDate, YYYY-MM-DD
	// Example is true for a list that is only an example of the real one
	// (test-manf-example.json): it cannot refuse a code it lacks.
	Example bool
	// Codes maps each code to its entry. Inactive codes are members: a
	// certificate issued while its code was active stays valid, as the
	// EU's business rules (which test membership of the keys) have it.
	Codes map[string]Entry
	// Raw is the file as read; the trust bundle carries it unchanged.
	Raw []byte
}

// Has reports whether code is in the set.
func (s *Set) Has(code string) bool {
	_, ok := s.Codes[code]
	return ok
}

// Sorted returns the set's codes in order.
func (s *Set) Sorted() []string {
	out := make([]string, 0, len(s.Codes))
	for c := range s.Codes {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Sets is a collection of value sets, one per identifier. A nil *Sets
// holds none. Once shared, only read it.
type Sets struct {
	byID map[string]*Set
}

// New returns an empty collection.
func New() *Sets { return &Sets{byID: map[string]*Set{}} }

// ErrDuplicate: two sets with one identifier.
var ErrDuplicate = errors.New("valueset: two value sets with the same valueSetId")

// Add adds s; a second set with the same identifier is refused.
func (ss *Sets) Add(s *Set) error {
	if _, dup := ss.byID[s.ID]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicate, s.ID)
	}
	ss.byID[s.ID] = s
	return nil
}

// Get returns the set with identifier id, or nil.
func (ss *Sets) Get(id string) *Set {
	if ss == nil {
		return nil
	}
	return ss.byID[id]
}

// Len returns the number of sets.
func (ss *Sets) Len() int {
	if ss == nil {
		return 0
	}
	return len(ss.byID)
}

// All returns the sets ordered by identifier.
func (ss *Sets) All() []*Set {
	if ss == nil {
		return nil
	}
	out := make([]*Set, 0, len(ss.byID))
	for _, s := range ss.byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Missing returns the identifiers of IDs that the collection lacks.
func (ss *Sets) Missing() []string {
	var out []string
	for _, id := range IDs() {
		if ss.Get(id) == nil {
			out = append(out, id)
		}
	}
	return out
}

// Summary is one line for an installer or ops: "8 value sets (country-2-codes
// 2019-11-01, …); covid-19-lab-test-manufacturer-and-name is only an
// example".
func (ss *Sets) Summary() string {
	if ss.Len() == 0 {
		return "no value sets loaded: codes are not checked against the EU value sets"
	}
	var parts []string
	var examples []string
	for _, s := range ss.All() {
		parts = append(parts, fmt.Sprintf("%s %s (%d codes)", s.ID, s.Date, len(s.Codes)))
		if s.Example {
			examples = append(examples, s.ID)
		}
	}
	out := fmt.Sprintf("%d value sets: %s", ss.Len(), strings.Join(parts, ", "))
	if len(examples) > 0 {
		out += "; only an example, codes it lacks are reported, not refused: " + strings.Join(examples, ", ")
	}
	if m := ss.Missing(); len(m) > 0 {
		out += "; not loaded, those fields are not checked: " + strings.Join(m, ", ")
	}
	return out
}

// Skipped is a file of a directory that LoadDir did not read as a value
// set, and why.
type Skipped struct {
	File string
	Why  string
}

// IsExampleName reports whether a file name marks its list as only an
// example of the real one ("test-manf-example.json").
func IsExampleName(name string) bool {
	stem := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	return strings.HasSuffix(strings.ToLower(stem), "-example")
}

// LoadDir reads every *.json file of dir (not its subdirectories). The
// value sets of IDs are parsed strictly and any error stops the load;
// files that are not value sets, or value sets no field uses, are skipped
// and listed. A directory without any value set the verifier uses is an
// error.
func LoadDir(dir string) (*Sets, []Skipped, error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS is LoadDir over a file system; label names it in errors.
func LoadFS(fsys fs.FS, label string) (*Sets, []Skipped, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("value sets: read directory %s: %w", label, err)
	}
	ss := New()
	var skipped []Skipped
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.EqualFold(filepath.Ext(name), ".json") {
			continue
		}
		data, err := readFile(fsys, name)
		if err != nil {
			return nil, nil, &ParseError{File: filepath.Join(label, name), Err: err}
		}
		id, isSet := peekID(data)
		switch {
		case !isSet:
			skipped = append(skipped, Skipped{File: name, Why: "not a value-set file (no valueSetId and valueSetValues)"})
			continue
		case id != "" && !Known(id):
			skipped = append(skipped, Skipped{File: name, Why: fmt.Sprintf("value set %q is not one the EU DCC verifier checks", id)})
			continue
		}
		s, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.File = filepath.Join(label, name)
			}
			return nil, nil, err
		}
		s.Example = IsExampleName(name)
		if err := ss.Add(s); err != nil {
			return nil, nil, fmt.Errorf("value sets: %s: %w", filepath.Join(label, name), err)
		}
	}
	if ss.Len() == 0 {
		return nil, skipped, fmt.Errorf("value sets: %s holds none of the value sets the EU DCC verifier checks (%s): "+
			"give the directory of the EU's value-set files", label, strings.Join(IDs(), ", "))
	}
	return ss, skipped, nil
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileSize)
	}
	return data, nil
}
