package signal_test

import (
	"fmt"
	"log"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"sentinel/device/signal"
)

func ExampleNewRelay() {
	// On the terminal: pin, err := signal.OpenPin("GPIO17").
	pin := &gpiotest.Pin{N: "GPIO17"}
	r, err := signal.NewRelay(pin, &signal.RelayOpts{ActiveLow: true, PulseLength: 20 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Halt()
	fmt.Println("before:", pin.Read())
	if err := r.Trigger(); err != nil { // blocks for the pulse
		log.Fatal(err)
	}
	fmt.Println("after:", pin.Read())
	// Output:
	// before: High
	// after: High
}

func ExampleNewTower() {
	g, y, r := &gpiotest.Pin{N: "GPIO5"}, &gpiotest.Pin{N: "GPIO6"}, &gpiotest.Pin{N: "GPIO13"}
	t, err := signal.NewTower(g, y, r, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := t.Set(signal.Red); err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Light(), g.Read(), y.Read(), r.Read())
	// Output: red Low Low High
}

func ExampleNewBuzzer() {
	pin := &gpiotest.Pin{N: "GPIO18"}
	b, err := signal.NewBuzzer(pin, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Two 10 ms tones, 10 ms apart.
	ms := time.Millisecond
	if err := b.Play(signal.Pattern{10 * ms, 10 * ms, 10 * ms}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("silent:", pin.Read() == gpio.Low)
	// Output: silent: true
}

func ExampleNewOutputs() {
	relay, err := signal.NewRelay(&gpiotest.Pin{N: "GPIO17"}, &signal.RelayOpts{PulseLength: 20 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	tower, err := signal.NewTower(&gpiotest.Pin{N: "GPIO5"}, &gpiotest.Pin{N: "GPIO6"}, &gpiotest.Pin{N: "GPIO13"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	// A lane without a buzzer.
	out, err := signal.NewOutputs(relay, tower, nil, signal.DefaultPatterns())
	if err != nil {
		log.Fatal(err)
	}
	defer out.Halt()
	if err := out.Admit(); err != nil { // green, one pulse
		log.Fatal(err)
	}
	fmt.Println(tower.Light())
	if err := out.Idle(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tower.Light())
	// Output:
	// green
	// off
}
