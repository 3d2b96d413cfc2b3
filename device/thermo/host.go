package thermo

import (
	"fmt"
	"sort"
	"strings"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// OpenBus initialises periph's host drivers and opens the I²C bus called
// name ("1" or "I2C1" on a Raspberry Pi, "" for the first one found). The
// caller owns the bus and closes it. When the machine has no such bus the
// error says so in an installer's words, with the buses it has.
func OpenBus(name string) (i2c.BusCloser, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("thermo: open I2C bus %q: initialise host drivers: %w", name, err)
	}
	b, err := i2creg.Open(name)
	if err == nil {
		return b, nil
	}
	var buses []string
	for _, r := range i2creg.All() {
		buses = append(buses, r.Name)
	}
	sort.Strings(buses)
	if len(buses) == 0 {
		return nil, fmt.Errorf("thermo: this machine has no I2C bus (no /dev/i2c-*), so no thermometer on bus %q: is I2C enabled (raspi-config, dtparam=i2c_arm=on) and the user in group i2c?", name)
	}
	return nil, fmt.Errorf("thermo: no I2C bus %q here, only %s: check the bus in the configuration (ls /dev/i2c-*); %v", name, strings.Join(buses, ", "), err)
}
