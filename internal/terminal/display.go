package terminal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"sentinel/crypto/trust"
	"sentinel/device/scanner"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
)

// uiDisplay shows the gate's passages on the guard display.
type uiDisplay struct {
	s *ui.Server
	// ref returns the passage reference of a recorded passage, "" when
	// there is none (nil: never).
	ref func(seq journal.Seq, at time.Time) string
}

var _ gate.Display = uiDisplay{}

// Show converts a passage for the display.
func (u uiDisplay) Show(s gate.Shown) {
	v := ui.Shown{
		Lane: s.Lane, Verdict: s.Verdict, Colour: s.Colour, MaskedName: s.MaskedName,
		Temperature: s.Temperature, Fever: slices.Contains(s.Reasons, "fever"),
		Reasons: s.Reasons, Message: s.Message, Manual: s.Manual, At: s.At,
		OverrideReasons: s.OverrideReasons,
	}
	if s.Verdict != passage.Admit && s.Seq != 0 && u.ref != nil {
		v.Ref = u.ref(s.Seq, s.At)
	}
	if s.Override != nil {
		v.OverrideReason = s.Override.Why
	}
	u.s.Show(v)
}

// passageRef returns the passage reference (passage.Ref) of the record
// seq of j, recorded at at: what a refused holder gives ops for an appeal.
// It names the terminal by its enrolled device id, so a terminal not
// enrolled yet gives none: the centre could not find the passage by it.
func (d *daemon) passageRef(j *journal.Journal) func(journal.Seq, time.Time) string {
	return func(seq journal.Seq, at time.Time) string {
		sy := d.sync.Load()
		if sy == nil || sy.device == "" {
			return ""
		}
		return passage.NewRef(sy.device, j.Epoch(), uint64(seq), at).String()
	}
}

// displayRefuseHold is how long a refusal stays on the display; the gate
// takes overrides for as long.
const displayRefuseHold = ui.DefaultRefuseHold

// newDisplay builds the guard display for the site. Overrides go to the
// gate, once it exists.
func (d *daemon) newDisplay(site *gate.SiteSettings) *ui.Server {
	return ui.New(ui.Options{
		Lang:            site.Language,
		Site:            d.cfg.Terminal.Name,
		Lanes:           d.laneNames(),
		OverrideReasons: gate.OverrideReasons(),
		Location:        site.Location(),
		RefuseHold:      displayRefuseHold,
		Now:             func() time.Time { t, _ := d.clock.Now(); return t },
		Logger:          d.logger.With("component", "display"),
		OnOverride: func(ctx context.Context, o ui.Override) error {
			if d.gate == nil {
				return ui.ErrNoOverride
			}
			_, err := d.gate.Override(ctx, o.Lane, o.PIN, o.Reason)
			return overrideError(err)
		},
	})
}

// overrideError maps the gate's refusals onto the display's, so that the
// page tells the guard what happened.
func overrideError(err error) error {
	for _, m := range []struct{ gate, ui error }{
		{gate.ErrBadPIN, ui.ErrWrongPIN},
		{gate.ErrNoGuards, ui.ErrNoGuards},
		{gate.ErrOverrideLocked, ui.ErrLocked},
		{gate.ErrNothingToOverride, ui.ErrNothingToOverride},
		{gate.ErrNotOverridable, ui.ErrNotOverridable},
		{gate.ErrEmergencyOnly, ui.ErrEmergencyOnly},
		{gate.ErrOverrideReason, ui.ErrOverrideReason},
		{gate.ErrUnknownLane, ui.ErrUnknownLane},
	} {
		if errors.Is(err, m.gate) {
			return fmt.Errorf("%w: %w", m.ui, err)
		}
	}
	return err
}

func (d *daemon) laneNames() []string {
	names := make([]string, len(d.cfg.Lanes))
	for i, l := range d.cfg.Lanes {
		names[i] = l.Name
	}
	return names
}

// displayStatus is the terminal's state as the display shows it.
func (d *daemon) displayStatus() ui.Status {
	now, trusted := d.clock.Now()
	st := d.gate.State()
	s := ui.Status{NotEnrolled: !st.Enrolled, ClockUntrusted: !trusted}
	s.EnrolNote = d.enrolNoteText()
	s.OverridesLockedUntil = d.gate.OverridesLockedUntil(now)
	if sy := d.sync.Load(); sy != nil && !st.Enrolled {
		// Enrolled (sync runs with the identity), but no trust bundle.
		s.NotEnrolled, s.NoKeys = false, true
	}
	if cs, ok := d.clock.(clockStater); ok && !trusted {
		s.ClockReason = cs.ClockState().Code
	}
	if sy := d.sync.Load(); sy != nil {
		st := sy.State()
		s.Online, s.SyncFailing, s.LastSync = st.Online, st.Failing, st.Last
		s.Revoked, _ = sy.Revoked()
	}
	for _, a := range d.journal.Alarms() {
		switch a.Kind {
		case journal.AlarmCommit:
			s.Manual = true
		case journal.AlarmCorrupt:
			s.JournalReplaced = true
		}
	}
	s.Bundles = displayBundles(st, now)
	for _, l := range d.cfg.Lanes {
		ls := ui.LaneStatus{Name: l.Name, Scanner: ui.DeviceAbsent, Camera: ui.DeviceAbsent, Thermometer: ui.DeviceAbsent}
		for name, src := range d.devices.scanners {
			if len(name) > len(l.Name) && name[:len(l.Name)+1] == l.Name+" " {
				ls.Scanner = deviceState(src.Status().State, ls.Scanner)
			}
		}
		if c := d.devices.cameras[l.Name]; c != nil {
			ls.Camera = deviceState(c.Status().State, ui.DeviceAbsent)
		}
		if t := d.devices.samplers[l.Name]; t != nil {
			ls.Thermometer = ui.DeviceOK
			if !t.Status().Available {
				ls.Thermometer = ui.DeviceFault
			}
		}
		s.Lanes = append(s.Lanes, ls)
	}
	return s
}

// displayBundles is the bundles' freshness as the guard reads it. The
// status list is one item, the base with its delta chain
// (gate.State.StatusList): a terminal with a fresh base and no delta yet
// is healthy, and fresh deltas keep an older base fresh. The chain has no
// item of its own, which showed "Status update NONE" in red on a healthy
// terminal.
func displayBundles(st *gate.State, now time.Time) []ui.Bundle {
	var out []ui.Bundle
	for _, k := range trust.Kinds() {
		b := st.Bundles[k]
		switch k {
		case trust.KindStatusDelta:
			continue
		case trust.KindStatusBase:
			b = st.StatusList()
		}
		out = append(out, ui.Bundle{Kind: k, Freshness: b.Freshness(now), Version: b.Version,
			NoValueSets: k == trust.KindTrust && b.Version != 0 && b.ValueSets == 0,
			EUCountry:   b.EURules.Country, EURules: b.EURules.Len(), EURulesValid: b.EURules.ValidAt(now)})
	}
	return out
}

// deviceState turns a scanner's state into the display's; a lane with
// several scanners shows a fault when any has one.
func deviceState(s scanner.State, was ui.DeviceState) ui.DeviceState {
	st := ui.DeviceUnknown
	switch s {
	case scanner.StatePresent:
		st = ui.DeviceOK
	case scanner.StateMissing:
		st = ui.DeviceFault
	}
	if was == ui.DeviceFault {
		return was
	}
	return st
}

// updateDisplay refreshes the display's status every second until ctx is
// done. When a lane's device is found, fails or comes back, it asks the
// syncer for a health report now: otherwise the centre would see the
// change only at the next report (client.DefaultReportEvery), and a
// terminal whose first report went before its scanner answered would
// show no lanes there for five minutes.
func (d *daemon) updateDisplay(ctx context.Context, s *ui.Server) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var reported []protocol.LaneHealth
	for {
		st := d.displayStatus()
		s.SetStatus(st)
		if h := lanesHealth(st.Lanes); !slices.Equal(h, reported) {
			if sy := d.sync.Load(); sy != nil {
				sy.KickHealth()
				reported = h
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// laneHealth reports each lane's devices to the centre, from the same
// states the guard display shows: one entry per present device, named
// "LANE scanner", "LANE camera" or "LANE thermometer".
func (d *daemon) laneHealth() []protocol.LaneHealth {
	return lanesHealth(d.displayStatus().Lanes)
}

// lanesHealth is laneHealth for the lanes of a display status.
func lanesHealth(lanes []ui.LaneStatus) []protocol.LaneHealth {
	var out []protocol.LaneHealth
	for _, l := range lanes {
		for _, dev := range []struct {
			kind  string
			state ui.DeviceState
		}{{"scanner", l.Scanner}, {"camera", l.Camera}, {"thermometer", l.Thermometer}} {
			h := protocol.LaneHealth{Name: l.Name + " " + dev.kind}
			switch dev.state {
			case ui.DeviceOK:
				h.State = protocol.LaneOK
			case ui.DeviceFault:
				h.State, h.Reason = protocol.LaneUnavailable, "fault: see the terminal's log and sentinelctl selftest"
			default:
				continue // absent or not known yet
			}
			out = append(out, h)
		}
	}
	return out
}
