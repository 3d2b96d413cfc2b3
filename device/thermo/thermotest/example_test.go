package thermotest_test

import (
	"fmt"
	"log"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
	"sentinel/device/thermo/thermotest"
)

func ExampleMLX90614Samples() {
	object := physic.ZeroCelsius + 34500*physic.MilliKelvin
	ambient := physic.ZeroCelsius + 23*physic.Kelvin
	bus := &i2ctest.Playback{Ops: thermotest.MLX90614Samples(thermo.DefaultAddr, 2, object, ambient)}
	dev, err := thermo.NewMLX90614(bus, thermo.DefaultAddr, nil)
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		s, err := dev.Read()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Object, s.Ambient)
	}
	if err := bus.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 34.490°C 22.990°C
	// 34.510°C 22.990°C
}
