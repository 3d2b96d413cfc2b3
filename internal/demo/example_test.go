package demo_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"sentinel/internal/demo"
)

func ExamplePrepare() {
	dir, err := os.MkdirTemp("", "sentinel-demo-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d, err := demo.Prepare(demo.Options{Dir: dir, Now: time.Now()})
	if err != nil {
		log.Fatal(err) // e.g. no pseudo-terminals on this machine
	}
	defer d.Close()
	for _, c := range d.Codes {
		fmt.Println(c.Lane, c.Kind, c.Want)
	}
	// sentineld -demo runs the daemon on d.Config and feeds d.Codes.
}
