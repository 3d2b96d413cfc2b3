package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"sentinel/sync/journal"
	"sentinel/sync/protocol"
)

// Source is the journal as the client uses it; *journal.Journal is one.
type Source interface {
	Epoch() journal.Epoch
	Acked() (journal.Seq, error)
	Range(from, to journal.Seq, fn func(journal.Seq, []byte) error) error
	Ack(epoch journal.Epoch, seq journal.Seq) error
	Keys() ([][]byte, error)
	// Branch and SetBranch keep where the centre stores the records from
	// a fork on (see journal.Branch).
	Branch() (journal.Branch, error)
	SetBranch(journal.Branch) error
}

var _ Source = (*journal.Journal)(nil)

// Defaults of Options.
const (
	DefaultBatch      = 2048
	DefaultMaxBytes   = 4 << 20
	DefaultTimeout    = 30 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultInterval   = 30 * time.Second
	// MaxRetryAfter caps a Retry-After the client honours.
	MaxRetryAfter = time.Hour
)

// Options configure a Client.
type Options struct {
	// URL is the centre's base URL, e.g. "https://central.example:8443".
	URL string
	// Device is this terminal's id, as in its client certificate.
	Device string
	// HTTP is the client to use (with the terminal's TLS certificate);
	// http.DefaultClient when nil.
	HTTP *http.Client
	// Batch bounds the records per request (DefaultBatch when 0, at most
	// protocol.MaxRecords); MaxBytes their stored bytes (DefaultMaxBytes).
	Batch    int
	MaxBytes int
	// Timeout bounds each request (DefaultTimeout when 0).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the backoff after failures
	// (DefaultMinBackoff, DefaultMaxBackoff when 0).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Interval is how often an idle client looks for new records without
	// a Kick (DefaultInterval when 0).
	Interval time.Duration
	// Rand returns a number in [0, 1) for the jitter (rand.Float64 when
	// nil): a backoff of d waits d/2 + Rand()·d/2.
	Rand func() float64
	// Logger gets failures and recoveries (slog.Default when nil).
	Logger *slog.Logger
	// Salvaged marks the source as records salvaged from a damaged
	// journal (journal.SalvageSource): its seqs may have gaps, each run
	// goes up on its own, flagged, and the centre records a lost range
	// as a chain break instead of answering a gap.
	Salvaged bool
}

// Client uploads a journal to the centre. Start it once; Stop it before
// closing the journal.
type Client struct {
	src  Source
	opts Options
	kick chan struct{}

	mu       sync.Mutex // guards batch, next, keysSent and behind
	loop     loop
	batch    int         // current records per request (halved on 413)
	next     journal.Seq // resume point after a gap answer; 0: Acked()+1
	keysSent int         // data key entries the centre has acknowledged
	behind   journal.Seq // the centre's mark when it held more than the journal, logged once
}

// New returns a Client for src.
func New(src Source, opts Options) (*Client, error) {
	if src == nil || opts.URL == "" || opts.Device == "" {
		return nil, errors.New("client: new: Source, URL and Device are required")
	}
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	opts.Batch = min(opts.Batch, protocol.MaxRecords)
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	return &Client{src: src, opts: opts, kick: make(chan struct{}, 1), batch: opts.Batch}, nil
}

// Start starts the upload loop; it runs until ctx ends or Stop.
func (c *Client) Start(ctx context.Context) { c.loop.start(ctx, c.run) }

// Stop stops the loop and waits for it; an upload in flight is abandoned
// (the centre drops it, or keeps it and the next upload finds it stored).
func (c *Client) Stop() { c.loop.stop() }

// Kick asks the loop to upload now (after a passage was journalled). It
// does not cut short a backoff after failures.
func (c *Client) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Errors of an upload.
var (
	// ErrRefused matches an upload, a download or a health report the
	// centre refused (a 4xx other than 408 and 429, and other than the
	// answers each handles itself, such as the upload's 409 and 413):
	// retrying the same request will not help until the terminal or the
	// centre changes.
	ErrRefused = errors.New("client: refused by the centre")
	// ErrLost matches a gap the journal cannot fill: the centre wants
	// records the journal no longer holds.
	ErrLost = errors.New("client: records the centre needs are no longer in the journal")
)

// RetryError is a failure of an upload, a download or a health report
// after which the centre asked to wait (Retry-After).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// run is the upload loop: Drain at start, on Kick and every Interval,
// with the shared retry after failures.
func (c *Client) run(ctx context.Context) {
	r := newRetry("upload", c.opts.Interval, c.opts.MinBackoff, c.opts.MaxBackoff, c.opts.Rand, c.opts.Logger)
	r.run(ctx, c.kick, c.Drain)
}

// Drain uploads until the centre holds every record of the journal's
// epoch, or an upload fails. The loop calls it; tests and sentinelctl may
// too (not while the loop runs).
func (c *Client) Drain(ctx context.Context) error {
	for {
		done, err := c.once(ctx)
		if err != nil || done {
			return err
		}
	}
}

// Flush is Drain for a caller without the loop (the daemon's last upload
// at shutdown, a salvage's delivery): where the centre asks to wait
// (429 or 503 with Retry-After), it waits and goes on, as long as ctx
// leaves time for the wait; otherwise it returns the error as Drain does.
func (c *Client) Flush(ctx context.Context) error {
	for {
		err := c.Drain(ctx)
		var re *RetryError
		if !errors.As(err, &re) {
			return err
		}
		wait := min(re.After, MaxRetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// errStop ends a Range early.
var errStop = errors.New("stop")

// once uploads one range. done reports that there was nothing to upload.
func (c *Client) once(ctx context.Context) (done bool, err error) {
	epoch := c.src.Epoch()
	c.mu.Lock()
	next, batch, keysSent := c.next, c.batch, c.keysSent
	c.mu.Unlock()
	if next == 0 {
		acked, err := c.src.Acked()
		if err != nil {
			return false, fmt.Errorf("client: read acknowledged cursor: %w", err)
		}
		next = acked + 1
	}
	branch, err := c.src.Branch()
	if err != nil {
		return false, fmt.Errorf("client: read the journal's branch: %w", err)
	}
	to := next + journal.Seq(batch) - 1
	if branch.From > next {
		to = min(to, branch.From-1) // a range lies on one side of the fork
	}
	var (
		recs  [][]byte
		first journal.Seq
		size  int
	)
	err = c.src.Range(next, to, func(s journal.Seq, b []byte) error {
		if len(recs) == 0 {
			first = s
		} else if size+len(b) > c.opts.MaxBytes || s != first+journal.Seq(len(recs)) {
			return errStop // an upload is one contiguous run
		}
		recs = append(recs, b)
		size += len(b)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("client: read journal: %w", err)
	}
	if len(recs) == 0 {
		return true, nil
	}
	if first != next && !c.opts.Salvaged {
		return false, fmt.Errorf("%w: the centre holds up to %d, the journal starts at %d", ErrLost, next-1, first)
	}
	rec, err := journal.DecodeRecord(recs[0])
	if err != nil {
		return false, fmt.Errorf("client: journal record %d: %w", first, err)
	}
	keys, err := c.src.Keys()
	if err != nil {
		return false, fmt.Errorf("client: read data keys: %w", err)
	}
	u := &protocol.Upload{Device: c.opts.Device, Epoch: epoch, First: first, Prev: rec.Prev, Records: recs, Salvaged: c.opts.Salvaged}
	if branch.From > 0 && first >= branch.From {
		u.Branch = branch.Epoch
	}
	if len(keys) != keysSent {
		u.Keys = keys
	}
	body, err := protocol.EncodeUpload(u)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	r, status, header, err := c.post(ctx, body)
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusOK && r != nil && !r.Gap:
		hw := r.HighWater
		if hw < u.Last() {
			return false, fmt.Errorf("client: centre acknowledged up to %d of a range up to %d", hw, u.Last())
		}
		if hw > u.Last() {
			// The centre holds more of this epoch than was sent, and
			// what was sent equals what it holds (it compared it).
			var err error
			if hw, err = c.beyond(epoch, u, r); err != nil {
				return false, err
			}
		}
		if err := c.src.Ack(epoch, hw); err != nil {
			return false, fmt.Errorf("client: acknowledge %d: %w", hw, err)
		}
		c.mu.Lock()
		c.next = hw + 1
		c.keysSent = len(keys)
		c.mu.Unlock()
		return false, nil
	case status == http.StatusConflict && r != nil && r.Code == protocol.CodeFork:
		if r.Fork < u.First || r.Fork > u.Last() || r.Branch == (journal.Epoch{}) || r.Branch == epoch {
			return false, fmt.Errorf("client: centre answered a fork at %d (branch %s) for a range %d..%d", r.Fork, r.Branch, u.First, u.Last())
		}
		if err := c.src.SetBranch(journal.Branch{From: r.Fork, Epoch: r.Branch}); err != nil {
			return false, fmt.Errorf("client: record the fork at %d: %w", r.Fork, err)
		}
		c.opts.Logger.Warn("sync: the centre holds other records of this journal: the data directory was restored from an older copy or the card cloned; the passages from the fork on go to a new branch epoch at the centre",
			"epoch", epoch, "fork", r.Fork, "centre_mark", r.HighWater, "centre_mark_hash", r.MarkHash, "branch", r.Branch)
		c.mu.Lock()
		c.next, c.keysSent = r.Fork, 0 // the branch's data keys are sent again
		c.mu.Unlock()
		return false, nil
	case status == http.StatusConflict && r != nil && r.Code == protocol.CodeBranch && u.Branch != (journal.Epoch{}):
		// The centre lost the branch (restored from a backup): send the
		// records under the epoch again; a fork is found anew.
		c.opts.Logger.Warn("sync: the centre does not know this journal's branch; sending under the epoch again", "epoch", epoch, "branch", u.Branch)
		if err := c.src.SetBranch(journal.Branch{}); err != nil {
			return false, fmt.Errorf("client: forget the branch: %w", err)
		}
		c.mu.Lock()
		c.next, c.keysSent = 0, 0
		c.mu.Unlock()
		return false, nil
	case status == http.StatusConflict && r != nil && r.Gap:
		if r.HighWater+1 == next {
			return false, fmt.Errorf("client: centre answered a gap at its own mark %d", r.HighWater)
		}
		c.mu.Lock()
		c.next = r.HighWater + 1
		c.mu.Unlock()
		return false, nil
	case status == http.StatusRequestEntityTooLarge && len(recs) > 1:
		c.mu.Lock()
		c.batch = max(1, len(recs)/2)
		c.mu.Unlock()
		return false, nil
	}
	err = fmt.Errorf("client: upload: centre answered %d", status)
	if r != nil && r.Message != "" {
		err = fmt.Errorf("client: upload: centre answered %d %s: %s", status, r.Code, r.Message)
	}
	return false, classify(status, header, err)
}

// beyond decides what to acknowledge when the centre's mark r.HighWater
// lies past the range u sent: the mark itself when the journal holds the
// same record there (r.MarkHash), as after another upload of the same
// journal; otherwise only u's last record. The journal then either ends
// before the mark (behind: a restored copy that wrote nothing new yet) or
// holds another record there (diverged); either way its next upload is
// compared in turn, and the first record the centre holds otherwise
// draws a fork answer.
func (c *Client) beyond(epoch journal.Epoch, u *protocol.Upload, r *protocol.Response) (journal.Seq, error) {
	var mine []byte
	err := c.src.Range(r.HighWater, r.HighWater, func(_ journal.Seq, b []byte) error {
		mine = b
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("client: read journal record %d: %w", r.HighWater, err)
	}
	state := "behind"
	if mine != nil {
		state = "diverged"
		if rec, err := journal.DecodeRecord(mine); err == nil && r.MarkHash != (journal.Hash{}) && journal.Chain(rec.Prev, mine) == r.MarkHash {
			return r.HighWater, nil
		}
	}
	c.mu.Lock()
	first := c.behind != r.HighWater
	c.behind = r.HighWater
	c.mu.Unlock()
	if first {
		msg := "sync: the centre holds more of this journal than the terminal has: its data directory was restored from an older copy; its next passages go to a branch"
		if state == "diverged" {
			msg = "sync: the centre holds another record of this journal at its mark: the data directory was restored from an older copy or the card cloned; the records from the fork on go to a branch"
		}
		c.opts.Logger.Warn(msg, "epoch", epoch, "sent_up_to", u.Last(), "centre_mark", r.HighWater, "state", state)
	}
	return u.Last(), nil
}

// post sends one upload with its own timeout. r is nil when the answer is
// not a protocol response.
func (c *Client) post(ctx context.Context, body []byte) (r *protocol.Response, status int, h http.Header, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.URL+protocol.UploadPath(protocol.Version), bytes.NewReader(body))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("client: upload: %w", err)
	}
	req.Header.Set("Content-Type", protocol.UploadType)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("client: upload: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxResponse+1))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("client: upload: read answer: %w", err)
	}
	if resp.Header.Get("Content-Type") == protocol.ResponseType {
		r, err = protocol.DecodeResponse(b)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("client: upload: answer %d: %w", resp.StatusCode, err)
		}
	}
	return r, resp.StatusCode, resp.Header, nil
}
