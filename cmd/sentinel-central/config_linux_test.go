package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/internal/ptytest"
	"sentinel/internal/siteconfig"
)

// TestConfigPINFromTerminal types the PIN at a real pseudo-terminal, as a
// person at a shell does: it is asked twice, never echoed, and hashed.
func TestConfigPINFromTerminal(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		code        int
		want        string
	}{
		{"same twice", "246813\n246813\n", exitOK, ""},
		{"differ", "246813\n246814\n", exitRefused, "the two PINs differ"},
		{"too short", "2468\n2468\n", exitRefused, "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ptmx, tty := ptytest.Open(t, "typing a PIN")
			// Type once the command has turned echo off, as a person
			// types after the prompt (or after 5 s: the check below then
			// sees the echo).
			go func() {
				defer ptmx.Write([]byte(tc.typed))
				for range 5000 {
					tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
					if err == nil && tio.Lflag&unix.ECHO == 0 {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"config", "pin", "--guard", "guard-01"}, tty, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("got exit %d, %q; want %d saying %q", code, stderr.String(), tc.code, tc.want)
			}
			if !strings.Contains(stderr.String(), "guard PIN (6 to 12 digits): ") || !strings.Contains(stderr.String(), "the same PIN again: ") {
				t.Errorf("prompts: %q", stderr.String())
			}
			if tc.code == exitOK {
				s, err := siteconfig.ParseTOML("site.toml", []byte("site_type = \"pharmacy\"\n"+stdout.String()))
				if err != nil || s.GuardFor("246813") != "guard-01" {
					t.Errorf("the block printed does not give guard-01 the PIN: %v\n%s", err, stdout.String())
				}
			}
			// Whatever the terminal echoed comes before this marker.
			tty.Write([]byte("END\n"))
			echoed, err := bufio.NewReader(ptmx).ReadString('D')
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(echoed, "2468") {
				t.Errorf("the PIN was echoed on the terminal: %q", echoed)
			}
			if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err != nil || tio.Lflag&unix.ECHO == 0 {
				t.Errorf("echo not restored: %v", err)
			}
		})
	}
}
