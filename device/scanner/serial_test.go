package scanner

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"sentinel/internal/ptytest"
)

// base45 is the Base45 alphabet of RFC 9285, which EU DCC ("HC1:") codes use.
const base45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// hc1Line returns a realistic EU DCC line: "HC1:" and n-4 Base45 characters,
// the same for the same seed.
func hc1Line(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x5e471))
	var b strings.Builder
	b.WriteString("HC1:NCF")
	for b.Len() < n {
		b.WriteByte(base45[r.IntN(len(base45))])
	}
	return b.String()
}

// fakePTY is the scanner's end of a pseudo-terminal pair: the test writes
// to master what a scanner would send, and the code under test opens the
// slave by its path through the real go.bug.st/serial code.
type fakePTY struct {
	master *os.File
	tty    *os.File
	path   string
}

func newPTY(t *testing.T) *fakePTY {
	t.Helper()
	m, s := ptytest.Open(t, "the serial tests")
	p := &fakePTY{master: m, tty: s, path: s.Name()}
	t.Cleanup(p.unplug)
	return p
}

// unplug closes both ends, as when the scanner's cable is pulled.
func (p *fakePTY) unplug() {
	p.master.Close()
	p.tty.Close()
}

func (p *fakePTY) write(t *testing.T, s string) {
	t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		t.Errorf("write to pty: %v", err)
	}
}

// link points a stable path (as udev's /dev/serial/by-id links are) at the
// pty's slave.
func link(t *testing.T, link string, p *fakePTY) {
	t.Helper()
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(p.path, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	code Code
	err  error
}

// reader calls src.Next in a goroutine until the test ends.
func reader(t *testing.T, src Source) <-chan result {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan result)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := src.Next(ctx)
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			select {
			case ch <- result{c, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		src.Close()
	})
	return ch
}

func receive(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("no code within 5 s")
		return result{}
	}
}

func expectCode(t *testing.T, ch <-chan result, want string) Code {
	t.Helper()
	r := receive(t, ch)
	if r.err != nil {
		t.Fatalf("got error %v, want code %.40q", r.err, want)
	}
	if string(r.code.Text) != want {
		t.Fatalf("got code %.60q (%d bytes), want %.60q (%d bytes)", r.code.Text, len(r.code.Text), want, len(want))
	}
	return r.code
}

func waitState(t *testing.T, src Source, want State) Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := src.Status()
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("got state %v (%s), want %v", st.State, st.Reason, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestSerial(t *testing.T, c SerialConfig) *Serial {
	t.Helper()
	s, err := NewSerial(c)
	if err != nil {
		t.Fatalf("NewSerial: %v", err)
	}
	return s
}

func TestSerialPTY(t *testing.T) {
	hc1 := hc1Line(300, 1)
	tests := []struct {
		name    string
		framing Framing
		idle    time.Duration
		writes  []string
		want    []string
	}{
		{"cr", FramingCR, 0, []string{"HC1:CR\r"}, []string{"HC1:CR"}},
		{"lf", FramingLF, 0, []string{"HC1:LF\n"}, []string{"HC1:LF"}},
		{"crlf", FramingCRLF, 0, []string{"HC1:CRLF\r\nshc:/5676\r\n"}, []string{"HC1:CRLF", "shc:/5676"}},
		{"suffix", Framing("#END"), 0, []string{"HC1:SUFFIX#END"}, []string{"HC1:SUFFIX"}},
		{"idle flush", FramingCR, 20 * time.Millisecond, []string{"NOTERMINATOR"}, []string{"NOTERMINATOR"}},
		{"hc1 300 characters", FramingCRLF, 0, []string{hc1 + "\r\n"}, []string{hc1}},
		{"hc1 fragmented", FramingCRLF, 0, split(hc1+"\r\n", 7), []string{hc1}},
		{"terminator fragmented", FramingCRLF, 0, []string{"HC1:AB", "C\r", "\n"}, []string{"HC1:ABC"}},
		{"several in one write", FramingCR, 0, []string{"A1\rB2\rC3\r"}, []string{"A1", "B2", "C3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPTY(t)
			idle := tt.idle
			if idle == 0 {
				idle = -1 // off: a loaded machine may pause between fragments
			}
			s := newTestSerial(t, SerialConfig{Port: p.path, Baud: 115200, Framing: tt.framing, IdleGap: idle})
			cp := &countingPort{}
			s.open = cp.open
			ch := reader(t, s)
			waitState(t, s, StatePresent)
			sent := 0
			for _, w := range tt.writes {
				p.write(t, w)
				sent += len(w)
				cp.waitBytes(t, sent) // each fragment arrives in reads of its own
			}
			for _, want := range tt.want {
				c := expectCode(t, ch, want)
				if c.Source != p.path {
					t.Errorf("got source %q, want %q", c.Source, p.path)
				}
			}
			if n := cp.reads.Load(); n < int64(len(tt.writes)) {
				t.Errorf("got %d reads, want at least %d: the fragments were not read apart", n, len(tt.writes))
			}
			if st := s.Status(); st.Codes != len(tt.want) {
				t.Errorf("got %d codes in status, want %d", st.Codes, len(tt.want))
			}
		})
	}
}

// countingPort wraps the real serial port to count what the code under
// test has read, so that a test can write the next fragment only after the
// previous one was read.
type countingPort struct {
	serial.Port
	reads atomic.Int64 // reads that returned bytes
	bytes atomic.Int64
}

func (c *countingPort) open(path string, mode *serial.Mode) (serial.Port, error) {
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, err
	}
	c.Port = p
	return c, nil
}

func (c *countingPort) Read(b []byte) (int, error) {
	n, err := c.Port.Read(b)
	if n > 0 {
		c.reads.Add(1)
		c.bytes.Add(int64(n))
	}
	return n, err
}

func (c *countingPort) waitBytes(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.bytes.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d bytes read, want %d", c.bytes.Load(), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestSerialPTYOversize(t *testing.T) {
	p := newPTY(t)
	s := newTestSerial(t, SerialConfig{Port: p.path, Name: "lane 1", Framing: FramingCRLF, IdleGap: -1})
	ch := reader(t, s)
	waitState(t, s, StatePresent)
	go p.write(t, strings.Repeat("Z", 3*MaxLine)+"\r\n"+"HC1:AFTER\r\n")

	r := receive(t, ch)
	var tl *LineTooLongError
	if !errors.As(r.err, &tl) {
		t.Fatalf("got %v %q, want a *LineTooLongError", r.err, r.code.Text)
	}
	if tl.Len != 3*MaxLine || tl.Max != MaxLine || tl.Source != "lane 1" {
		t.Errorf("got %+v, want Len %d Max %d Source lane 1", *tl, 3*MaxLine, MaxLine)
	}
	expectCode(t, ch, "HC1:AFTER")
	if n := s.framer.Pending(); n != 0 {
		t.Errorf("got %d bytes pending, want 0", n)
	}
}

// recordingSleep stands in for time.Sleep in the reopen backoff: it
// records each delay and returns at once, so tests don't wait seconds.
type recordingSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (r *recordingSleep) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	r.mu.Unlock()
	select { // yield briefly so a missing port is not polled in a hot loop
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Microsecond):
		return nil
	}
}

func (r *recordingSleep) get() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays...)
}

func TestSerialPTYReopen(t *testing.T) {
	dir := t.TempDir()
	byID := filepath.Join(dir, "usb-Scanner_ABC-if00")
	p1 := newPTY(t)
	link(t, byID, p1)

	s := newTestSerial(t, SerialConfig{Port: byID, Framing: FramingCR, IdleGap: -1, MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	rs := &recordingSleep{}
	s.sleep = rs.sleep
	ch := reader(t, s)
	waitState(t, s, StatePresent)
	p1.write(t, "ONE\r")
	expectCode(t, ch, "ONE")

	// Pull the cable: the port fails, the scanner shows missing.
	p1.write(t, "HALF-A-CO") // a partial code is lost with the device (idle flush is off)
	time.Sleep(time.Millisecond)
	p1.unplug()
	st := waitState(t, s, StateMissing)
	if st.Reason == "" || st.Err == nil {
		t.Errorf("got reason %q error %v, want both set", st.Reason, st.Err)
	}
	// Let a few reopen attempts fail to see the backoff grow.
	for len(rs.get()) < 6 {
		time.Sleep(time.Millisecond)
	}
	if st := s.Status(); st.Attempts < 6 || st.State != StateMissing {
		t.Errorf("got %d attempts in state %v, want at least 6 while missing", st.Attempts, st.State)
	}

	// Plug it back in: a new pty behind the same stable path.
	p2 := newPTY(t)
	link(t, byID, p2)
	st = waitState(t, s, StatePresent)
	if st.Attempts != 0 || st.Reason != "" {
		t.Errorf("got attempts %d reason %q after reopen, want 0 and empty", st.Attempts, st.Reason)
	}
	p2.write(t, "TWO\r")
	expectCode(t, ch, "TWO")

	want := []time.Duration{10, 20, 40, 80, 80, 80}
	got := rs.get()
	for i, w := range want {
		if got[i] != w*time.Millisecond {
			t.Errorf("got backoff %v, want it to start %v ms", got, want)
			break
		}
	}
}

func TestSerialUSBMatch(t *testing.T) {
	p := newPTY(t)
	s := newTestSerial(t, SerialConfig{USB: "05F9:4204", Framing: FramingCR})
	s.list = func() ([]*enumerator.PortDetails, error) {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyS0"},
			{Name: "/nonexistent/ttyACM9", IsUSB: true, VID: "0403", PID: "6001"},
			{Name: p.path, IsUSB: true, VID: "05f9", PID: "4204", SerialNumber: "S123"},
		}, nil
	}
	ch := reader(t, s)
	st := waitState(t, s, StatePresent)
	if st.Device != p.path || st.Source != "usb 05F9:4204" {
		t.Errorf("got device %q source %q, want %q and \"usb 05F9:4204\"", st.Device, st.Source, p.path)
	}
	p.write(t, "HC1:USB\r")
	expectCode(t, ch, "HC1:USB")
}

func TestSerialMissingReasons(t *testing.T) {
	tests := []struct {
		name       string
		cfg        SerialConfig
		wantReason string
	}{
		{"no such port", SerialConfig{Port: "/nonexistent/ttyACM0"}, "does not exist"},
		{"no usb device", SerialConfig{USB: "05f9:9999"}, "no USB serial scanner 05f9:9999 is plugged in"},
		{"usb serial mismatch", SerialConfig{USB: "05f9:4204", USBSerial: "OTHER"}, "serial OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSerial(t, tt.cfg)
			s.list = func() ([]*enumerator.PortDetails, error) {
				return []*enumerator.PortDetails{{Name: "/nonexistent/ttyACM1", IsUSB: true, VID: "05F9", PID: "4204", SerialNumber: "S1"}}, nil
			}
			ctx, cancel := context.WithCancel(context.Background())
			s.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
			if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
			st := s.Status()
			if st.State != StateMissing || !strings.Contains(st.Reason, tt.wantReason) {
				t.Errorf("got %v %q, want missing with %q", st.State, st.Reason, tt.wantReason)
			}
		})
	}
}

func TestSerialCloseUnblocksNext(t *testing.T) {
	p := newPTY(t)
	s := newTestSerial(t, SerialConfig{Port: p.path})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background())
		errc <- err
	}()
	waitState(t, s, StatePresent)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked 5 s after Close")
	}
	if st := s.Status(); st.State != StateClosed {
		t.Errorf("got state %v, want closed", st.State)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("got %v after Close, want ErrClosed", err)
	}
}

func TestSerialCancelWhileMissing(t *testing.T) {
	s := newTestSerial(t, SerialConfig{Port: "/nonexistent/ttyUSB0", MinBackoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

func TestNewSerialRejects(t *testing.T) {
	for _, c := range []SerialConfig{
		{},
		{Port: "/dev/ttyACM0", USB: "05f9:4204"},
		{USB: "05f94204"},
		{USB: "05f9:42g4"},
		{Port: "/dev/ttyACM0", Parity: "mark"},
		{Port: "/dev/ttyACM0", StopBits: 3},
		{Port: "/dev/ttyACM0", DataBits: 9},
		{Port: "/dev/ttyACM0", Baud: -1},
		{Port: "/dev/ttyACM0", Framing: Framing(bytes.Repeat([]byte("x"), 17))},
		{Port: "/dev/ttyACM0", MaxLine: MaxLine + 1},
	} {
		if _, err := NewSerial(c); err == nil {
			t.Errorf("NewSerial(%+v): got no error, want one", c)
		}
	}
}

func TestSerialCloseWhileMissing(t *testing.T) {
	s := newTestSerial(t, SerialConfig{Port: "/nonexistent/ttyUSB0", MinBackoff: time.Hour})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background())
		errc <- err
	}()
	waitState(t, s, StateMissing)
	s.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting out the backoff 5 s after Close")
	}
}

// TestSerialPTYStaleInput: a code scanned while nothing read the port
// (sentineld down) is not a passage when the daemon starts: the waiting
// input is flushed, what the scanner still sends at once is dropped, and
// the next scan is read.
func TestSerialPTYStaleInput(t *testing.T) {
	for _, tt := range []struct {
		name        string
		before      string // written before the port opens
		afterFlush  string // written by the "scanner" just after the flush
		wantDropped int
	}{
		{"waiting in the tty", "HC1:STALE-WHILE-DOWN\r", "", 0}, // flushed unread
		{"arriving at open", "", "HC1:STALE-FROM-THE-SCANNER\r", len("HC1:STALE-FROM-THE-SCANNER\r")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPTY(t)
			if tt.before != "" {
				p.write(t, tt.before)
			}
			s := newTestSerial(t, SerialConfig{Port: p.path, Baud: 115200, Framing: FramingCR, IdleGap: -1})
			s.open = func(path string, mode *serial.Mode) (serial.Port, error) {
				port, err := serial.Open(path, mode)
				if err != nil {
					return nil, err
				}
				return &lateBufferPort{Port: port, pty: p, late: tt.afterFlush}, nil
			}
			ch := reader(t, s)
			waitState(t, s, StatePresent)
			p.write(t, "HC1:FRESH\r")
			expectCode(t, ch, "HC1:FRESH")
			if st := s.Status(); st.Stale < tt.wantDropped || st.Codes != 1 {
				t.Errorf("got %d stale bytes dropped and %d codes, want at least %d dropped and 1 code", st.Stale, st.Codes, tt.wantDropped)
			}
		})
	}
}

// lateBufferPort is a real port whose scanner sends late after the input
// is flushed, as a USB scanner's own buffer does.
type lateBufferPort struct {
	serial.Port
	pty  *fakePTY
	late string
}

func (p *lateBufferPort) ResetInputBuffer() error {
	err := p.Port.ResetInputBuffer()
	if p.late != "" {
		p.pty.master.Write([]byte(p.late))
	}
	return err
}
