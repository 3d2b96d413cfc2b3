package hardware_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/demo"
	"sentinel/internal/hardware"
)

func ExampleOpenScanner() {
	src, err := hardware.OpenScanner("in scanner 1", firmwareconfig.Scanner{
		Type: firmwareconfig.ScannerSerial, Port: "/dev/ttyACM0", Baud: 9600, Framing: "cr",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	// Nothing is opened until the first Next.
	fmt.Println(src.Status().Source, src.Status().Kind)
	// Output: in scanner 1 serial
}

func ExampleOpenOutputs() {
	// On a terminal, pin is signal.OpenPin.
	pins := map[string]*gpiotest.Pin{}
	pin := func(name string) (gpio.PinIO, error) {
		pins[name] = &gpiotest.Pin{N: name}
		return pins[name], nil
	}
	out, err := hardware.OpenOutputs(firmwareconfig.Outputs{
		Tower: &firmwareconfig.Tower{Green: "GPIO22", Yellow: "GPIO24", Red: "GPIO27"},
	}, pin)
	if err != nil {
		log.Fatal(err)
	}
	defer out.Halt()
	if err := out.Admit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("green", pins["GPIO22"].Read(), "red", pins["GPIO27"].Read())
	// Output: green High red Low
}

// frames is a camera that shows its images once, then has no more.
type frames struct{ imgs []*image.Gray }

func (f *frames) Next(ctx context.Context) (*image.Gray, error) {
	if len(f.imgs) == 0 {
		return nil, io.EOF
	}
	img := f.imgs[0]
	f.imgs = f.imgs[1:]
	return img, nil
}

func ExampleNewCameraSource() {
	img, err := demo.RenderQR("HCN1:EXAMPLE", 4) // what the camera sees
	if err != nil {
		panic(err)
	}
	blank := image.NewGray(img.Bounds())
	src := hardware.NewCameraSource("in-1 camera", &frames{[]*image.Gray{blank, img}}, nil)
	code, err := src.Next(context.Background())
	fmt.Println(string(code.Text), code.Source, err)
	_, err = src.Next(context.Background())
	fmt.Println(errors.Is(err, io.EOF))
	// Output:
	// HCN1:EXAMPLE in-1 camera <nil>
	// true
}
