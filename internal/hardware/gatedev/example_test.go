package gatedev_test

import (
	"context"
	"fmt"

	"sentinel/device/scanner/scannertest"
	"sentinel/device/thermo"
	"sentinel/internal/gate"
	"sentinel/internal/hardware/gatedev"
)

func ExampleNewCodes() {
	// On a terminal, the source is hardware.OpenScanner's, or a
	// hardware.CameraSource, behind scanner.NewDedup.
	f := scannertest.NewFake("in-1 scanner 1", nil)
	lane := gate.LaneConfig{Name: "in-1", Sources: []gate.CodeSource{gatedev.NewCodes(f)}}

	f.Push("HC1:EXAMPLE")
	code, err := lane.Sources[0].Next(context.Background())
	fmt.Println(string(code.Text), code.Source, err)
	// Output: HC1:EXAMPLE in-1 scanner 1 <nil>
}

// unplugged is a thermometer that does not answer.
type unplugged struct{}

func (unplugged) Read() (thermo.Sample, error) { return thermo.Sample{}, thermo.ErrNoAnswer }

func ExampleNewThermometer() {
	// On a terminal, the sampler reads hardware.OpenThermometer's source.
	s, err := thermo.NewSampler(unplugged{}, thermo.DefaultSamplerConfig())
	if err != nil {
		panic(err)
	}
	lane := gate.LaneConfig{Name: "in-1", Thermometer: gatedev.NewThermometer(s)}
	t := lane.Thermometer.Measure(context.Background())
	fmt.Println(t.State, t.Fault)
	// Output: unavailable no-answer
}
