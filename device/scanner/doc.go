// Package scanner reads codes from barcode scanners: serial scanners
// (RS-232, or USB in CDC/virtual COM mode) through go.bug.st/serial, and
// keyboard-wedge (USB HID) scanners through Linux evdev.
//
// Every scanner is a [Source]: Next blocks until a code has been read, and
// Status tells the guard display and sentinelctl selftest whether the
// scanner is present and, if not, why. Unplugging is normal: a source
// reopens its device with capped exponential backoff and shows it missing
// until it is back. [NewDedup] wraps any Source so that a code read twice
// within a short window is reported once.
//
// Serial lines are cut by a [Framer], a pure byte-to-line state machine that
// handles CR, LF, CRLF or a custom suffix, fragments, an idle gap that ends
// a line with no terminator, and the 8 KiB line limit. Keyboard-wedge input
// is decoded by an [EventDecoder] and a [Keyboard], which maps Linux key codes
// with shift and caps lock to characters of the US layout.
//
// A daemon builds one source per configured scanner and reads it in a
// goroutine it owns:
//
//	s, err := scanner.NewSerial(scanner.SerialConfig{Name: "lane 1", USB: "05f9:4204", Framing: scanner.FramingCRLF})
//	if err != nil { … } // a configuration error: report it and stop
//	src := scanner.NewDedup(s, scanner.DedupConfig{})
//	defer src.Close()
//	for {
//		code, err := src.Next(ctx)
//		switch {
//		case ctx.Err() != nil, errors.Is(err, scanner.ErrClosed):
//			return
//		case err != nil: // a refused line (*LineTooLongError, *KeyError, …)
//			show the refusal; continue
//		}
//		verify code.Text
//	}
//
// while the display polls src.Status(). The errors Next returns besides ctx's
// and ErrClosed refuse one line and need no recovery; a device that goes away
// never ends Next.
//
// Package scannertest has a fake Source for tests of the code that reads
// scanners.
//
// # Caveats
//
// Keyboard-wedge scanners are slow for large codes: each character is a key
// press and a key release, at a rate the scanner picks (often 5 to 10 ms per
// character), and characters that need shift take two more events. A
// 300-character EU DCC ("HC1:") code can take a second or more to arrive,
// and a large SMART Health Card longer still. Installers should put scanners
// in serial mode (USB CDC, "virtual COM port") wherever the scanner offers
// it; the keyboard-wedge path is for scanners that have no such mode.
//
// A keyboard-wedge scanner must be set to the US keyboard layout: the
// scanner translates each character into the key that produces it on the
// layout it assumes, and this package maps keys back with the US layout
// only. A key with no US character refuses the whole code with a *KeyError.
// Alt+keypad sequences for non-ASCII characters are not decoded.
//
// A keyboard-wedge scanner must end each code with Enter (its "suffix"
// setting): there is no idle flush on this path, since a slow scanner pauses
// between keys for longer than a serial idle gap.
//
// Key repeats (evdev value 2) are ignored: a scanner never holds a key, and
// a repeat only appears when the host saw a release late, in which case it
// would insert a spurious character. Keypad digits map to digits whatever
// the state of Num Lock.
//
// A keyboard-wedge scanner is grabbed (EVIOCGRAB) so its keystrokes do not
// reach the console or a logged-in shell; only one process can grab it.
//
// The dedup window also hides a second person presenting a copy of the same
// code within the window; keep the window short (about two seconds).
//
// An input_event is 24 bytes on 64-bit Linux and 16 bytes for 32-bit
// processes (linux/arm), even on a 64-bit kernel; [NativeLayout] is the size
// this build reads.
package scanner
