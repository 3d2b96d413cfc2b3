package demo_test

import (
	"context"
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
	// sentinel-demo runs the daemon on d.Config and feeds d.Codes.
}

func ExampleDemo_StartCentral() {
	dir, err := os.MkdirTemp("", "sentinel-demo-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d, err := demo.Prepare(demo.Options{Dir: dir, Now: time.Now()})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	c, err := d.StartCentral(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	fmt.Println(d.Config.Central.URL == c.URL)
	// sentinel-demo's terminal now syncs with c; c.Received says what arrived.
}
