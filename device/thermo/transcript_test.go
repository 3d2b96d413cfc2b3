package thermo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"
)

// errNACK is what the replayed bus returns for a transaction marked NACK.
// periph's sysfs bus reports the kernel's EREMOTEIO the same way, as a plain
// error.
var errNACK = errors.New("sysfs-i2c: remote I/O error")

// replayBus is i2ctest.Playback plus the transactions the sensor did not
// acknowledge: those are checked and consumed like the others, then fail.
type replayBus struct {
	*i2ctest.Playback
	nack map[int]bool
}

var _ i2c.Bus = (*replayBus)(nil)

func (r *replayBus) Tx(addr uint16, w, rd []byte) error {
	r.Lock()
	if i := r.Count; i < len(r.Ops) && r.nack[i] {
		defer r.Unlock()
		if op := r.Ops[i]; addr != op.Addr || !bytes.Equal(w, op.W) {
			panic(fmt.Sprintf("replay: transaction #%d: got addr %#x write % x, want addr %#x write % x (NACK)", i, addr, w, op.Addr, op.W))
		}
		r.Count++
		clear(rd)
		return errNACK
	}
	r.Unlock()
	return r.Playback.Tx(addr, w, rd)
}

// parseTranscript reads the format described in testdata/README.md.
func parseTranscript(data []byte) (*replayBus, error) {
	bus := &replayBus{Playback: &i2ctest.Playback{}, nack: map[int]bool{}}
	addr := DefaultAddr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "addr" {
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: addr takes one hex value", n)
			}
			a, err := strconv.ParseUint(f[1], 16, 7)
			if err != nil {
				return nil, fmt.Errorf("line %d: addr: %w", n, err)
			}
			addr = uint16(a)
			continue
		}
		times := 1
		if f[0] == "repeat" {
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: repeat needs a count", n)
			}
			c, err := strconv.Atoi(f[1])
			if err != nil || c < 1 {
				return nil, fmt.Errorf("line %d: repeat count %q", n, f[1])
			}
			times, f = c, f[2:]
		}
		if len(f) < 2 || f[0] != "W" {
			return nil, fmt.Errorf("line %d: want %q, got %q", n, "W xx [/ R xx.. | / NACK]", line)
		}
		slash := len(f)
		for i, s := range f {
			if s == "/" {
				slash = i
			}
		}
		if slash < 2 || slash == len(f)-1 {
			return nil, fmt.Errorf("line %d: want bytes on both sides of %q", n, "/")
		}
		w, err := hexBytes(f[1:slash])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var r []byte
		nack := false
		switch {
		case slash == len(f): // write only
		case f[slash+1] == "NACK":
			if len(f) != slash+2 {
				return nil, fmt.Errorf("line %d: nothing may follow NACK", n)
			}
			nack = true
		case f[slash+1] == "R":
			if r, err = hexBytes(f[slash+2:]); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		default:
			return nil, fmt.Errorf("line %d: want R or NACK after /, got %q", n, f[slash+1])
		}
		for range times {
			if nack {
				bus.nack[len(bus.Ops)] = true
			}
			bus.Ops = append(bus.Ops, i2ctest.IO{Addr: addr, W: w, R: r})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return bus, nil
}

func hexBytes(f []string) ([]byte, error) {
	b := make([]byte, len(f))
	for i, s := range f {
		v, err := strconv.ParseUint(s, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("byte %q: %w", s, err)
		}
		b[i] = byte(v)
	}
	return b, nil
}

// loadTranscript parses testdata/<name> and registers a cleanup that fails
// the test when the driver left transactions unconsumed.
func loadTranscript(t *testing.T, name string) *replayBus {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := parseTranscript(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := bus.Close(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	return bus
}

func TestParseTranscript(t *testing.T) {
	bus, err := parseTranscript([]byte("# c\naddr 00\nW 07 / R D2 3A 3F # x\nrepeat 2 W 06 / NACK\nW 3F FF 00 00\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []i2ctest.IO{
		{Addr: 0, W: []byte{7}, R: []byte{0xD2, 0x3A, 0x3F}},
		{Addr: 0, W: []byte{6}},
		{Addr: 0, W: []byte{6}},
		{Addr: 0, W: []byte{0x3F, 0xFF, 0, 0}},
	}
	if got := fmt.Sprint(bus.Ops); got != fmt.Sprint(want) {
		t.Errorf("got ops %s, want %s", got, fmt.Sprint(want))
	}
	if !bus.nack[1] || !bus.nack[2] || bus.nack[0] {
		t.Errorf("got nack %v, want ops 1 and 2", bus.nack)
	}
	for _, bad := range []string{"W 07 R D2", "W / R 00", "W 07 /", "W", "X 07 / R 00", "W 07 / NACK 3", "addr 80", "repeat 0 W 07 / NACK", "W zz / R 00"} {
		if _, err := parseTranscript([]byte(bad)); err == nil {
			t.Errorf("parseTranscript(%q): got no error, want one", bad)
		}
	}
}

// celsius builds a temperature from °C in hundredths, exactly.
func centiCelsius(c int64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(c)*10*physic.MilliKelvin
}
