package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// withoutEcho runs fn with the terminal f not echoing what is typed, and
// restores it afterwards.
func withoutEcho(f *os.File, fn func() error) error {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fn()
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return fn()
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	return fn()
}
