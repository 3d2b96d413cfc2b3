//go:build !linux

package main

import (
	"bufio"
	"os"
	"strings"
)

// readSecretLine reads a line from the terminal f; it is echoed on this
// system.
func readSecretLine(f *os.File) (string, error) {
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
