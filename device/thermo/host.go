package thermo

import (
	"fmt"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// OpenBus initialises periph's host drivers and opens the I²C bus called
// name ("1" or "I2C1" on a Raspberry Pi, "" for the first one found). The
// caller owns the bus and closes it.
func OpenBus(name string) (i2c.BusCloser, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("thermo: open I2C bus %q: initialise host drivers: %w", name, err)
	}
	b, err := i2creg.Open(name)
	if err != nil {
		return nil, fmt.Errorf("thermo: open I2C bus %q: %w: is I2C enabled (raspi-config, dtparam=i2c_arm=on) and the user in group i2c?", name, err)
	}
	return b, nil
}
