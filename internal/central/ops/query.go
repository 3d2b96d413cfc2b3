package ops

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
)

// Source is what the queries read: every central.Store is one.
type Source interface {
	Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error]
}

var _ Source = central.Store(nil)

// Format is an export's file format.
type Format string

// Export formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// ErrFormat is wrapped by ParseFormat for an unknown format.
var ErrFormat = errors.New("ops: unknown format: want csv or jsonl")

// ParseFormat parses "csv" or "jsonl".
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, JSONL:
		return f, nil
	}
	return "", fmt.Errorf("%w (got %q)", ErrFormat, s)
}

// Row is one exported passage. Holder is the pseudonym or ISSUER:INDEX the
// store keeps, never a name.
type Row struct {
	Device   string    `json:"device"`
	Epoch    string    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Site     string    `json:"site"`
	Holder   string    `json:"holder"`
	Decision string    `json:"decision"`
	Reasons  []string  `json:"reasons"`
}

// RowOf returns the exported fields of p.
func RowOf(p *central.Passage) Row {
	r := Row{
		Device: p.Device, Epoch: p.Epoch.String(), Seq: p.Seq, Time: p.Time.UTC(),
		Site: p.Site, Holder: p.Holder, Decision: p.Decision, Reasons: p.Reasons,
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	return r
}

// CSVHeader is the first line of a CSV export.
var CSVHeader = []string{"device", "epoch", "seq", "time", "site", "holder", "decision", "reasons"}

// Export writes the passages f selects to w in format, in the store's order
// (time, device, epoch, seq), and returns the number of rows written. A CSV
// export starts with CSVHeader and joins a row's reasons with ";".
func Export(ctx context.Context, src Source, f central.Filter, format Format, w io.Writer) (int, error) {
	var write func(Row) error
	var flush func() error
	switch format {
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		write = func(r Row) error {
			return cw.Write([]string{r.Device, r.Epoch, strconv.FormatUint(r.Seq, 10),
				r.Time.Format(time.RFC3339Nano), csvSafe(r.Site), csvSafe(r.Holder), csvSafe(r.Decision),
				csvSafe(strings.Join(r.Reasons, ";"))})
		}
		flush = func() error { cw.Flush(); return cw.Error() }
	case JSONL:
		enc := json.NewEncoder(w)
		write = func(r Row) error { return enc.Encode(r) }
		flush = func() error { return nil }
	default:
		return 0, fmt.Errorf("export: %w (got %q)", ErrFormat, format)
	}
	n := 0
	for p, err := range src.Passages(ctx, f) {
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		if err := write(RowOf(&p)); err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		n++
	}
	if err := flush(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// csvSafe keeps a spreadsheet from reading a field as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// TraceQuery selects a contact trace.
type TraceQuery struct {
	Holder   string
	From, To time.Time     // the holder's passages in [From, To)
	Window   time.Duration // contacts within ±Window of each passage, inclusive
}

// Contact is another holder's passage at a visit's site within the window.
type Contact struct {
	Holder string        `json:"holder"`
	Device string        `json:"device"`
	Time   time.Time     `json:"time"`
	Delta  time.Duration `json:"delta"` // Time minus the visit's time; nanoseconds in JSON
}

// Visit is one passage of the traced holder with its contacts.
type Visit struct {
	Time     time.Time `json:"time"`
	Site     string    `json:"site"`
	Device   string    `json:"device"`
	Decision string    `json:"decision"`
	Contacts []Contact `json:"contacts"`
}

// TraceResult is a holder's visits in the queried period.
type TraceResult struct {
	Holder string        `json:"holder"`
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Window time.Duration `json:"window"` // nanoseconds in JSON
	Visits []Visit       `json:"visits"`
}

// Rows returns the number of rows the trace hands out: one per contact,
// and one for a visit without contacts.
func (r *TraceResult) Rows() int {
	n := 0
	for _, v := range r.Visits {
		n += max(1, len(v.Contacts))
	}
	return n
}

// Trace finds q.Holder's passages in [q.From, q.To) and, for each, the
// passages of other holders at the same site within ±q.Window. A holder
// with no passages yields a result with no visits and no error. q.Holder
// must be a holder identifier (credential.ParseHolderID); the result names
// its canonical form.
func Trace(ctx context.Context, src Source, q TraceQuery) (*TraceResult, error) {
	h, err := credential.ParseHolderID(q.Holder)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	q.Holder = h.String()
	if q.Window < 0 {
		return nil, fmt.Errorf("trace: window %v is negative", q.Window)
	}
	res := &TraceResult{Holder: q.Holder, From: q.From, To: q.To, Window: q.Window, Visits: []Visit{}}
	for p, err := range src.Passages(ctx, central.Filter{From: q.From, To: q.To, Holder: q.Holder}) {
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", q.Holder, err)
		}
		res.Visits = append(res.Visits, Visit{Time: p.Time.UTC(), Site: p.Site, Device: p.Device, Decision: p.Decision, Contacts: []Contact{}})
	}
	// The holder's passages are collected before the site queries, so that
	// no two queries are open at once.
	for i := range res.Visits {
		v := &res.Visits[i]
		// To is exclusive and PostgreSQL keeps microseconds: ask for a
		// microsecond more and drop what lies beyond the window here.
		f := central.Filter{Site: v.Site, From: v.Time.Add(-q.Window), To: v.Time.Add(q.Window + time.Microsecond)}
		for p, err := range src.Passages(ctx, f) {
			if err != nil {
				return nil, fmt.Errorf("trace %s at %s: %w", q.Holder, v.Site, err)
			}
			if p.Holder == "" || p.Holder == q.Holder || p.Time.Sub(v.Time) > q.Window {
				continue
			}
			v.Contacts = append(v.Contacts, Contact{Holder: p.Holder, Device: p.Device, Time: p.Time.UTC(), Delta: p.Time.Sub(v.Time)})
		}
	}
	return res, nil
}
