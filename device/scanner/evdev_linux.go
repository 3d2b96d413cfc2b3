package scanner

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// evdev ioctls (linux/input.h), in the generic encoding of arm, arm64 and
// amd64: EVIOCGVERSION is _IOR('E', 0x01, int), EVIOCGRAB _IOW('E', 0x90, int).
const (
	eviocgversion = 0x80044501
	eviocgrab     = 0x40044590
)

// openEvdev opens an input device for reading with deadlines and grabs it,
// so that its keystrokes reach no one else.
func openEvdev(path string, grab bool) (eventFile, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn() // not f.Fd(), which would make reads blocking
	if err != nil {
		f.Close()
		return nil, err
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		if _, e := unix.IoctlGetInt(int(fd), eviocgversion); e != nil {
			ioErr = fmt.Errorf("%w: %s: %w", errNotInput, path, e)
			return
		}
		if !grab {
			return
		}
		if e := unix.IoctlSetInt(int(fd), eviocgrab, 1); e != nil {
			if e == unix.EBUSY {
				ioErr = fmt.Errorf("%w: %s", errGrabBusy, path)
				return
			}
			ioErr = fmt.Errorf("grab %s: %w", path, e)
		}
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
