package demo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/server"
	syncenrol "sentinel/sync/enrol"
)

// CentreDir is the embedded centre's data directory inside the demo's:
// its device CA, enrolment store, bundle repository and bbolt store.
const CentreDir = "centre"

// enrolTimeout bounds the demo terminal's enrolment.
const enrolTimeout = 5 * time.Second

// Central is the demo's embedded central server on 127.0.0.1, with the
// demo's root, its online key for the signed time and its HPKE key, so
// that the centre opens the holders the terminal seals.
type Central struct {
	// URL is the device endpoint (mutual TLS) the terminal syncs with.
	URL string
	// Device is the demo terminal's id, which enrolment gave it.
	Device string

	store *boltstore.Store
	srv   *server.Server
}

// StartCentral starts the embedded centre on free ports of 127.0.0.1,
// enrols the demo terminal through the real enrolment endpoint (a token
// for the demo site, a certificate request, Install into Dir) and points
// Config.Central.URL at the centre. The caller closes it with Close once
// the terminal stopped.
func (d *Demo) StartCentral(ctx context.Context, logger *slog.Logger) (_ *Central, err error) {
	if d.keys == nil {
		return nil, errors.New("demo: StartCentral needs a prepared demo")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	data := filepath.Join(d.Dir, CentreDir)
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("demo: central store: %w", err)
	}
	c := &Central{store: st}
	defer func() {
		if err != nil {
			c.Close(context.Background())
		}
	}()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Store, cfg.Root = data, st, d.keys.root.Public()
	cfg.Listen, cfg.EnrolListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Hosts = []string{"127.0.0.1"}
	cfg.CentreKey = d.Centre
	cfg.TimeKey, cfg.TimeDelegation = d.keys.online, d.keys.delegation
	cfg.Logger = logger
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: central: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("demo: start central: %w", err)
	}
	c.srv = srv
	dev, enr := srv.Addrs()
	c.URL = "https://" + dev.String()

	// Ops make a token for the demo site, as `sentinel-central devices
	// add` does; the terminal enrols with it over TLS.
	token, rec, err := enrol.NewToken(d.Config.Terminal.SiteID, time.Now(), time.Hour)
	if err != nil {
		return nil, fmt.Errorf("demo: enrolment token: %w", err)
	}
	if err := st.AddEnrolToken(ctx, rec); err != nil {
		return nil, fmt.Errorf("demo: enrolment token: %w", err)
	}
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		return nil, fmt.Errorf("demo: device CA: %w", err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}}
	defer tr.CloseIdleConnections()
	req, key, err := syncenrol.NewRequest(token)
	if err != nil {
		return nil, fmt.Errorf("demo: enrolment request: %w", err)
	}
	ectx, cancel := context.WithTimeout(ctx, enrolTimeout)
	defer cancel()
	resp, err := syncenrol.Post(ectx, &http.Client{Transport: tr}, "https://"+enr.String(), req)
	if err != nil {
		return nil, fmt.Errorf("demo: enrol the terminal: %w", err)
	}
	in, err := syncenrol.Install(d.Dir, key, resp, nil)
	if err != nil {
		return nil, fmt.Errorf("demo: install the enrolment: %w", err)
	}
	c.Device = in.Device
	d.Config.Central.URL = c.URL
	return c, nil
}

// Received is what the centre holds from one device.
type Received struct {
	// Passages is how many passages are stored; Unique how many distinct
	// (epoch, seq) they have, and HighWater the sum of the epochs' marks:
	// all three are equal when every record arrived exactly once.
	Passages, Unique int
	HighWater        uint64
	// Holders is how many passages carry an opened holder.
	Holders int
	// ByHolder is the decision of each passage with an opened holder.
	ByHolder map[string]string
}

// ExactlyOnce says whether every stored record is there once, with no gap.
func (r Received) ExactlyOnce() bool {
	return r.Passages == r.Unique && uint64(r.Unique) == r.HighWater
}

// Received queries the store for what the demo terminal uploaded.
func (c *Central) Received(ctx context.Context) (Received, error) {
	return c.received(ctx, nil)
}

// ReceivedEpoch is Received for one journal epoch of the terminal: the
// passages of one run.
func (c *Central) ReceivedEpoch(ctx context.Context, epoch [16]byte) (Received, error) {
	e := central.Epoch(epoch)
	return c.received(ctx, &e)
}

func (c *Central) received(ctx context.Context, only *central.Epoch) (Received, error) {
	r := Received{ByHolder: map[string]string{}}
	type key struct {
		epoch central.Epoch
		seq   uint64
	}
	seen := map[key]bool{}
	for p, err := range c.store.Passages(ctx, central.Filter{Device: c.Device}) {
		if err != nil {
			return r, fmt.Errorf("demo: central passages: %w", err)
		}
		if only != nil && p.Epoch != *only {
			continue
		}
		r.Passages++
		seen[key{p.Epoch, p.Seq}] = true
		if p.Holder != "" {
			r.Holders++
			r.ByHolder[p.Holder] = p.Decision
		}
	}
	r.Unique = len(seen)
	devs, err := c.store.Devices(ctx)
	if err != nil {
		return r, fmt.Errorf("demo: central devices: %w", err)
	}
	for _, dv := range devs {
		if dv.ID != c.Device {
			continue
		}
		for _, m := range dv.Marks {
			if only != nil && m.Epoch != *only {
				continue
			}
			hw, err := c.store.HighWater(ctx, c.Device, m.Epoch)
			if err != nil {
				return r, fmt.Errorf("demo: central high-water mark: %w", err)
			}
			r.HighWater += hw
		}
	}
	return r, nil
}

// Close shuts the centre down, within ctx (then it closes every
// connection), and closes its store. It may be called more than once.
func (c *Central) Close(ctx context.Context) error {
	var errs []error
	if c.srv != nil {
		errs = append(errs, c.srv.Shutdown(ctx))
		c.srv = nil
	}
	if c.store != nil {
		errs = append(errs, c.store.Close())
		c.store = nil
	}
	return errors.Join(errs...)
}
