package scanner_test

import (
	"context"
	"fmt"
	"time"

	"sentinel/device/scanner"
	"sentinel/device/scanner/scannertest"
)

func ExampleNewSerial() {
	s, err := scanner.NewSerial(scanner.SerialConfig{
		Name:    "lane 1",
		USB:     "05f9:4204", // or Port: "/dev/serial/by-id/usb-…-if00"
		Baud:    115200,
		Framing: scanner.FramingCRLF,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// The port opens on the first Next; until then the state is unknown.
	// In the daemon: for { code, err := s.Next(ctx); … }
	st := s.Status()
	fmt.Println(st.Source, st.Kind, st.State)
	// Output: lane 1 serial unknown
}

func ExampleNewEvdev() {
	e, err := scanner.NewEvdev(scanner.EvdevConfig{
		Name: "lane 2",
		Path: "/dev/input/by-id/usb-Honeywell_Scanner-event-kbd",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	st := e.Status()
	fmt.Println(st.Source, st.Kind, st.State)
	// Output: lane 2 hid unknown
}

func ExampleNewDedup() {
	src := scannertest.NewFake("lane 1", nil)
	d := scanner.NewDedup(src, scanner.DedupConfig{Window: 2 * time.Second})
	src.Push("HC1:ABC")
	src.Push("HC1:ABC") // read again straight away: dropped
	src.Push("HC1:XYZ")
	for range 2 {
		c, _ := d.Next(context.Background())
		fmt.Println(string(c.Text))
	}
	// Output:
	// HC1:ABC
	// HC1:XYZ
}

func ExampleNewFramer() {
	f, _ := scanner.NewFramer(scanner.FramerConfig{Framing: scanner.FramingCRLF, IdleGap: 100 * time.Millisecond})
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, l := range f.Feed([]byte("HC1:AB"), t0) {
		fmt.Printf("%q\n", l.Text)
	}
	for _, l := range f.Feed([]byte("C\r\nshc:/56"), t0.Add(5*time.Millisecond)) {
		fmt.Printf("%q\n", l.Text)
	}
	// No terminator follows: the idle gap ends the line.
	if l, ok := f.Idle(t0.Add(200 * time.Millisecond)); ok {
		fmt.Printf("%q\n", l.Text)
	}
	// Output:
	// "HC1:ABC"
	// "shc:/56"
}

func ExampleParseFraming() {
	for _, c := range [][2]string{{"crlf", ""}, {"suffix", "\x03"}} {
		f, err := scanner.ParseFraming(c[0], c[1])
		fmt.Println(f, err)
	}
	// Output:
	// crlf <nil>
	// suffix "\x03" <nil>
}

func ExampleNewKeyboard() {
	k, _ := scanner.NewKeyboard(scanner.KeyboardConfig{})
	// Shift, H, release, Enter: what a scanner types for "H".
	for _, ev := range []scanner.InputEvent{
		{Type: scanner.EvKey, Code: 42, Value: 1}, // KEY_LEFTSHIFT
		{Type: scanner.EvKey, Code: 35, Value: 1}, // KEY_H
		{Type: scanner.EvKey, Code: 35, Value: 0},
		{Type: scanner.EvKey, Code: 42, Value: 0},
		{Type: scanner.EvKey, Code: 28, Value: 1}, // KEY_ENTER
	} {
		if l, ok := k.Event(ev); ok {
			fmt.Printf("%q\n", l.Text)
		}
	}
	// Output: "H"
}

func ExampleNewEventDecoder() {
	d, _ := scanner.NewEventDecoder(scanner.Layout32)
	b := scanner.AppendEvent(nil, scanner.InputEvent{Type: scanner.EvKey, Code: 28, Value: 1}, scanner.Layout32)
	evs := d.Feed(nil, b[:10]) // a read may end inside an event
	evs = d.Feed(evs, b[10:])
	fmt.Println(len(evs), evs[0].Code, d.End())
	// Output: 1 28 <nil>
}
