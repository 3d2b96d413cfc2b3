package thermo

import (
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// On a machine without I²C (a CI runner, an amd64 box), opening the bus
// says so plainly: selftest shows this text to the installer.
func TestOpenBusMissing(t *testing.T) {
	if _, err := host.Init(); err != nil {
		t.Fatal(err)
	}
	if len(i2creg.All()) > 0 {
		t.Skip("this machine has I2C buses: the message for none cannot be checked here")
	}
	_, err := OpenBus("1")
	if err == nil {
		t.Fatal("opened I2C bus 1 on a machine without I2C")
	}
	msg := err.Error()
	if !strings.Contains(msg, "this machine has no I2C bus") || strings.Contains(msg, "Init()") {
		t.Errorf("got %q, want it to say the machine has no I2C bus, without periph's words", msg)
	}
}
