//go:build !linux

package scanner

// openEvdev reports that evdev exists only on Linux.
func openEvdev(path string, grab bool) (eventFile, error) {
	return nil, ErrNotSupported
}
