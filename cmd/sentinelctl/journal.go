package main

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
	"sentinel/internal/passage"
	"sentinel/sync/enrol"
	"sentinel/sync/journal"
)

// sealedField is how the sealed holder and temperature are shown on site:
// only the centre's key opens them.
const sealedField = "sealed"

// journalCommands are the subcommands of "sentinelctl journal".
var journalCommands = map[string]cli.Command{
	"verify":  {Summary: "check the journal's whole hash chain and say where it first breaks", Run: journalVerify},
	"tail":    {Summary: "show the last passages (holder and temperature sealed)", Run: journalTail},
	"export":  {Summary: "write the passages between --from and --to as CSV or JSON lines", Run: journalExport},
	"salvage": {Summary: "queue the passages still readable in a damaged journal for the centre", Run: journalSalvage},
}

// runJournal runs "sentinelctl journal verify|tail|export|salvage".
func runJournal(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Dispatch(ctx, "sentinelctl journal", journalCommands, args, stdin, stdout, stderr)
}

// journalFlags are the flags every journal subcommand takes.
type journalFlags struct {
	dataDir, file, config *string
	asJSON                *bool
	// fromConfig is the configuration the data directory was read from
	// (--config), "" when it is --data-dir's.
	fromConfig string
}

// journalHelp is the -h of each journal subcommand.
var journalHelp = map[string]cli.Help{
	"verify": {
		Synopsis: "[--config FILE | --data-dir DIR | --file FILE] [--json]",
		Summary:  "Checks the journal's whole hash chain and says where it first breaks.",
	},
	"tail": {
		Synopsis: "[-n N] [--config FILE | --data-dir DIR | --file FILE] [--json]",
		Summary: "Shows the last passages, each with its reference (ref, what the guard display " +
			"shows a refused holder; ops find the passage with sentinel-central passage show REF; " +
			"\"-\" while the terminal is not enrolled); the holder and the temperature are sealed " +
			"to the centre's key and are shown as \"sealed\".",
	},
	"export": {
		Synopsis: "[--from TIME] [--to TIME] [--format csv|jsonl] [--out FILE] [--config FILE | --data-dir DIR | --file FILE]",
		Summary: "Writes the passages between --from and --to; the holder and the temperature " +
			"are sealed to the centre's key and are shown as \"sealed\". While sentineld runs, " +
			"it reads a copy of the journal taken at once.",
	},
	"salvage": {
		Synopsis: "[--data-dir DIR] [--dry-run] [--json] FILE",
		Summary: "Recovers every passage still readable in a damaged journal FILE (one sentineld " +
			"moved aside as journal.db.corrupt-TIME, or a copy) or in one of its logs (FILE.wal, " +
			"FILE.wal2) and queues it in the data directory; sentineld sends it to the centre, " +
			"which flags the passages lost.",
	},
}

func newJournalFlags(name string, stderr io.Writer) (*flag.FlagSet, *journalFlags) {
	fs := cli.NewFlagSet("sentinelctl journal "+name, stderr, journalHelp[name])
	return fs, &journalFlags{
		config:  fs.String("config", "", "the terminal's configuration `FILE`: the data directory is its data_dir"),
		dataDir: fs.String("data-dir", firmwareconfig.DefaultDataDir, "the terminal's data directory"),
		file:    fs.String("file", "", "a journal file (e.g. one moved aside) instead of the data directory's"),
		asJSON:  fs.Bool("json", false, "print JSON"),
	}
}

// parse parses args (no positional ones) and, with --config, takes the
// data directory from the configuration.
func (f *journalFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return err
	}
	if *f.config == "" {
		return nil
	}
	dataDirSet := false
	fs.Visit(func(fl *flag.Flag) { dataDirSet = dataDirSet || fl.Name == "data-dir" })
	if dataDirSet {
		return cli.Usagef("give --config or --data-dir, not both: the configuration names the data directory (data_dir)")
	}
	cfg, err := loadConfig(*f.config)
	if err != nil {
		return err
	}
	*f.dataDir, f.fromConfig = cfg.DataDir, *f.config
	return nil
}

// open opens the journal read-only, or a copy of it while sentineld holds it.
func (f *journalFlags) open(stderr io.Writer) (*journal.Reader, string, error) {
	path := *f.file
	if path == "" {
		path = journal.Path(*f.dataDir)
	}
	r, err := journal.OpenReader(path, time.Second)
	if err != nil {
		return nil, path, explainOpen(err, path, *f.file != "", f.fromConfig)
	}
	if r.Snapshot() {
		fmt.Fprintf(stderr, "note: sentineld holds %s; reading a copy taken now\n", path)
	}
	return r, path, nil
}

// keepDamaged is what to do with a damaged journal at path: keep it and
// its logs, which sentineld moves aside and salvages at its next start.
func keepDamaged(path string) string {
	return fmt.Sprintf("keep the files: at its next start sentineld moves the journal and its logs aside and sends the passages still readable in them to the centre (by hand: sentinelctl journal salvage FILE, for %s and each of its logs %s.wal and %s.wal2)", path, path, path)
}

// explainOpen says what went wrong opening the journal at path and what
// to do; file is whether --file named it, fromConfig the configuration
// that named the data directory ("": none).
func explainOpen(err error, path string, file bool, fromConfig string) error {
	switch {
	case errors.Is(err, os.ErrNotExist) && file:
		return fmt.Errorf("no journal at %s: check --file", path)
	case errors.Is(err, os.ErrNotExist) && fromConfig != "":
		return fmt.Errorf("no journal at %s, in the data_dir of %s: check data_dir there; sentineld writes the journal when it first starts", path, fromConfig)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no journal at %s: give the terminal's configuration with --config FILE, or its data_dir with --data-dir DIR", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: the journal's files belong to the user sentineld runs as; run sentinelctl as root (sudo sentinelctl ...)", err)
	case errors.Is(err, journal.ErrCorrupt):
		return fmt.Errorf("%s is damaged and cannot be read as a journal: %w; %s", path, err, keepDamaged(path))
	}
	return err
}

// device returns the enrolled device id that passage references name,
// read from the data directory (also with --file: a journal moved aside
// there is the same terminal's); "" when the terminal is not enrolled.
func (f *journalFlags) device() string { return enrolledDevice(*f.dataDir) }

// verifyReport is the output of journal verify.
type verifyReport struct {
	File string `json:"file"`
	OK   bool   `json:"ok"`
	journal.VerifyResult
}

func journalVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, jf := newJournalFlags("verify", stderr)
	return cli.Exit(stderr, "sentinelctl journal verify", func() error {
		if err := jf.parse(fs, args); err != nil {
			return err
		}
		r, path, err := jf.open(stderr)
		if err != nil {
			return err
		}
		defer r.Close()
		res, err := r.Verify()
		if err != nil {
			return fmt.Errorf("%s is not a usable journal: %w", path, err)
		}
		rep := verifyReport{File: path, OK: res.Break == nil, VerifyResult: res}
		if *jf.asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "journal %s\nepoch %s, created %s\n", path, res.Epoch, res.Created.Format(time.RFC3339))
			if res.Records == 0 {
				fmt.Fprintf(stdout, "no records stored (%d purged)\n", res.Anchor)
			} else {
				fmt.Fprintf(stdout, "records %d to %d (%d stored, %d purged), acknowledged by the centre through %d\n",
					res.First, res.Last, res.Records, res.Anchor, res.Acked)
			}
			if res.Predecessor != "" {
				fmt.Fprintf(stdout, "started after %s was moved aside: %s\n", res.Predecessor, res.Reason)
			}
			if b := res.Branch; b != nil {
				fmt.Fprintf(stdout, "forked at record %d: this journal is a restored or cloned copy, and the centre holds other records of its epoch from there; records %d on are delivered under epoch %s\n",
					b.From, b.From, b.Epoch)
			}
			if res.Break != nil {
				fmt.Fprintf(stdout, "hash chain: BROKEN at record %d: %s\n", res.Break.Seq, res.Break.Reason)
				fmt.Fprintln(stdout, keepDamaged(path))
			} else {
				fmt.Fprintf(stdout, "hash chain: OK, head %s\n", res.Head)
			}
		}
		if !rep.OK {
			return cli.ErrReported
		}
		return nil
	}())
}

// exportRow is one passage as tail and export show it.
type exportRow struct {
	Epoch         string            `json:"epoch"`
	Seq           uint64            `json:"seq"`
	Time          string            `json:"time"`
	ClockTrusted  bool              `json:"clock_trusted"`
	Lane          string            `json:"lane"`
	Format        string            `json:"format,omitempty"`
	Issuer        string            `json:"issuer,omitempty"`
	KeyID         string            `json:"key_id,omitempty"`
	CodeColour    string            `json:"code_colour,omitempty"`
	StatusColour  string            `json:"status_colour,omitempty"`
	Decision      string            `json:"decision"`
	Reasons       []string          `json:"reasons"`
	PolicyVersion uint64            `json:"policy_version"`
	Bundles       map[string]uint64 `json:"bundles,omitempty"`
	OverrideWho   string            `json:"override_who,omitempty"`
	OverrideWhy   string            `json:"override_why,omitempty"`
	// OverrideOf is the seq of the passage an override admits (0 in
	// records of version 1, which do not name it).
	OverrideOf  uint64 `json:"override_of,omitempty"`
	Holder      string `json:"holder"`
	Temperature string `json:"temperature"`
	DataKey     string `json:"data_key"`
	// Ref is the passage's reference (passage.Ref), as the guard display
	// shows it and sentinel-central passage show finds it; empty when the
	// terminal is not enrolled (no device id to derive it from).
	Ref string `json:"ref,omitempty"`
}

var csvHeader = []string{"epoch", "seq", "time", "clock_trusted", "lane", "format", "issuer", "key_id",
	"code_colour", "status_colour", "decision", "reasons", "policy_version", "bundles",
	"override_who", "override_why", "holder", "temperature", "data_key", "override_of", "ref"}

// enrolledDevice returns the device id of the terminal's enrolment in
// dataDir, as sentineld names the terminal in passage references; "" when
// it is not enrolled or the certificate cannot be read.
func enrolledDevice(dataDir string) string {
	pem, err := os.ReadFile(filepath.Join(dataDir, enrol.CertFile))
	if err != nil {
		return ""
	}
	c, err := enrol.ParseCertificatePEM(pem)
	if err != nil {
		return ""
	}
	if id, ok := enrol.DeviceID(c); ok {
		return id
	}
	return c.Subject.CommonName
}

// newExportRow converts a record; device is the enrolled device id that
// its reference names ("": no reference).
func newExportRow(r *journal.Record, device string) exportRow {
	row := exportRow{
		Epoch: r.Epoch.String(), Seq: uint64(r.Seq), Time: r.Time.UTC().Format(time.RFC3339Nano),
		ClockTrusted: r.ClockTrusted, Lane: r.Lane, Format: string(r.Format), Issuer: r.Issuer,
		KeyID: hex.EncodeToString(r.KeyID), StatusColour: r.StatusColour, Decision: string(r.Decision),
		Reasons: r.Reasons, PolicyVersion: r.PolicyVersion, Bundles: r.Bundles,
		Holder: sealedField, Temperature: sealedField, DataKey: r.Sealed.KeyID.String(),
	}
	if r.Reasons == nil {
		row.Reasons = []string{}
	}
	if device != "" {
		row.Ref = passage.NewRef(device, r.Epoch, uint64(r.Seq), r.Time).String()
	}
	if r.CodeColour != 0 {
		row.CodeColour = r.CodeColour.String()
	}
	if r.Override != nil {
		row.OverrideWho, row.OverrideWhy, row.OverrideOf = r.Override.Who, r.Override.Why, uint64(r.Override.Of)
	}
	return row
}

func (row exportRow) csv() []string {
	kinds := make([]string, 0, len(row.Bundles))
	for k := range row.Bundles {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	overrideOf := ""
	if row.OverrideOf != 0 {
		overrideOf = strconv.FormatUint(row.OverrideOf, 10)
	}
	bundles := make([]string, len(kinds))
	for i, k := range kinds {
		bundles[i] = k + "=" + strconv.FormatUint(row.Bundles[k], 10)
	}
	return []string{row.Epoch, strconv.FormatUint(row.Seq, 10), row.Time, strconv.FormatBool(row.ClockTrusted),
		row.Lane, row.Format, row.Issuer, row.KeyID, row.CodeColour, row.StatusColour, row.Decision,
		strings.Join(row.Reasons, ";"), strconv.FormatUint(row.PolicyVersion, 10), strings.Join(bundles, ";"),
		row.OverrideWho, row.OverrideWhy, row.Holder, row.Temperature, row.DataKey, overrideOf, row.Ref}
}

func journalTail(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, jf := newJournalFlags("tail", stderr)
	n := fs.Int("n", 20, "how many passages")
	return cli.Exit(stderr, "sentinelctl journal tail", func() error {
		if err := jf.parse(fs, args); err != nil {
			return err
		}
		if *n <= 0 {
			return cli.Usagef("-n %d: want a positive count", *n)
		}
		r, _, err := jf.open(stderr)
		if err != nil {
			return err
		}
		defer r.Close()
		stored, seqs, err := r.Tail(*n)
		if err != nil {
			return err
		}
		bad := logDamaged(r, stderr, "tail")
		device := jf.device()
		if device == "" && len(stored) > 0 {
			fmt.Fprintf(stderr, "note: this terminal is not enrolled (no %s in %s): the passages have no reference (ref -)\n", enrol.CertFile, *jf.dataDir)
		}
		enc := json.NewEncoder(stdout)
		for i, b := range stored {
			rec, err := journal.DecodeRecord(b)
			if err != nil {
				fmt.Fprintf(stderr, "sentinelctl journal tail: record %d: %v (run sentinelctl journal verify)\n", seqs[i], err)
				bad = cli.ErrReported
				continue
			}
			row := newExportRow(rec, device)
			if *jf.asJSON {
				enc.Encode(row)
				continue
			}
			clock := ""
			if !row.ClockTrusted {
				clock = " clock-untrusted"
			}
			reasons := strings.Join(row.Reasons, ",")
			if reasons == "" {
				reasons = "-"
			}
			override := ""
			if row.OverrideWho != "" || row.OverrideWhy != "" {
				override = fmt.Sprintf(" override=%s/%s", row.OverrideWho, row.OverrideWhy)
				if row.OverrideOf != 0 {
					override += fmt.Sprintf(" of=%d", row.OverrideOf)
				}
			}
			colour := row.CodeColour
			if colour == "" {
				colour = "-"
			}
			status := row.StatusColour
			if status == "" {
				status = "-"
			}
			ref := row.Ref
			if ref == "" {
				ref = "-"
			}
			fmt.Fprintf(stdout, "%6d %s ref=%-14s %-6s %-6s %-24s code=%s status=%s %s %s holder=sealed temperature=sealed%s%s\n",
				row.Seq, row.Time, ref, row.Lane, row.Decision, reasons, colour, status, row.Format, row.Issuer, override, clock)
		}
		return bad
	}())
}

func journalExport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, jf := newJournalFlags("export", stderr)
	var fromT, toT cli.Time
	fs.Var(&fromT, "from", "first passage `TIME` to export (inclusive)")
	fs.Var(&toT, "to", "passage `TIME` to stop at (exclusive)")
	format := fs.String("format", "", "csv or jsonl (default csv; jsonl with --json)")
	outPath := fs.String("out", "", "write to FILE instead of standard output")
	return cli.Exit(stderr, "sentinelctl journal export", func() error {
		if err := jf.parse(fs, args); err != nil {
			return err
		}
		from, to := fromT.T, toT.T
		if !from.IsZero() && !to.IsZero() && !to.After(from) {
			return cli.Usagef("--to %s is not after --from %s", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
		}
		if *format == "" {
			*format = "csv"
			if *jf.asJSON {
				*format = "jsonl"
			}
		}
		if *format != "csv" && *format != "jsonl" {
			return cli.Usagef("--format %q: want csv or jsonl", *format)
		}
		r, _, err := jf.open(stderr)
		if err != nil {
			return err
		}
		defer r.Close()
		out := stdout
		var file *os.File
		if *outPath != "" {
			if file, err = os.OpenFile(*outPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
				return fmt.Errorf("%w (the export never overwrites a file)", err)
			}
			out = file
		}
		cw := csv.NewWriter(out)
		enc := json.NewEncoder(out)
		if *format == "csv" {
			cw.Write(csvHeader)
		}
		n, device := 0, jf.device()
		err = r.Range(1, 0, func(s journal.Seq, b []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := journal.DecodeRecord(b)
			if err != nil {
				return fmt.Errorf("record %d: %w (run sentinelctl journal verify)", s, err)
			}
			if (!from.IsZero() && rec.Time.Before(from)) || (!to.IsZero() && !rec.Time.Before(to)) {
				return nil
			}
			n++
			row := newExportRow(rec, device)
			if *format == "csv" {
				return cw.Write(row.csv())
			}
			return enc.Encode(row)
		})
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if file != nil {
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
		if file != nil {
			fmt.Fprintf(stderr, "exported %d passages to %s\n", n, *outPath)
		}
		return logDamaged(r, stderr, "export")
	}())
}

// logDamaged says on stderr when the journal's logs are damaged, so that
// what sub (tail, export) shows stops before the damage, and returns
// cli.ErrReported then (exit status 1: the output is not the whole
// journal).
func logDamaged(r *journal.Reader, stderr io.Writer, sub string) error {
	err := r.LogDamage()
	if err == nil {
		return nil
	}
	fmt.Fprintf(stderr, "sentinelctl journal %s: the journal's log is damaged (%v): the passages after the damage are not shown; run sentinelctl journal verify\n", sub, err)
	return cli.ErrReported
}

// salvageReport is the output of journal salvage.
type salvageReport struct {
	*journal.Salvage
	Queued string `json:"queued,omitempty"`
}

func journalSalvage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl journal salvage", stderr, journalHelp["salvage"])
	dataDir := fs.String("data-dir", firmwareconfig.DefaultDataDir, "the terminal's data directory, where the salvage is queued for sentineld")
	dryRun := fs.Bool("dry-run", false, "report what can be salvaged, queue nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	return cli.Exit(stderr, "sentinelctl journal salvage", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return cli.Usagef("name one damaged journal FILE")
		}
		s, err := journal.SalvageFile(pos[0])
		if err != nil {
			return err
		}
		if len(s.Records) == 0 {
			return fmt.Errorf("no passage is readable in %s: nothing to send to the centre", pos[0])
		}
		rep := salvageReport{Salvage: s}
		if !*dryRun {
			if st, err := os.Stat(*dataDir); err != nil || !st.IsDir() {
				return fmt.Errorf("no data directory %s: check --data-dir (the terminal's data_dir)", *dataDir)
			}
			if rep.Queued, err = s.Queue(*dataDir, time.Now()); err != nil {
				return err
			}
			if _, err := handToDataDirOwner(*dataDir); err != nil {
				return fmt.Errorf("queued, but %w", err)
			}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		fmt.Fprintf(stdout, "salvaged %d passages of epoch %s (records %d to %d) and %d data keys from %s\n",
			len(s.Records), s.Epoch, s.First(), s.Last(), len(s.Keys), pos[0])
		for _, b := range s.Breaks {
			fmt.Fprintf(stdout, "chain break at record %d: %s\n", b.Seq, b.Reason)
		}
		if s.Others > 0 {
			fmt.Fprintf(stdout, "left out %d records of other epochs (debris, not this journal's)\n", s.Others)
		}
		if rep.Queued != "" {
			fmt.Fprintf(stdout, "queued as %s: sentineld sends it to the centre (within a minute while it runs and is online)\n", rep.Queued)
		} else {
			fmt.Fprintln(stdout, "dry run: nothing queued")
		}
		return nil
	}())
}
