// Package ui serves the guard display: one web page that a kiosk browser
// shows full screen on the terminal's screen, fed live by server-sent
// events.
//
// For every passage the page shows a big colour with a shape and a word
// (a circle and PASS, a triangle and CHECK, an octagon and STOP, so that
// no one has to tell colours apart), the masked name, the temperature, the
// reason in words when the person is not admitted, and a countdown back to
// ready. Around it: the day's counters (Server.RestoreCounts takes them
// back after a restart), each lane's scanner, camera and thermometer, the
// freshness of every kind of bundle, whether every exchange with the
// centre succeeds and the last sync, and banners when the terminal is not enrolled or the
// guard must switch to the manual procedure.
//
// A guard overrides a refusal on the page itself: a PIN pad and a reason
// from the list the gate allows for that verdict (Shown.OverrideReasons;
// the page says when a refusal cannot be overridden or only for an
// emergency). The server takes one override at a time and hands it to
// Options.OnOverride, which checks the PIN, counts wrong ones, locks
// overrides after too many (saying for how long) and journals the
// override.
//
// The page holds one event stream; the server serves at most
// Options.MaxStreams at once and answers one more with 503 and
// Retry-After, so that a runaway client cannot take the daemon's file
// descriptors (the page retries by itself).
//
// Every asset is embedded: the page needs no network and no font beyond
// the system's. The page speaks the site's language (Chinese and English);
// sentences for reason codes come with each Shown, already rendered per
// language, so this package depends on no policy.
//
// The daemon owns the listener (127.0.0.1:8080) and serves Handler on it:
//
//	srv := ui.New(ui.Options{Lang: "zh", Site: "Huaxin supermarket", OnOverride: onOverride})
//	defer srv.Close()
//	go http.Serve(ln, srv.Handler())
//	srv.Show(ui.Shown{Lane: "in-1", Verdict: passage.Admit, MaskedName: "Zhang *"})
//
// # Caveats
//
// Event streams are long-lived requests: call Close before shutting the
// http.Server down, or Shutdown waits for them. Requests whose Host is not
// a loopback address or localhost are refused (DNS rebinding); list other
// names in Options.Hosts when the display is served elsewhere.
package ui
