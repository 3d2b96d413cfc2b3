package hardware

import (
	"fmt"
	"io"
	"os"

	"periph.io/x/conn/v3/i2c"

	"sentinel/device/scanner"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
)

// The operating system, as this package reaches it; tests replace these.
var (
	// openBus opens an I²C bus by name.
	openBus = thermo.OpenBus
	// readDir lists a replay camera's directory.
	readDir = os.ReadDir
)

// OpenScanner returns the scanner c describes, called name in its status
// and codes. The device itself opens on the first Next, and reopens when
// it is unplugged and plugged in again.
func OpenScanner(name string, c firmwareconfig.Scanner) (scanner.Source, error) {
	switch c.Type {
	case firmwareconfig.ScannerSerial:
		f, err := scanner.ParseFraming(string(c.Framing), c.Suffix)
		if err != nil {
			return nil, err
		}
		s, err := scanner.NewSerial(scanner.SerialConfig{
			Name: name, Port: c.Port, USB: c.USB, Baud: c.Baud, Framing: f, IdleGap: c.IdleGap.Std(),
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	case firmwareconfig.ScannerHID:
		e, err := scanner.NewEvdev(scanner.EvdevConfig{Name: name, Path: c.Device})
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, fmt.Errorf("scanner type %q is not supported", c.Type)
}

// OpenThermometer opens the I²C bus that c names and returns the
// configured sensor's driver on it, and the bus, which the caller closes
// when done with the sensor.
func OpenThermometer(c firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
	bus, err := openBus(c.Bus)
	if err != nil {
		return nil, nil, err
	}
	dev, err := NewThermometer(bus, c, nil)
	if err != nil {
		bus.Close()
		return nil, nil, err
	}
	return dev, bus, nil
}

// NewThermometer returns the driver of the model c configures, at c's
// address on bus. opts may be nil.
func NewThermometer(bus i2c.Bus, c firmwareconfig.Thermometer, opts *thermo.Opts) (thermo.Source, error) {
	switch c.Model {
	case firmwareconfig.MLX90614:
		d, err := thermo.NewMLX90614(bus, c.Address, opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	case firmwareconfig.MLX90632:
		d, err := thermo.NewMLX90632(bus, c.Address, opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("thermometer model %q is not supported", c.Model)
}
