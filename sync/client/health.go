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
	"time"

	"sentinel/sync/protocol"
)

// DefaultReportEvery is how often a Reporter sends a health report.
const DefaultReportEvery = 5 * time.Minute

// HealthFunc builds the terminal's current health report; the Reporter
// sets Version and Device.
type HealthFunc func(ctx context.Context) (*protocol.Health, error)

// ReporterOptions configure a Reporter.
type ReporterOptions struct {
	URL    string       // the centre's base URL (required)
	Device string       // this terminal's id (required)
	HTTP   *http.Client // with the terminal's TLS certificate; http.DefaultClient when nil
	// Every is the interval between reports (DefaultReportEvery when 0).
	Every time.Duration
	// Timeout bounds each request (DefaultTimeout when 0).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the backoff after failures, with
	// the upload's jitter (DefaultMinBackoff, DefaultMaxBackoff when 0).
	MinBackoff, MaxBackoff time.Duration
	Rand                   func() float64 // rand.Float64 when nil
	Logger                 *slog.Logger   // slog.Default when nil
}

// Reporter sends the terminal's health report to the centre every Every
// and on Kick. Start it once; Stop it at shutdown.
type Reporter struct {
	build HealthFunc
	opts  ReporterOptions
	kick  chan struct{}
	loop  loop
}

// NewReporter returns a Reporter that sends what build returns.
func NewReporter(build HealthFunc, opts ReporterOptions) (*Reporter, error) {
	if build == nil || opts.URL == "" || opts.Device == "" {
		return nil, errors.New("client: new reporter: build, URL and Device are required")
	}
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.Every <= 0 {
		opts.Every = DefaultReportEvery
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
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	return &Reporter{build: build, opts: opts, kick: make(chan struct{}, 1)}, nil
}

// Start starts the report loop; the first report goes at once.
func (r *Reporter) Start(ctx context.Context) { r.loop.start(ctx, r.run) }

// Stop stops the loop and waits for it.
func (r *Reporter) Stop() { r.loop.stop() }

// Kick asks for a report now (a device fault appeared or cleared). It
// does not cut short a backoff after failures.
func (r *Reporter) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run is the report loop: a report at start, on Kick and every Every,
// with the shared retry after failures.
func (r *Reporter) run(ctx context.Context) {
	rt := newRetry("health report", r.opts.Every, r.opts.MinBackoff, r.opts.MaxBackoff, r.opts.Rand, r.opts.Logger)
	rt.run(ctx, r.kick, r.Report)
}

// Report builds and sends one report.
func (r *Reporter) Report(ctx context.Context) error {
	h, err := r.build(ctx)
	if err != nil {
		return fmt.Errorf("client: health: %w", err)
	}
	c := *h
	c.Version, c.Device = protocol.Version, r.opts.Device
	body, err := protocol.EncodeHealth(&c)
	if err != nil {
		return fmt.Errorf("client: health: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.opts.URL+protocol.HealthPath(protocol.Version), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("client: health: %w", err)
	}
	req.Header.Set("Content-Type", protocol.HealthType)
	resp, err := r.opts.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("client: health: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxResponse+1))
	if err != nil {
		return fmt.Errorf("client: health: read answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	err = fmt.Errorf("client: health: centre answered %d", resp.StatusCode)
	if resp.Header.Get("Content-Type") == protocol.ResponseType {
		if pr, derr := protocol.DecodeResponse(b); derr == nil && pr.Message != "" {
			err = fmt.Errorf("client: health: centre answered %d: %s", resp.StatusCode, pr.Message)
		}
	}
	return classify(resp.StatusCode, resp.Header, err)
}
