package scanner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"sentinel/internal/backoff"
)

// DefaultIdleGap is how long a serial line with no terminator waits before
// it is taken as complete.
const DefaultIdleGap = 100 * time.Millisecond

// pollInterval bounds how long a serial read blocks, so that Next notices a
// cancelled ctx and flushes idle lines in time.
const pollInterval = 50 * time.Millisecond

// A code scanned while nothing read the port (the daemon down, the scanner
// unplugged from it) is not a person at the gate now. When the port opens
// its input is flushed, and whatever still arrives at once (a USB
// scanner's own buffer emptying) is read and dropped until the port has
// been quiet for staleQuiet, for at most staleWindow.
const (
	staleQuiet  = 20 * time.Millisecond
	staleWindow = time.Second
	maxStale    = 64 << 10 // far more than a scanner buffers
)

// SerialConfig describes a serial scanner. Either Port or USB is required.
type SerialConfig struct {
	// Name is the scanner's name on the display and in Code.Source;
	// empty means the port or the USB id.
	Name string
	// Port is the device path, for example /dev/ttyACM0 or a stable
	// /dev/serial/by-id/... link. Pseudo-terminals are never enumerated, so
	// they work only through Port.
	Port string
	// USB selects the first serial port of a USB device by its vendor and
	// product id in hex, "VID:PID" (for example "05f9:4204"), used when
	// Port is empty. The port is looked up again at each reopen, so the
	// scanner may come back under another name.
	USB string
	// USBSerial, if set, also requires the USB serial number to match, to
	// tell two identical scanners apart.
	USBSerial string
	// Baud is the line speed; zero means 9600.
	Baud int
	// DataBits is 5 to 8; zero means 8.
	DataBits int
	// Parity is "none" (or empty), "even" or "odd".
	Parity string
	// StopBits is 1 or 2; zero means 1.
	StopBits int
	// Framing is the terminator the scanner appends; empty means FramingCR.
	Framing Framing
	// IdleGap ends a line with no terminator after this long without a
	// byte; zero means DefaultIdleGap, negative never ends such a line.
	IdleGap time.Duration
	// MaxLine is the longest line accepted; zero means MaxLine (8 KiB).
	MaxLine int
	// MinBackoff and MaxBackoff bound the delay between reopen attempts;
	// zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

var usbIDPattern = regexp.MustCompile(`^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$`)

// Serial is a serial scanner. It opens its port on the first Next and
// reopens it with backoff whenever it fails.
type Serial struct {
	cfg     SerialConfig
	name    string
	mode    serial.Mode
	vid     string
	pid     string
	framing FramerConfig

	// OS and time access; tests replace them.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	open  func(path string, mode *serial.Mode) (serial.Port, error)
	list  func() ([]*enumerator.PortDetails, error)

	done      chan struct{} // closed by Close
	closeOnce sync.Once

	mu     sync.Mutex // guards the fields below
	port   serial.Port
	status Status

	nextMu sync.Mutex // one Next at a time; guards the fields below
	framer *Framer
	queue  []Line
	back   backoff.Backoff
	buf    []byte
}

var _ Source = (*Serial)(nil)

// NewSerial checks c and returns a Serial scanner. It does not open the
// port: the first Next does, so a scanner that is unplugged at start-up is
// reported missing rather than failing the daemon.
func NewSerial(c SerialConfig) (*Serial, error) {
	s := &Serial{
		cfg:   c,
		now:   time.Now,
		sleep: sleepCtx,
		open:  serial.Open,
		list:  func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() },
		done:  make(chan struct{}),
		buf:   make([]byte, 4096),
	}
	switch {
	case c.Port != "" && c.USB != "":
		return nil, fmt.Errorf("scanner: serial port %q and usb %q both set: set one of them", c.Port, c.USB)
	case c.Port != "":
		s.name = c.Port
	case c.USB != "":
		if !usbIDPattern.MatchString(c.USB) {
			return nil, fmt.Errorf("scanner: usb id %q is not VID:PID in hex, like 05f9:4204", c.USB)
		}
		s.vid, s.pid, _ = strings.Cut(strings.ToLower(c.USB), ":")
		s.name = "usb " + c.USB
	default:
		return nil, fmt.Errorf("scanner: serial scanner has neither port nor usb id: set one of them")
	}
	if c.Name != "" {
		s.name = c.Name
	}
	s.mode = serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits}
	if s.mode.BaudRate == 0 {
		s.mode.BaudRate = 9600
	}
	if s.mode.BaudRate < 0 {
		return nil, fmt.Errorf("scanner %s: baud rate %d is negative", s.name, c.Baud)
	}
	if s.mode.DataBits == 0 {
		s.mode.DataBits = 8
	}
	if s.mode.DataBits < 5 || s.mode.DataBits > 8 {
		return nil, fmt.Errorf("scanner %s: data bits %d out of range: use 5 to 8", s.name, c.DataBits)
	}
	switch c.Parity {
	case "", "none":
		s.mode.Parity = serial.NoParity
	case "even":
		s.mode.Parity = serial.EvenParity
	case "odd":
		s.mode.Parity = serial.OddParity
	default:
		return nil, fmt.Errorf("scanner %s: parity %q unknown: use none, even or odd", s.name, c.Parity)
	}
	switch c.StopBits {
	case 0, 1:
		s.mode.StopBits = serial.OneStopBit
	case 2:
		s.mode.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("scanner %s: stop bits %d out of range: use 1 or 2", s.name, c.StopBits)
	}
	s.framing = FramerConfig{Framing: c.Framing, MaxLine: c.MaxLine, IdleGap: c.IdleGap}
	if s.framing.Framing == "" {
		s.framing.Framing = FramingCR
	}
	switch {
	case s.framing.IdleGap == 0:
		s.framing.IdleGap = DefaultIdleGap
	case s.framing.IdleGap < 0:
		s.framing.IdleGap = 0
	}
	f, err := NewFramer(s.framing)
	if err != nil {
		return nil, fmt.Errorf("scanner %s: %w", s.name, err)
	}
	s.framer = f
	s.back = newBackoff(c.MinBackoff, c.MaxBackoff)
	s.status = Status{Source: s.name, Kind: "serial", Device: c.Port, State: StateUnknown}
	return s, nil
}

// Name returns the scanner's name as it appears in Code.Source.
func (s *Serial) Name() string { return s.name }

// Status reports whether the scanner is present.
func (s *Serial) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Close closes the port. A Next in progress returns ErrClosed.
func (s *Serial) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		p := s.port
		s.port = nil
		s.setState(StateClosed, "", nil)
		s.mu.Unlock()
		if p != nil {
			err = p.Close()
		}
	})
	if err != nil {
		return fmt.Errorf("scanner %s: close: %w", s.name, err)
	}
	return nil
}

// Next returns the next code, opening and reopening the port as needed.
func (s *Serial) Next(ctx context.Context) (Code, error) {
	s.nextMu.Lock()
	defer s.nextMu.Unlock()
	for {
		if s.isClosed() {
			return Code{}, ErrClosed
		}
		if len(s.queue) > 0 {
			l := s.queue[0]
			s.queue = s.queue[1:]
			return s.deliver(l)
		}
		if err := ctx.Err(); err != nil {
			return Code{}, err
		}
		s.mu.Lock()
		port := s.port
		s.mu.Unlock()
		if port == nil {
			if err := s.connect(ctx); err != nil {
				if s.isClosed() {
					return Code{}, ErrClosed
				}
				return Code{}, err
			}
			continue
		}
		s.read(port)
	}
}

// read does one bounded read and queues the lines it completes.
func (s *Serial) read(port serial.Port) {
	timeout := pollInterval
	if d, ok := s.framer.Deadline(); ok {
		timeout = min(timeout, max(d.Sub(s.now()), time.Millisecond))
	}
	if err := port.SetReadTimeout(timeout); err != nil {
		s.lost(port, err)
		return
	}
	n, err := port.Read(s.buf)
	now := s.now()
	if n > 0 {
		s.queue = append(s.queue, s.framer.Feed(s.buf[:n], now)...)
	}
	if err != nil {
		s.lost(port, err)
		return
	}
	if n == 0 { // read timeout: not an error
		if l, ok := s.framer.Idle(now); ok {
			s.queue = append(s.queue, l)
		}
	}
}

func (s *Serial) deliver(l Line) (Code, error) {
	if l.Err != nil {
		var tl *LineTooLongError
		if errors.As(l.Err, &tl) {
			e := *tl
			e.Source = s.name
			return Code{}, &e
		}
		return Code{}, l.Err
	}
	s.mu.Lock()
	s.status.Codes++
	s.status.LastCode = l.At
	s.mu.Unlock()
	return Code{Text: l.Text, Source: s.name, At: l.At}, nil
}

// connect tries to open the port once; after a failure it waits the
// backoff delay and returns nil so that Next tries again.
func (s *Serial) connect(ctx context.Context) error {
	path, err := s.resolve()
	var port serial.Port
	if err == nil {
		port, err = s.open(path, &s.mode)
	}
	if err != nil {
		s.mu.Lock()
		s.status.Device = path
		s.status.Attempts++
		s.setState(StateMissing, s.reason(path, err), err)
		s.mu.Unlock()
		return waitOrDone(ctx, s.done, s.sleep, s.back.Next())
	}
	stale, err := s.discardStale(port)
	if err != nil {
		port.Close()
		s.mu.Lock()
		s.status.Device = path
		s.status.Attempts++
		s.setState(StateMissing, fmt.Sprintf("scanner on %s stopped answering (unplugged or powered off?): check its cable", path), err)
		s.mu.Unlock()
		return waitOrDone(ctx, s.done, s.sleep, s.back.Next())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed() {
		port.Close()
		return ErrClosed
	}
	s.status.Stale += stale
	s.port = port
	s.status.Device = path
	s.status.Attempts = 0
	s.setState(StatePresent, "", nil)
	s.back.Reset()
	s.framer.Reset()
	return nil
}

// discardStale flushes what waited in the port's input before it was
// opened and drops what keeps arriving at once, and returns how many bytes
// it dropped.
func (s *Serial) discardStale(port serial.Port) (int, error) {
	if err := port.ResetInputBuffer(); err != nil {
		return 0, fmt.Errorf("flush input: %w", err)
	}
	if err := port.SetReadTimeout(staleQuiet); err != nil {
		return 0, err
	}
	n := 0
	for deadline := s.now().Add(staleWindow); n < maxStale && s.now().Before(deadline); {
		k, err := port.Read(s.buf)
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			break // quiet: what comes next is a person scanning now
		}
	}
	return n, nil
}

// lost closes a port that failed; the next Next reopens it. A partial line
// is dropped: its remainder went with the device.
func (s *Serial) lost(port serial.Port, err error) {
	port.Close()
	s.framer.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port != port {
		return // closed meanwhile
	}
	s.port = nil
	s.setState(StateMissing, fmt.Sprintf("scanner on %s stopped answering (unplugged or powered off?): check its cable", s.status.Device), err)
}

// resolve returns the port path to open.
func (s *Serial) resolve() (string, error) {
	if s.cfg.Port != "" {
		return s.cfg.Port, nil
	}
	ports, err := s.list()
	if err != nil {
		return "", fmt.Errorf("list serial ports: %w", err)
	}
	var match []string
	for _, p := range ports {
		if p.IsUSB && strings.EqualFold(p.VID, s.vid) && strings.EqualFold(p.PID, s.pid) &&
			(s.cfg.USBSerial == "" || p.SerialNumber == s.cfg.USBSerial) {
			match = append(match, p.Name)
		}
	}
	if len(match) == 0 {
		return "", ErrNoDevice
	}
	slices.Sort(match)
	return match[0], nil
}

// reason says in plain words why the port could not be opened.
func (s *Serial) reason(path string, err error) string {
	var pe *serial.PortError
	switch {
	case errors.Is(err, ErrNoDevice):
		id := s.cfg.USB
		if s.cfg.USBSerial != "" {
			id += " serial " + s.cfg.USBSerial
		}
		return fmt.Sprintf("no USB serial scanner %s is plugged in: check its cable and that it is set to serial (USB CDC) mode", id)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("serial port %s does not exist: check the scanner's cable and the port in the configuration", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("no permission to open %s: add the sentinel user to the dialout group", path)
	case errors.As(err, &pe) && pe.Code() == serial.PermissionDenied:
		return fmt.Sprintf("no permission to open %s: add the sentinel user to the dialout group", path)
	case errors.As(err, &pe) && pe.Code() == serial.PortBusy:
		return fmt.Sprintf("serial port %s is in use by another program: stop it (sentinelctl scan, a terminal program) and try again", path)
	}
	return fmt.Sprintf("cannot open serial port %s: %v", path, err)
}

// setState records a state change; s.mu must be held.
func (s *Serial) setState(st State, reason string, err error) {
	if s.status.State == StateClosed {
		return
	}
	if s.status.State != st {
		s.status.Since = s.now()
	}
	s.status.State = st
	s.status.Reason = reason
	s.status.Err = err
}

func (s *Serial) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
