package thermo

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"
)

func TestPECDatasheetExample(t *testing.T) {
	// MLX90614 datasheet, SMBus "read word" example: SA_W, command, SA_R,
	// LSB, MSB = B4 07 B5 D2 3A, PEC 0x30.
	if got := pec(0xB4, 0x07, 0xB5, 0xD2, 0x3A); got != 0x30 {
		t.Errorf("got PEC %#02x, want 0x30", got)
	}
	raw, err := decodeFrame(0x5A, 0x07, []byte{0xD2, 0x3A, 0x30})
	if err != nil {
		t.Fatal(err)
	}
	if raw != 0x3AD2 {
		t.Errorf("got raw %#04x, want 0x3ad2", raw)
	}
	if got, want := physic.Temperature(raw)*rawLSB, 30116*10*physic.MilliKelvin; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name    string
		addr    byte
		b       []byte
		want    uint16
		wantErr error
	}{
		{"datasheet", 0x5A, []byte{0xD2, 0x3A, 0x30}, 0x3AD2, nil},
		{"address zero", 0x00, []byte{0xD2, 0x3A, 0x3F}, 0x3AD2, nil},
		{"bad PEC", 0x5A, []byte{0xD2, 0x3A, 0x31}, 0, ErrPEC},
		{"flipped data bit", 0x5A, []byte{0xD3, 0x3A, 0x30}, 0, ErrPEC},
		{"error flag", 0x5A, []byte{0x00, 0x80, 0x8F}, 0, ErrSensorFlag},
		{"short", 0x5A, []byte{0xD2, 0x3A}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFrame(tt.addr, 0x07, tt.b)
			if tt.name == "short" {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %#04x, want %#04x", got, tt.want)
			}
		})
	}
}

func TestMLX90614Transcripts(t *testing.T) {
	tests := []struct {
		file        string
		addr        uint16
		sample      bool // Read (object and ambient) rather than Object
		want        Sample
		wantErr     error
		wantReason  Reason
		wantRetries int // sleeps between attempts
	}{
		{file: "datasheet-object.txt", want: Sample{Object: centiCelsius(2801)}},
		{file: "read-sample.txt", sample: true, want: Sample{Object: centiCelsius(2801), Ambient: centiCelsius(2449)}},
		{file: "address-zero.txt", addr: 0, sample: true, want: Sample{Object: centiCelsius(2801), Ambient: centiCelsius(2449)}},
		{file: "nack-then-success.txt", want: Sample{Object: centiCelsius(2801)}, wantRetries: 1},
		{file: "bad-pec-then-success.txt", want: Sample{Object: centiCelsius(2801)}, wantRetries: 1},
		{file: "nack-always.txt", wantErr: ErrNoAnswer, wantReason: ReasonNoAnswer, wantRetries: 3},
		{file: "bad-pec-always.txt", wantErr: ErrPEC, wantReason: ReasonCorrupt, wantRetries: 3},
		{file: "error-flag.txt", wantErr: ErrSensorFlag, wantReason: ReasonSensorFlag},
		{file: "object-below-range.txt", wantErr: ErrOutOfRange, wantReason: ReasonOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			bus := loadTranscript(t, "mlx90614/"+tt.file)
			addr := DefaultAddr
			if tt.file == "address-zero.txt" {
				addr = tt.addr
			}
			d, err := NewMLX90614(bus, addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var sleeps []time.Duration
			d.sleep = func(d time.Duration) { sleeps = append(sleeps, d) }
			var got Sample
			if tt.sample {
				got, err = d.Read()
			} else {
				got.Object, err = d.Object()
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if r := reasonOf(err); r != tt.wantReason {
				t.Errorf("got reason %q, want %q", r, tt.wantReason)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if len(sleeps) != tt.wantRetries {
				t.Errorf("got %d retry pauses, want %d", len(sleeps), tt.wantRetries)
			}
			for _, s := range sleeps {
				if s != DefaultRetryDelay {
					t.Errorf("got retry pause %s, want %s", s, DefaultRetryDelay)
				}
			}
		})
	}
}

func TestNoAnswerErrorWrapsBusError(t *testing.T) {
	bus := loadTranscript(t, "mlx90614/nack-always.txt")
	d, err := NewMLX90614(bus, DefaultAddr, &Opts{RetryDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Object()
	if !errors.Is(err, errNACK) || !errors.Is(err, ErrNoAnswer) {
		t.Errorf("got %v, want it to wrap both ErrNoAnswer and the bus error", err)
	}
}

func TestMLX90614Attempts(t *testing.T) {
	// With Attempts 1 a single NACK is final, and the transcript's second
	// transaction stays unconsumed.
	bus, err := parseTranscript([]byte("W 07 / NACK\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewMLX90614(bus, DefaultAddr, &Opts{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Object(); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("got %v, want ErrNoAnswer", err)
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

func TestPlaybackCloseCatchesUnconsumed(t *testing.T) {
	// The guard the transcript tests rely on: a driver that stops early
	// leaves operations behind, and Close says so.
	bus := loadTranscript(t, "mlx90614/read-sample.txt")
	d, err := NewMLX90614(bus, DefaultAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Object(); err != nil {
		t.Fatal(err)
	}
	bus.DontPanic = true
	if err := bus.Close(); err == nil {
		t.Error("Close after reading only the object: got no error, want an unconsumed-ops error")
	}
	if _, err := d.Ambient(); err != nil { // consume it so the cleanup passes
		t.Fatal(err)
	}
}

func TestNewMLX90614Errors(t *testing.T) {
	bus, _ := parseTranscript(nil)
	tests := []struct {
		name string
		addr uint16
		opts *Opts
	}{
		{"10-bit address", 0x80, nil},
		{"negative attempts", DefaultAddr, &Opts{Attempts: -1}},
		{"negative delay", DefaultAddr, &Opts{RetryDelay: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMLX90614(bus, tt.addr, tt.opts); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
	if _, err := NewMLX90614(nil, DefaultAddr, nil); err == nil {
		t.Error("nil bus: got no error, want one")
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(byte(0x5A), byte(0x07), []byte{0xD2, 0x3A, 0x30})
	f.Add(byte(0x5A), byte(0x06), []byte{0x22, 0x3A, 0x32})
	f.Add(byte(0x00), byte(0x07), []byte{0xD2, 0x3A, 0x3F})
	f.Add(byte(0x5A), byte(0x07), []byte{0x00, 0x80, 0x8F})
	f.Add(byte(0x5A), byte(0x07), []byte{0xD2, 0x3A, 0x31})
	f.Add(byte(0x5A), byte(0x07), []byte{})
	f.Add(byte(0x7F), byte(0xFF), []byte{0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, addr, cmd byte, b []byte) {
		addr &= 0x7F
		v, err := decodeFrame(addr, cmd, b)
		if err != nil {
			if v != 0 {
				t.Errorf("got value %#x with error %v, want 0", v, err)
			}
			return
		}
		// Accepted frames are exactly the 3-byte ones with the right PEC
		// and a clear error flag, and decode to their little-endian word.
		if len(b) != 3 {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if b[2] != pec(addr<<1, cmd, addr<<1|1, b[0], b[1]) {
			t.Fatalf("accepted bad PEC %x", b)
		}
		if v&0x8000 != 0 || v != uint16(b[0])|uint16(b[1])<<8 {
			t.Fatalf("got %#04x from % x", v, b)
		}
		// Any single flipped bit in the data must be caught by the CRC.
		for i := range 16 {
			c := []byte{b[0], b[1], b[2]}
			c[i/8] ^= 1 << (i % 8)
			if _, err := decodeFrame(addr, cmd, c); !errors.Is(err, ErrPEC) {
				t.Fatalf("bit %d flipped in % x: got %v, want ErrPEC", i, b, err)
			}
		}
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte{0xD2, 0x3A, 0x30}
	for b.Loop() {
		if _, err := decodeFrame(0x5A, 0x07, frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSamplerMeasure(b *testing.B) {
	cfg := DefaultSamplerConfig()
	cfg.Clock = newFakeClock()
	steps := person(8, 3451, 2, 2449)
	for b.Loop() {
		s, err := NewSampler(&script{steps: steps}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Measure(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
