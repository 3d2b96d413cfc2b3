package signal

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// OpenPin initialises periph's host drivers and returns the GPIO pin called
// name ("GPIO17", or a header position such as "P1_11" on a Raspberry Pi).
func OpenPin(name string) (gpio.PinIO, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("signal: open pin %q: initialise host drivers: %w", name, err)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("signal: open pin %q: no such GPIO pin: check the name in the configuration (e.g. GPIO17)", name)
	}
	return p, nil
}
