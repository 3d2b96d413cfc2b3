package terminal

import (
	"context"
	"io"
	"log/slog"
	"net"

	"sentinel/device/scanner"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/clock"
	"sentinel/internal/gate"
	"sentinel/internal/sdnotify"
)

// Options are what a program other than sentineld (the demo) runs a
// terminal with. The zero value of every field but Config and Logger
// means what sentineld does.
type Options struct {
	// Config is the terminal's configuration: its lanes, listeners, data
	// directory and centre.
	Config *firmwareconfig.Config
	// Logger receives the daemon's logs.
	Logger *slog.Logger
	// Clock is the terminal's clock and its trust; nil means the kernel's
	// clock status, as sentineld has it.
	Clock *clock.Monitor
	// Thermometer, when set, opens a lane's thermometer instead of the
	// I²C bus the configuration names: its source and what to close when
	// the daemon stops. Idle thermometers are then not checked between
	// people (a replayed bus holds only the people's readings).
	Thermometer func(lane string, t firmwareconfig.Thermometer) (thermo.Source, io.Closer, error)
	// Sampler, when set, returns the thermometers' sampling settings.
	Sampler func() thermo.SamplerConfig
	// OnPassage is called with each passage once it is decided.
	OnPassage func(gate.Result)
	// Until, when closed, drains as a signal would.
	Until <-chan struct{}
	// Serving is called once the lanes read and the listeners serve.
	Serving func(Serving)
}

// Serving is a terminal that has started.
type Serving struct {
	// Display and Management are the addresses the guard display and the
	// management listener (/healthz, /metrics) listen on.
	Display, Management net.Addr
	// Scanners are the lanes' serial scanners by name ("LANE scanner N",
	// N counting from 1 in the configuration's order).
	Scanners map[string]scanner.Source
}

// Serve runs a terminal until drainCtx is done (or Until closes), then
// drains within 10 seconds; the end of ctx aborts at once, with the gate
// shut. Signals returns such a pair of contexts.
func Serve(ctx, drainCtx context.Context, o Options) error {
	hw := hostHardware()
	if o.Thermometer != nil {
		hw.thermometer = o.Thermometer
		hw.checkEvery = 0
	}
	if o.Sampler != nil {
		hw.sampler = o.Sampler
	}
	d := &daemon{
		cfg: o.Config, logger: o.Logger, hw: hw, notify: sdnotify.New(""),
		onPassage: o.OnPassage, until: o.Until,
	}
	if o.Clock != nil {
		d.clock = monitorClock{o.Clock}
	}
	if o.Serving != nil {
		d.serving = func(d *daemon) {
			o.Serving(Serving{Display: d.displayAddr, Management: d.mgmtAddr, Scanners: d.devices.scanners})
		}
	}
	return d.run(ctx, drainCtx)
}
