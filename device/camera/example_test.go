package camera_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"

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

func ExampleNewFrameVoter() {
	// A source that plays image files; a V4L2 or MJPEG source works the
	// same way.
	src := camera.NewReplay(nil, false)
	v := camera.NewFrameVoter(nil, camera.VoterConfig{Votes: 2, Window: 5})
	err := v.Run(context.Background(), src, func(r camera.Result) {
		fmt.Printf("code: %d bytes\n", len(r.Payload))
	})
	fmt.Println("done:", err)
	// Output: done: <nil>
}

func ExampleNewMJPEGStream() {
	src := camera.NewMJPEGStream("http://192.0.2.10/video.mjpg", nil)
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real caller keeps ctx until it stops the lane
	_, err := src.Next(ctx)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output: true
}

func ExampleNewRawGray() {
	// Two 4×2 frames, as `ffmpeg -f rawvideo -pix_fmt gray -` writes them.
	stream := strings.NewReader("AAAAAAAABBBBBBBB")
	src, err := camera.NewRawGray(stream, 4, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		img, err := src.Next(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(img.Bounds().Size(), string(img.Pix[:1]))
	}
	// Output:
	// (4,2) A
	// (4,2) B
	// EOF
}
