package enrol

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sentinel/internal/atomicfile"
)

// AddressFile is where the server writes, in the centre's data directory,
// the address terminals enrol at (HOST:PORT, the first of its host names
// and the enrolment listener's port), so that `devices add` puts it into
// the ticket.
const AddressFile = "enrol/address"

// WriteAddress records the enrolment address: host and the port of
// listen.
func WriteAddress(dir, host string, listen net.Addr) error {
	_, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return fmt.Errorf("enrol: address %s: %w", listen, err)
	}
	addr := net.JoinHostPort(host, port)
	if err := atomicfile.WriteFile(filepath.Join(dir, AddressFile), []byte(addr+"\n"), 0o644); err != nil {
		return fmt.Errorf("enrol: record the enrolment address: %w", err)
	}
	return nil
}

// ReadAddress returns the enrolment address the server recorded; empty
// when it never ran from dir.
func ReadAddress(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, AddressFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("enrol: enrolment address: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// CheckSite says whether site is a valid site id: 1 to 64 letters,
// digits, '-', '_' and '.', starting with a letter or digit.
func CheckSite(site string) error {
	const allowed = "1 to 64 characters of letters a-z and A-Z, digits, '-', '_' and '.', starting with a letter or digit (e.g. north-gate-2)"
	if site == "" || len(site) > 64 {
		return fmt.Errorf("site %q: want %s", site, allowed)
	}
	for i, r := range site {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || r == '-' || r == '_' || r == '.'
		}
		if !ok {
			return fmt.Errorf("site %q: %q is not allowed: want %s", site, r, allowed)
		}
	}
	return nil
}
