package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"sentinel/device/scanner"
	"sentinel/sync/enrol"
)

// Timing of an enrolment from a scanned ticket: how long it keeps trying
// an unreachable centre, and its first and longest wait.
var (
	scanEnrolTimeout   = 10 * time.Minute
	scanEnrolRetry     = time.Second
	scanEnrolRetryCap  = 30 * time.Second
	enrolPrefixInBytes = []byte(enrol.TokenQRPrefix)
)

// enrolTap passes a lane's codes on to the gate, except an enrolment
// ticket's QR code (SENTINEL-ENROL:…), which it hands to onTicket: shown
// to the terminal's scanner, it enrols the terminal instead of being
// judged as a person's code.
type enrolTap struct {
	scanner.Source
	onTicket func(text string)
}

// Next implements scanner.Source.
func (t enrolTap) Next(ctx context.Context) (scanner.Code, error) {
	for {
		code, err := t.Source.Next(ctx)
		if err != nil || !bytes.HasPrefix(bytes.ToUpper(bytes.TrimSpace(code.Text)), enrolPrefixInBytes) {
			return code, err
		}
		t.onTicket(string(code.Text))
	}
}

// enrolFromScan enrols the terminal with a scanned ticket, in the
// background, once at a time; the display says how it goes, and the
// enrolment watcher starts sync when it is done.
func (d *daemon) enrolFromScan(text string) {
	if _, ok := enrolledDevice(d.cfg.DataDir); ok {
		d.setEnrolNote("this terminal is enrolled already: to enrol it again, run 'sentinelctl enrol --force --token TICKET'")
		d.logger.Warn("enrolment code scanned, but the terminal is enrolled already; nothing done")
		return
	}
	if !d.enrolling.CompareAndSwap(false, true) {
		return // a scanner repeats the code while it is held up
	}
	t, err := enrol.ParseTicket(text)
	if err == nil && !t.Compact() {
		err = errors.New("this QR code holds a plain token: show the ticket's QR code from 'sentinel-central devices add' (it names the centre), or type 'sentinelctl enrol'")
	}
	if err != nil {
		d.enrolling.Store(false)
		d.setEnrolNote("enrolment code not usable: " + err.Error())
		d.logger.Warn("enrolment code scanned, not usable", "error", err)
		return
	}
	d.setEnrolNote("enrolling with the centre at " + t.Addr + "…")
	d.logger.Info("enrolment code scanned: enrolling", "centre", t.Addr)
	d.enrolWG.Go(func() {
		defer d.enrolling.Store(false)
		ctx, cancel := context.WithTimeout(d.enrolCtx, scanEnrolTimeout)
		defer cancel()
		wait := scanEnrolRetry
		in, n, err := enrol.Enrol(ctx, enrol.Options{
			DataDir: d.cfg.DataDir, Ticket: t,
			Wait: func(ctx context.Context, n int, err error) error {
				d.setEnrolNote(fmt.Sprintf("cannot reach the centre at %s yet (attempt %d): %v", t.Addr, n, err))
				select {
				case <-ctx.Done():
					return fmt.Errorf("gave up after %d attempts: %v: check the network, then show the code again", n, err)
				case <-time.After(wait/2 + rand.N(wait/2+1)):
				}
				wait = min(2*wait, scanEnrolRetryCap)
				return nil
			},
		})
		if err != nil {
			d.setEnrolNote("enrolment failed: " + err.Error())
			d.logger.Error("enrolment from a scanned code failed", "attempts", n, "error", err)
			return
		}
		d.setEnrolNote("")
		d.logger.Info("enrolled from a scanned code", "device", in.Device, "site", in.Site, "bundles", in.Bundles, "central", in.Central)
		if in.Central != "" && in.Central != d.cfg.Central.URL {
			d.logger.Warn("the centre says this terminal syncs with another URL than the configuration's central.url", "centre_says", in.Central, "configured", d.cfg.Central.URL)
		}
	})
}

func (d *daemon) setEnrolNote(s string) {
	d.enrolNote.Store(&s)
}

func (d *daemon) enrolNoteText() string {
	if p := d.enrolNote.Load(); p != nil {
		return *p
	}
	return ""
}
