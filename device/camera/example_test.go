package camera_test

import (
	"errors"
	"fmt"
	"image"

	"sentinel/device/camera"
)

func ExampleNewDecoder() {
	d := camera.NewDecoder()
	frame := image.NewGray(image.Rect(0, 0, 640, 480)) // a frame with no code in it
	r, err := d.Decode(frame)
	switch {
	case errors.Is(err, camera.ErrNoCode):
		fmt.Println("no code found")
	case err != nil:
		fmt.Println("error:", err)
	default:
		fmt.Printf("%s\n", r.Payload)
	}
	// Output: no code found
}
