package firmwareconfig_test

import (
	"errors"
	"fmt"
	"strings"

	firmwareconfig "sentinel/firmware-config"
)

func ExampleParseConfig() {
	const file = `
[terminal]
id = "SM-0042-T1"
site_id = "SM-0042"

[central]
url = "https://central.example.org"

[[lane]]
name = "in-1"
  [[lane.scanner]]
  type = "serial"
  usb = "0c2e:0b61"
  [lane.thermometer]
  bus = "1"
`
	cfg, err := firmwareconfig.ParseConfig(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Lanes[0].Scanners[0]
	fmt.Println(s.USB, s.Baud, s.Framing, s.IdleGap)
	fmt.Printf("%s at %#x\n", cfg.Lanes[0].Thermometer.Model, cfg.Lanes[0].Thermometer.Address)
	// Output:
	// 0c2e:0b61 9600 cr 100ms
	// mlx90614 at 0x5a
}

func ExampleParseConfig_problems() {
	const file = `site_type = "pharmacy"
[terminal]
id = "PH-0107-T1"
site_id = "PH-0107"
[central]
url = "https://central.example.org"
[[lane]]
name = "door"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event3"
  [lane.thermometer]
  adress = 0x5A
`
	_, err := firmwareconfig.ParseConfig(strings.NewReader(file))
	var problems firmwareconfig.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Println(p)
		}
	}
	// Output:
	// config line 1: "site_type" is a site setting that ops manage: it comes in the config bundle from the central system, not from this file; remove it
	// config line 13: unknown key "lane[0].thermometer.adress" — did you mean "address"?
}

func ExampleDefaultConfig() {
	cfg := firmwareconfig.DefaultConfig()
	fmt.Println(cfg.DataDir, cfg.Listen.Display, cfg.Listen.Management)
	// Output: /var/lib/sentinel 127.0.0.1:8080 127.0.0.1:9108
}

func ExampleExample() {
	b, err := firmwareconfig.Example("pharmacy")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := firmwareconfig.ParseConfig(strings.NewReader(string(b)))
	fmt.Println(cfg.Terminal.SiteID, len(cfg.Lanes), err)
	// Output: PH-0107 1 <nil>
}
