package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"sentinel/internal/keyrate"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
)

// Authenticator names the device that sent a request. Production must
// take the device from the verified TLS client certificate
// (r.TLS.PeerCertificates); any other source is for tests.
type Authenticator interface {
	// Device returns the authenticated device id, or an error when the
	// request carries no acceptable identity.
	Device(r *http.Request) (string, error)
}

// Defaults of Options.
const (
	DefaultMaxRequest  = 8 << 20  // compressed body bytes
	DefaultMaxInflated = 16 << 20 // body bytes once decompressed (the client sends ≤ 4 MiB of records)
	DefaultRate        = 2.0      // requests per second per device
	DefaultBurst       = 10
	DefaultTimeout     = 30 * time.Second
)

// Options configure a Handler.
type Options struct {
	Store Store         // required
	Auth  Authenticator // required
	// MaxRequest bounds the compressed body (DefaultMaxRequest when 0);
	// MaxInflated the body once decompressed (DefaultMaxInflated when 0),
	// which bounds a request's memory: zlib inflates up to 1000-fold.
	MaxRequest  int64
	MaxInflated int
	// Rate and Burst are a token bucket per device (DefaultRate,
	// DefaultBurst when 0); a device over it gets 429 with Retry-After.
	Rate  float64
	Burst int
	// Timeout bounds one ingest (DefaultTimeout when 0).
	Timeout time.Duration
	// Now is the clock for the rate limit (time.Now when nil).
	Now func() time.Time
	// Logger gets chain breaks and store failures (slog.Default when nil).
	Logger *slog.Logger
	// Observe, when set, is told what each upload request came to, for
	// the centre's metrics.
	Observe func(UploadOutcome)
}

// UploadOutcome is what one upload request came to.
type UploadOutcome struct {
	// Device is the authenticated device; empty when there was none.
	Device string
	// Refused is the refusal's code (protocol.CodeMalformed...); empty
	// when the batch was stored, or held already.
	Refused string
	// Records is the batch's length when it reached the store, Stored
	// how many of them the store kept (past its mark), Breaks how many of
	// those break the hash chain.
	Records, Stored, Breaks int
	// Ingest is the time the store took; zero when the batch did not
	// reach it.
	Ingest time.Duration
}

// Handler serves the upload of every protocol version from
// protocol.MinVersion to protocol.Version.
type Handler struct {
	opts Options
	mux  *http.ServeMux

	limit *keyrate.Limiter
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("server: new: Store and Auth are required")
	}
	if opts.MaxRequest <= 0 {
		opts.MaxRequest = DefaultMaxRequest
	}
	if opts.MaxInflated <= 0 {
		opts.MaxInflated = DefaultMaxInflated
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), limit: keyrate.New(rate.Limit(opts.Rate), opts.Burst)}
	for v := protocol.MinVersion; v <= protocol.Version; v++ {
		h.mux.HandleFunc("POST "+protocol.UploadPath(v), func(w http.ResponseWriter, r *http.Request) { h.upload(w, r, v) })
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, version int) {
	var out UploadOutcome
	if h.opts.Observe != nil {
		defer func() { h.opts.Observe(out) }()
	}
	// Every refusal below goes through the package's refuse, noting
	// its code for Observe.
	refuse := func(w http.ResponseWriter, status int, code, msg string) {
		out.Refused = code
		refuse(w, status, code, msg)
	}
	device, err := h.opts.Auth.Device(r)
	out.Device = device
	if err != nil {
		refuse(w, http.StatusUnauthorized, protocol.CodeIdentity, "the terminal is not identified: enrol it and use its client certificate")
		return
	}
	if wait := h.limit.Take(device, h.opts.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		refuse(w, http.StatusTooManyRequests, protocol.CodeRate, "too many uploads from this terminal: wait for Retry-After")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxRequest))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			refuse(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge,
				fmt.Sprintf("request larger than %d bytes: send fewer records", h.opts.MaxRequest))
			return
		}
		refuse(w, http.StatusBadRequest, protocol.CodeMalformed, "request body could not be read: "+err.Error())
		return
	}
	u, err := protocol.DecodeUpload(body, h.opts.MaxInflated)
	if err != nil {
		switch {
		case errors.Is(err, protocol.ErrTooLarge):
			refuse(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, err.Error()+": send fewer records")
		case errors.Is(err, protocol.ErrVersion):
			refuse(w, http.StatusBadRequest, protocol.CodeVersion, err.Error())
		default:
			refuse(w, http.StatusBadRequest, protocol.CodeMalformed, err.Error()+": nothing was stored")
		}
		return
	}
	if u.Version != version {
		refuse(w, http.StatusBadRequest, protocol.CodeVersion,
			fmt.Sprintf("body of version %d sent to the path of version %d", u.Version, version))
		return
	}
	if u.Device != device {
		refuse(w, http.StatusForbidden, protocol.CodeIdentity,
			fmt.Sprintf("upload names device %q but the certificate is %q: nothing was stored", u.Device, device))
		return
	}
	b, err := Check(u)
	if err != nil {
		refuse(w, http.StatusBadRequest, protocol.CodeMalformed, err.Error()+": nothing was stored")
		return
	}
	b.Branch = u.Branch
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	start := time.Now()
	res, err := h.opts.Store.Ingest(ctx, b)
	out.Records, out.Ingest = len(b.Records), max(time.Since(start), time.Nanosecond)
	var (
		gap  *GapError
		fork *ForkError
		site *SiteError
	)
	switch {
	case errors.As(err, &fork):
		out.Refused = protocol.CodeFork
		h.opts.Logger.Warn("sync: journal fork: the terminal holds other records than the centre (restored or cloned data); recorded, its records go to a branch",
			"device", device, "epoch", u.Epoch, "branch_of", u.Branch, "at", fork.At, "centre_mark", fork.Mark.Seq, "branch", fork.Branch)
		answer(w, http.StatusConflict, &protocol.Response{Version: version, HighWater: fork.Mark.Seq, MarkHash: fork.Mark.Hash,
			Fork: fork.At, Branch: fork.Branch, Code: protocol.CodeFork,
			Message: fmt.Sprintf("the centre holds other records of this journal from %d (up to %d): the terminal's data was restored from an older copy or cloned; send the records from %d under branch %s",
				fork.At, fork.Mark.Seq, fork.At, fork.Branch)})
		return
	case errors.Is(err, ErrEpochOwned):
		h.opts.Logger.Warn("sync: upload to another terminal's journal epoch refused", "device", device, "epoch", u.Epoch, "err", err)
		refuse(w, http.StatusForbidden, protocol.CodeEpochOwner,
			fmt.Sprintf("journal epoch %s belongs to another terminal: nothing was stored; a terminal must upload its own journal (was this card copied from another terminal? re-install it and enrol it afresh)", u.Epoch))
		return
	case errors.Is(err, ErrUnknownBranch):
		out.Refused = protocol.CodeBranch
		h.opts.Logger.Warn("sync: upload to an unknown branch refused", "device", device, "epoch", u.Epoch, "branch", u.Branch, "err", err)
		answer(w, http.StatusConflict, &protocol.Response{Version: version, Code: protocol.CodeBranch,
			Message: fmt.Sprintf("the centre knows no branch %s of journal epoch %s from this terminal: nothing was stored; send the records under the epoch again", u.Branch, u.Epoch)})
		return
	case errors.As(err, &gap):
		out.Refused = protocol.CodeGap
		answer(w, http.StatusConflict, &protocol.Response{Version: version, HighWater: gap.Mark, Gap: true,
			Code: protocol.CodeGap, Message: fmt.Sprintf("the centre holds up to %d: resume from %d", gap.Mark, gap.Mark+1)})
		return
	case errors.Is(err, ErrInvalid):
		h.opts.Logger.Warn("sync: batch refused by the store", "device", device, "epoch", u.Epoch, "first", u.First, "err", err)
		refuse(w, http.StatusBadRequest, protocol.CodeMalformed, "the centre refuses this batch: "+err.Error())
		return
	case errors.As(err, &site):
		h.opts.Logger.Warn("sync: upload of a terminal registered at another site than its passages are kept at refused",
			"device", device, "epoch", u.Epoch, "site", site.Site, "kept_at", site.Kept, "err", err)
		refuse(w, http.StatusForbidden, protocol.CodeIdentity,
			fmt.Sprintf("this terminal is registered at site %q, but its passages are kept at site %q, where it first uploaded (on that site's cluster): nothing was stored. "+
				"A terminal stays at the site of its first upload: to use it at site %q, enrol it afresh under a new id there; or register it at site %q again. "+
				"('clusters move' moves a whole site to another cluster, not a terminal to another site.)",
				site.Site, site.Kept, site.Site, site.Kept))
		return
	case errors.Is(err, ErrBusy):
		// An expected, short condition (a site being moved): the
		// terminal's next upload overcomes it.
		h.opts.Logger.Info("sync: upload deferred, the store is busy; the terminal retries", "device", device, "epoch", u.Epoch, "first", u.First, "err", err)
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusServiceUnavailable, protocol.CodeUnavailable, "the centre cannot store the upload now (its passages are being moved): the terminal retries")
		return
	case err != nil:
		if r.Context().Err() == nil {
			h.opts.Logger.Error("sync: ingest", "device", device, "epoch", u.Epoch, "first", u.First, "err", err)
		}
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusServiceUnavailable, protocol.CodeUnavailable, "the centre cannot store the upload now: the terminal retries")
		return
	}
	breaks := 0
	for _, rec := range res.Kept {
		if rec.Break != "" {
			if breaks == 0 {
				h.opts.Logger.Warn("sync: hash chain break stored and flagged", "device", device, "epoch", u.Epoch, "seq", rec.Seq, "reason", rec.Break)
			}
			breaks++
		}
	}
	if breaks > 1 {
		h.opts.Logger.Warn("sync: more hash chain breaks in the same upload", "device", device, "epoch", u.Epoch, "breaks", breaks)
	}
	out.Stored, out.Breaks = len(res.Kept), breaks
	answer(w, http.StatusOK, &protocol.Response{Version: version, HighWater: res.Mark.Seq, MarkHash: res.Mark.Hash, Breaks: breaks})
}

// Check decodes every record of u and places it in the chain. It refuses
// the whole upload when a record is not a canonical journal record or
// carries another epoch or seq than its place; a record whose link does
// not hold gets Break (see the package doc). Record.Hash is
// journal.Chain(record's own prev link, stored bytes).
func Check(u *protocol.Upload) (*Batch, error) {
	b := &Batch{Device: u.Device, Epoch: u.Epoch, Keys: u.Keys, Records: make([]Record, len(u.Records))}
	prev := u.Prev
	for i, stored := range u.Records {
		seq := u.First + journal.Seq(i)
		rec, err := journal.DecodeRecord(stored)
		if err != nil {
			return nil, fmt.Errorf("server: record %d: %w", seq, err)
		}
		if rec.Epoch != u.Epoch || rec.Seq != seq {
			return nil, fmt.Errorf("server: record at %d carries epoch %v seq %d, want epoch %v", seq, rec.Epoch, rec.Seq, u.Epoch)
		}
		// The hash follows the record's own link, so that one altered
		// record flags one break (at the record after it), not every
		// record to the end.
		r := Record{Seq: seq, Stored: stored, Rec: rec, Hash: journal.Chain(rec.Prev, stored), Salvaged: u.Salvaged}
		switch {
		case seq == 1 && rec.Prev != journal.Genesis(u.Epoch):
			r.Break = BreakFirst
		case rec.Prev != prev:
			r.Break = BreakLink
		}
		b.Records[i] = r
		prev = r.Hash
	}
	return b, nil
}
