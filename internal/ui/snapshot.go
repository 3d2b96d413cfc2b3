package ui

import (
	"fmt"
	"math"
	"slices"
	"time"

	"sentinel/internal/passage"
)

// snapshot is the whole display's state as one event carries it. Every
// event is a whole snapshot, so a page that missed events is right again
// after the next one.
type snapshot struct {
	Epoch    string      `json:"epoch"`     // changes when the daemon restarts
	Lang     string      `json:"lang"`      // the language of the texts below
	SiteLang string      `json:"site_lang"` // the site's language now
	Site     string      `json:"site"`
	NowMS    int64       `json:"now_ms"`    // the terminal's clock, Unix ms
	TZOffset int         `json:"tz_offset"` // the site's offset from UTC, seconds
	Lanes    []laneView  `json:"lanes"`
	Counts   Counts      `json:"counts"`
	Status   *statusView `json:"status"` // nil until the first SetStatus
	Manual   bool        `json:"manual"`
	Override bool        `json:"override"` // overrides are possible
	Reasons  []choice    `json:"reasons"`  // the override pad's list
}

type choice struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

type laneView struct {
	Name    string       `json:"name"`
	Devices deviceView   `json:"devices"`
	Verdict *verdictView `json:"verdict"` // nil when ready
}

type deviceView struct {
	Scanner     DeviceState `json:"scanner"`
	Camera      DeviceState `json:"camera"`
	Thermometer DeviceState `json:"thermometer"`
}

type verdictView struct {
	Outcome   passage.Verdict `json:"outcome"`
	Colour    string          `json:"colour"`
	Name      string          `json:"name"`
	TempState string          `json:"temp_state"`
	Temp      string          `json:"temp"` // "36.6 °C" when taken
	TempHigh  bool            `json:"temp_high"`
	Message   string          `json:"message"`
	Reasons   []string        `json:"reasons"`
	Manual    bool            `json:"manual"`
	Override  string          `json:"override"` // the override reason in words
	// OverrideReasons are the reasons the pad offers for this verdict;
	// empty: no override button. OverrideNote says why there is none or
	// why so few ("" when there is nothing to say).
	OverrideReasons []choice `json:"override_reasons"`
	OverrideNote    string   `json:"override_note"`
	At              string   `json:"at"` // HH:MM:SS, site time
	// Ref is the passage reference of a refusal or referral, RefQR its QR
	// code as a data URL; both empty when there is none.
	Ref         string `json:"ref,omitempty"`
	RefQR       string `json:"ref_qr,omitempty"`
	RemainingMS int64  `json:"remaining_ms"`
	HoldMS      int64  `json:"hold_ms"`
}

type statusView struct {
	Online          bool         `json:"online"`
	SyncFailing     bool         `json:"sync_failing"`
	LastSync        string       `json:"last_sync"` // words, site time; "" when never
	Bundles         []bundleView `json:"bundles"`
	NotEnrolled     bool         `json:"not_enrolled"`
	NoKeys          bool         `json:"no_keys,omitempty"`
	EnrolNote       string       `json:"enrol_note,omitempty"`
	ClockUntrusted  bool         `json:"clock_untrusted"`
	ClockReason     string       `json:"clock_reason,omitempty"`     // clock.why.REASON in the catalogue
	Revoked         string       `json:"revoked,omitempty"`          // the centre's words
	OverridesLocked string       `json:"overrides_locked,omitempty"` // the wait in words while locked
	JournalReplaced bool         `json:"journal_replaced,omitempty"`
}

type bundleView struct {
	Kind        string `json:"kind"`
	Freshness   string `json:"freshness"`
	Version     uint64 `json:"version"`
	NoValueSets bool   `json:"no_value_sets,omitempty"`
	EUCountry   string `json:"eu_country,omitempty"`
	EURules     int    `json:"eu_rules,omitempty"`
	EUValid     int    `json:"eu_rules_valid,omitempty"`
}

// snapshot renders the state in lang. s.mu is held.
func (s *Server) snapshot(lang string) snapshot {
	now := s.opts.Now()
	s.rollDay(now)
	_, off := now.In(s.opts.Location).Zone()
	snap := snapshot{
		Epoch: s.epoch, Lang: lang, SiteLang: s.lang, Site: s.opts.Site,
		NowMS: now.UnixMilli(), TZOffset: off,
		Lanes:    make([]laneView, 0, len(s.lanes)),
		Counts:   s.counts,
		Manual:   s.manual || s.status.Manual,
		Override: s.opts.OnOverride != nil,
	}
	for _, code := range s.opts.OverrideReasons {
		snap.Reasons = append(snap.Reasons, choice{Code: code, Label: reasonLabel(lang, code)})
	}
	for _, l := range s.lanes {
		lv := laneView{Name: l.name, Devices: deviceView{l.devices.Scanner, l.devices.Camera, l.devices.Thermometer}}
		if v := l.verdict; v != nil && now.Before(l.until) {
			hold := s.opts.RefuseHold
			if v.Verdict == passage.Admit {
				hold = s.opts.AdmitHold
			}
			vv := &verdictView{
				Outcome: v.Verdict, Colour: colourWord(v.Colour), Name: v.MaskedName,
				TempState: string(v.Temperature.State), TempHigh: v.Fever,
				Message: verdictMessage(v, lang), Reasons: v.Reasons, Manual: v.Manual,
				At:          v.At.In(s.opts.Location).Format(time.TimeOnly),
				RemainingMS: l.until.Sub(now).Milliseconds(), HoldMS: hold.Milliseconds(),
				Ref: v.Ref, RefQR: l.refQR,
			}
			if vv.TempState == "" {
				vv.TempState = string(passage.TempNotTaken)
			}
			if v.Temperature.State == passage.TempOK {
				vv.Temp = formatCelsius(v.Temperature.Value.Celsius())
			}
			if v.OverrideReason != "" {
				vv.Override = reasonLabel(lang, v.OverrideReason)
			}
			vv.OverrideReasons = []choice{}
			if s.opts.OnOverride != nil && v.Verdict != passage.Admit && !v.Manual {
				for _, code := range v.OverrideReasons {
					if slices.Contains(s.opts.OverrideReasons, code) {
						vv.OverrideReasons = append(vv.OverrideReasons, choice{Code: code, Label: reasonLabel(lang, code)})
					}
				}
				switch {
				case len(vv.OverrideReasons) == 0 && v.Verdict == passage.Deny:
					vv.OverrideNote = tr(lang, "note.nooverride")
				case len(vv.OverrideReasons) == 1 && vv.OverrideReasons[0].Code == "emergency":
					vv.OverrideNote = tr(lang, "note.emergencyonly")
				}
			}
			if vv.Reasons == nil {
				vv.Reasons = []string{}
			}
			lv.Verdict = vv
		}
		snap.Lanes = append(snap.Lanes, lv)
	}
	if s.statusSet {
		st := s.status
		sv := &statusView{Online: st.Online, SyncFailing: st.SyncFailing, NotEnrolled: st.NotEnrolled, NoKeys: st.NoKeys, EnrolNote: st.EnrolNote, ClockUntrusted: st.ClockUntrusted, Revoked: st.Revoked, JournalReplaced: st.JournalReplaced, Bundles: []bundleView{}}
		if st.ClockUntrusted {
			sv.ClockReason = st.ClockReason
		}
		if wait := st.OverridesLockedUntil.Sub(now); wait > 0 {
			sv.OverridesLocked = trf(lang, "override.lockedfor", waitWords(lang, wait))
		}
		if !st.LastSync.IsZero() {
			sv.LastSync = syncWords(lang, st.LastSync, now, s.opts.Location)
		}
		for _, b := range st.Bundles {
			sv.Bundles = append(sv.Bundles, bundleView{Kind: string(b.Kind), Freshness: b.Freshness.String(), Version: b.Version, NoValueSets: b.NoValueSets,
				EUCountry: b.EUCountry, EURules: b.EURules, EUValid: b.EURulesValid})
		}
		snap.Status = sv
	}
	return snap
}

// formatCelsius rounds to a tenth, as a clinical thermometer shows.
func formatCelsius(c float64) string {
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return "—"
	}
	return fmt.Sprintf("%.1f °C", math.Round(c*10)/10)
}

// syncWords says when the last sync was: the time today, or the date.
func syncWords(lang string, t, now time.Time, loc *time.Location) string {
	lt, ln := t.In(loc), now.In(loc)
	var when string
	if lt.Format(time.DateOnly) == ln.Format(time.DateOnly) {
		when = lt.Format("15:04")
	} else {
		when = lt.Format("2006-01-02 15:04")
	}
	if d := now.Sub(t); d >= time.Minute && d < 24*time.Hour {
		if lang == LangZH {
			when += fmt.Sprintf("（%s前）", agoZH(d))
		} else {
			when += fmt.Sprintf(" (%s ago)", agoEN(d))
		}
	}
	return trf(lang, "sync.last", when)
}

func agoEN(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h", int(d.Hours()))
}

func agoZH(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d 分钟", int(d.Minutes()))
	}
	return fmt.Sprintf("%d 小时", int(d.Hours()))
}
