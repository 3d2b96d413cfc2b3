package thermo

import (
	"errors"
	"math"
	"testing"
	"time"
)

// refConsts are the example calibration constants of Melexis' reference
// library's unit tests (mlx90632-library, test/TestDSP.c), whose expected
// temperatures the tests below reproduce.
var refConsts = consts632{
	PR: 0x00587f5b, PG: 0x04a10289, PT: -0x69908 /* 0xfff966f8 as int32 */, PO: 0x00001e0f,
	Ea: 4859535, Eb: 5686508, Fa: 53855361, Fb: 42874149, Ga: -14556410,
	Ha: 16384, Hb: 0, Gb: 9728, Ka: 10752,
}

func TestMLX90632Model(t *testing.T) {
	if uint32(refConsts.PT) != 0xfff966f8 {
		t.Fatalf("P_T: got %d, want 0xfff966f8 as int32", refConsts.PT)
	}
	ambient := []struct {
		newRaw, oldRaw int16
		want           float64
	}{
		{22454, 23030, 48.724},
		{100, 150, -18.734},
		{32767, 32766, 53.350},
	}
	for _, tt := range ambient {
		if got := ambient632(tt.newRaw, tt.oldRaw, refConsts); math.Abs(got-tt.want) > 0.01 {
			t.Errorf("ambient(%d, %d): got %.3f °C, want %.3f °C", tt.newRaw, tt.oldRaw, got, tt.want)
		}
	}
	object := []struct {
		name           string
		objNew, objOld int16
		hb             int16
		want           float64
	}{
		{"609/611", 609, 611, 0, 55.507},
		{"149/151", 149, 151, 0, 51.123},
		{"negative", -149, -151, 0, 48.171},
		{"close", -147, -149, 0, 48.192},
		{"full scale", 32767, 32767, 0, 212.844},
		{"cold", -5000, -5000, 0, -16.653},
		{"26901/26899", 26901, 26899, 0, 193.917},
		{"27105/27095", 27105, 27095, 0, 194.599},
		{"Hb 10240", 609, 611, 10240, 45.495},
		{"Hb 10240 cold", -5000, -5000, 10240, -26.457},
	}
	for _, tt := range object {
		t.Run(tt.name, func(t *testing.T) {
			k := refConsts
			k.Hb = tt.hb
			if got := object632(tt.objNew, tt.objOld, 22454, 23030, k); math.Abs(got-tt.want) > 0.01 {
				t.Errorf("got %.3f °C, want %.3f °C", got, tt.want)
			}
		})
	}
}

func TestMLX90632Transcripts(t *testing.T) {
	tests := []struct {
		file       string
		wantNewErr bool
		wantErr    error
		wantObj    float64 // °C
		wantAmb    float64
		wantSleeps []time.Duration
	}{
		{file: "read.txt", wantObj: 55.507, wantAmb: 48.724, wantSleeps: []time.Duration{poll632Interval}},
		{file: "nack-during-init.txt", wantObj: math.NaN(), wantSleeps: []time.Duration{DefaultRetryDelay}},
		{file: "wrong-version.txt", wantNewErr: true},
		{file: "never-ready.txt", wantErr: ErrNoAnswer},
		{file: "bad-position.txt", wantErr: errBadPosition},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			bus := loadTranscript(t, "mlx90632/"+tt.file)
			var sleeps []time.Duration
			d, err := newMLX90632(bus, DefaultAddr90632, nil, func(d time.Duration) { sleeps = append(sleeps, d) })
			if tt.wantNewErr {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.k != refConsts {
				t.Errorf("got constants %+v, want %+v", d.k, refConsts)
			}
			if math.IsNaN(tt.wantObj) { // init only
				if len(sleeps) != len(tt.wantSleeps) {
					t.Errorf("got sleeps %v, want %v", sleeps, tt.wantSleeps)
				}
				return
			}
			got, err := d.Read()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o := got.Object.Celsius(); math.Abs(o-tt.wantObj) > 0.01 {
				t.Errorf("got object %.3f °C, want %.3f °C", o, tt.wantObj)
			}
			if a := got.Ambient.Celsius(); math.Abs(a-tt.wantAmb) > 0.01 {
				t.Errorf("got ambient %.3f °C, want %.3f °C", a, tt.wantAmb)
			}
			if len(sleeps) != len(tt.wantSleeps) || (len(sleeps) > 0 && sleeps[0] != tt.wantSleeps[0]) {
				t.Errorf("got sleeps %v, want %v", sleeps, tt.wantSleeps)
			}
		})
	}
}

func TestMLX90632NeverReadyPolls(t *testing.T) {
	bus := loadTranscript(t, "mlx90632/never-ready.txt")
	n := 0
	d, err := newMLX90632(bus, DefaultAddr90632, nil, func(time.Duration) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("got %v, want ErrNoAnswer", err)
	}
	if n != poll632MaxRetries {
		t.Errorf("got %d pauses between polls, want %d", n, poll632MaxRetries)
	}
}

func TestSample632Ranges(t *testing.T) {
	tests := []struct {
		name    string
		raw     [6]int16
		wantErr error
	}{
		{"reference", [6]int16{22454, 23030, 609, 609, 611, 611}, nil},
		{"object above 200 °C", [6]int16{22454, 23030, 32767, 32767, 32767, 32767}, ErrOutOfRange},
		{"zero reference voltage", [6]int16{0, 0, 609, 609, 611, 611}, ErrOutOfRange},
		{"all zero", [6]int16{}, ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sample632(tt.raw, refConsts)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func FuzzSample632(f *testing.F) {
	f.Add(int16(22454), int16(23030), int16(609), int16(609), int16(611), int16(611), int16(9728), int16(10752), int16(16384), int16(0))
	f.Add(int16(0), int16(0), int16(0), int16(0), int16(0), int16(0), int16(0), int16(0), int16(0), int16(0))
	f.Add(int16(-32768), int16(32767), int16(-32768), int16(-32768), int16(32767), int16(32767), int16(-1), int16(1), int16(-16384), int16(32767))
	f.Fuzz(func(t *testing.T, a1, a2, o1, o2, o3, o4, gb, ka, ha, hb int16) {
		k := refConsts
		k.Gb, k.Ka, k.Ha, k.Hb = gb, ka, ha, hb
		s, err := sample632([6]int16{a1, a2, o1, o2, o3, o4}, k)
		if err != nil {
			return
		}
		if s.Object < min632Object || s.Object > max632Object || s.Ambient < min632Ambient || s.Ambient > max632Ambient {
			t.Fatalf("accepted %+v outside the sensor's ranges", s)
		}
	})
}
