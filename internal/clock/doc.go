// Package clock decides whether the terminal's clock can be trusted. A
// code must be neither accepted nor refused on a clock the terminal cannot
// trust: a Raspberry Pi without a battery boots in 1970, and a wrong clock
// would admit expired codes or refuse valid ones. Policy sees the state
// and refers such passages to the guard.
//
// A Monitor trusts, in this order:
//
//   - NTP: the kernel's clock status (adjtimex(2), read only) says the
//     clock is synchronised (STA_UNSYNC clear) and its error bound
//     (maxerror) is within Options.MaxError. Any daemon that disciplines
//     the kernel clock counts: systemd-timesyncd, chrony, ntpd.
//   - The central system's signed time: ObserveSignedTime records a time
//     whose signature the caller verified, with the request's round trip.
//     The Monitor carries it forward on the monotonic clock, whatever the
//     wall clock does; its error bound is half the round trip plus a
//     second (the signed time's resolution) plus the clock's drift
//     (Options.DriftPPM, 200 ppm by default) since it arrived. It is
//     trusted while that bound is within MaxError: about 40 hours with the
//     defaults.
//   - A battery-backed RTC (Options.BatteryRTC) that set the system clock
//     at boot (/sys/class/rtc/rtc0/hctosys).
//
// Whatever the source, a wall clock before the floor is never trusted:
// DefaultFloor, a compiled-in date raised to the binary's VCS commit time
// when the build recorded it (no binary runs before it was written). When NTP says it is
// synchronised but disagrees with a recent signed time by more than both
// error bounds, neither is trusted: the NTP server may be lying.
//
// Now returns the time, whether it is trusted and the source; State gives
// the reason in words for the guard display.
//
// # Caveats
//
//   - ObserveSignedTime must get a time signed for this exchange (a fresh
//     status delta's issued-at or a sync response's signed time), never an
//     old bundle's issued-at: an old time is taken as the present and
//     makes the clock late. A time before the floor is ignored.
//   - adjtimex reports the kernel's view: a daemon that steps the clock
//     without disciplining it (ntpdate from cron) leaves STA_UNSYNC set,
//     so the clock is not trusted by NTP alone.
//   - The RTC source trusts the board's declaration (BatteryRTC); a board
//     with a flat battery usually boots before the floor and is caught
//     there, but an RTC that drifted for months is not detected.
//   - The kernel status is read at most once a second; a loss of sync shows
//     within a second.
//   - On systems other than Linux only the signed time and the RTC count.
package clock
