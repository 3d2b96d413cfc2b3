package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"sentinel/device/camera"
	"sentinel/device/scanner"
	"sentinel/device/signal"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/gate"
)

// hardware opens the machine's devices; the demo replaces parts of it.
type hardware struct {
	// thermometer opens a lane's thermometer: its source and what to
	// close when the daemon stops.
	thermometer func(lane string, t firmwareconfig.Thermometer) (thermo.Source, io.Closer, error)
	// sampler returns the sampling settings.
	sampler func() thermo.SamplerConfig
	// checkEvery is how often an idle thermometer is checked; 0: never.
	checkEvery time.Duration
	// pin opens a GPIO pin.
	pin func(name string) (gpio.PinIO, error)
	// camera opens a lane's camera.
	camera func(ctx context.Context, c firmwareconfig.Camera) (camera.FrameSource, error)
}

func hostHardware() hardware {
	return hardware{
		thermometer: openThermometer,
		sampler:     thermo.DefaultSamplerConfig,
		checkEvery:  time.Second,
		pin:         signal.OpenPin,
		camera:      openCamera,
	}
}

func openThermometer(lane string, c firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
	bus, err := thermo.OpenBus(c.Bus)
	if err != nil {
		return nil, nil, err
	}
	dev, err := newThermometer(bus, c)
	if err != nil {
		bus.Close()
		return nil, nil, err
	}
	return dev, bus, nil
}

// newThermometer returns the driver of the configured model on bus.
func newThermometer(bus i2c.Bus, c firmwareconfig.Thermometer) (thermo.Source, error) {
	switch c.Model {
	case firmwareconfig.MLX90614:
		return thermo.NewMLX90614(bus, c.Address, nil)
	case firmwareconfig.MLX90632:
		return thermo.NewMLX90632(bus, c.Address, nil)
	}
	return nil, fmt.Errorf("thermometer model %q is not supported", c.Model)
}

// openCamera opens a camera with device/camera's frame sources.
func openCamera(ctx context.Context, c firmwareconfig.Camera) (camera.FrameSource, error) {
	switch c.Source {
	case firmwareconfig.CameraV4L2:
		return camera.OpenV4L2(camera.V4L2Config{Device: c.Device, Width: c.Width, Height: c.Height})
	case firmwareconfig.CameraMJPEG:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 10 * time.Second
		return camera.NewMJPEGStream(c.URL, &http.Client{Transport: t}), nil
	case firmwareconfig.CameraFFmpeg:
		return camera.StartFFmpeg(ctx, camera.FFmpegConfig{Input: c.URL, InputArgs: c.FFmpegArgs, Width: c.Width, Height: c.Height})
	case firmwareconfig.CameraReplay:
		entries, err := os.ReadDir(c.Dir)
		if err != nil {
			return nil, fmt.Errorf("replay camera: %w", err)
		}
		var files []string
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".png", ".jpg", ".jpeg":
				files = append(files, filepath.Join(c.Dir, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("replay camera: no PNG or JPEG file in %s", c.Dir)
		}
		slices.Sort(files)
		return camera.NewReplay(files, false), nil
	}
	return nil, fmt.Errorf("camera source %q is not supported", c.Source)
}

func openScanner(name string, c firmwareconfig.Scanner) (scanner.Source, error) {
	switch c.Type {
	case firmwareconfig.ScannerSerial:
		f, err := scanner.ParseFraming(string(c.Framing), c.Suffix)
		if err != nil {
			return nil, err
		}
		return scanner.NewSerial(scanner.SerialConfig{
			Name: name, Port: c.Port, USB: c.USB, Baud: c.Baud, Framing: f, IdleGap: c.IdleGap.Std(),
		})
	case firmwareconfig.ScannerHID:
		return scanner.NewEvdev(scanner.EvdevConfig{Name: name, Path: c.Device})
	}
	return nil, fmt.Errorf("scanner type %q is not supported", c.Type)
}

// devices are the lanes' devices, opened.
type devices struct {
	lanes    []gate.LaneConfig
	samplers map[string]*thermo.Sampler
	outputs  []*signal.Outputs
	closers  []io.Closer
	cameras  map[string]*gate.CameraSource
	scanners map[string]scanner.Source
}

// openDevices opens every lane's devices. A device that is missing now is
// no error (scanners and cameras reopen by themselves, a thermometer shows
// unavailable); a configuration that cannot work is.
func (d *daemon) openDevices(ctx context.Context) (*devices, error) {
	devs := &devices{samplers: map[string]*thermo.Sampler{}, cameras: map[string]*gate.CameraSource{}, scanners: map[string]scanner.Source{}}
	fail := func(err error) (*devices, error) {
		devs.close()
		return nil, err
	}
	for _, l := range d.cfg.Lanes {
		lc := gate.LaneConfig{Name: l.Name}
		for i, sc := range l.Scanners {
			name := fmt.Sprintf("%s scanner %d", l.Name, i+1)
			src, err := openScanner(name, sc)
			if err != nil {
				return fail(fmt.Errorf("lane %s: scanner %d: %w", l.Name, i+1, err))
			}
			dd := scanner.NewDedup(src, scanner.DedupConfig{Window: sc.DedupWindow.Std()})
			lc.Sources = append(lc.Sources, dd)
			devs.scanners[name] = dd
		}
		if l.Camera != nil {
			frames, err := d.hw.camera(ctx, *l.Camera)
			if err != nil {
				return fail(fmt.Errorf("lane %s: camera: %w", l.Name, err))
			}
			cam := gate.NewCameraSource(l.Name+" camera", frames, nil)
			devs.cameras[l.Name] = cam
			lc.Sources = append(lc.Sources, scanner.NewDedup(cam, scanner.DedupConfig{}))
		}
		if l.Thermometer != nil {
			src, closer, err := d.hw.thermometer(l.Name, *l.Thermometer)
			if err != nil {
				// The sensor may come back; until then the lane's
				// readings are unavailable and policy refers.
				d.logger.Warn("thermometer not opened", "lane", l.Name, "error", err)
				src = missingThermometer{err}
			}
			if closer != nil {
				devs.closers = append(devs.closers, closer)
			}
			cfg := d.hw.sampler()
			cal, err := thermo.LoadCalibration(d.cfg.LaneStateDir(l.Name))
			switch {
			case errors.Is(err, thermo.ErrNoCalibration):
				d.logger.Warn("thermometer not calibrated: run sentinelctl calibrate thermo", "lane", l.Name)
				cal = thermo.DefaultCalibration()
			case err != nil:
				d.logger.Warn("thermometer calibration unreadable: using none", "lane", l.Name, "error", err)
				cal = thermo.DefaultCalibration()
			}
			cfg.Calibration = cal
			s, err := thermo.NewSampler(src, cfg)
			if err != nil {
				return fail(fmt.Errorf("lane %s: thermometer: %w", l.Name, err))
			}
			devs.samplers[l.Name] = s
			lc.Thermometer = s
		}
		out, err := d.openOutputs(l.Outputs)
		if err != nil {
			return fail(fmt.Errorf("lane %s: outputs: %w", l.Name, err))
		}
		if out != nil {
			devs.outputs = append(devs.outputs, out)
			lc.Outputs = out
		}
		devs.lanes = append(devs.lanes, lc)
	}
	return devs, nil
}

// openOutputs opens a lane's relay, light tower and buzzer; nil when it has
// none.
func (d *daemon) openOutputs(o firmwareconfig.Outputs) (*signal.Outputs, error) {
	if o.Relay == nil && o.Tower == nil && o.Buzzer == nil {
		return nil, nil
	}
	var relay *signal.Relay
	var tower *signal.Tower
	var buzzer *signal.Buzzer
	if o.Relay != nil {
		p, err := d.hw.pin(o.Relay.Pin)
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		if relay, err = signal.NewRelay(p, &signal.RelayOpts{ActiveLow: o.Relay.ActiveLow, PulseLength: o.Relay.Pulse.Std()}); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
	}
	if o.Tower != nil {
		var pins [3]gpio.PinOut
		for i, name := range []string{o.Tower.Green, o.Tower.Yellow, o.Tower.Red} {
			if name == "" {
				continue
			}
			p, err := d.hw.pin(name)
			if err != nil {
				return nil, fmt.Errorf("light tower: %w", err)
			}
			pins[i] = p
		}
		var err error
		if tower, err = signal.NewTower(pins[0], pins[1], pins[2], &signal.TowerOpts{ActiveLow: o.Tower.ActiveLow}); err != nil {
			return nil, fmt.Errorf("light tower: %w", err)
		}
	}
	if o.Buzzer != nil {
		p, err := d.hw.pin(o.Buzzer.Pin)
		if err != nil {
			return nil, fmt.Errorf("buzzer: %w", err)
		}
		if buzzer, err = signal.NewBuzzer(p, &signal.BuzzerOpts{ActiveLow: o.Buzzer.ActiveLow}); err != nil {
			return nil, fmt.Errorf("buzzer: %w", err)
		}
	}
	return signal.NewOutputs(relay, tower, buzzer, signal.DefaultPatterns())
}

// check keeps the idle thermometers' state current, so that a fault shows
// (and clears) before the next person. It returns when ctx is done.
func (devs *devices) check(ctx context.Context, every time.Duration, logger *slog.Logger) {
	if every <= 0 || len(devs.samplers) == 0 {
		return
	}
	var wg sync.WaitGroup
	for lane, s := range devs.samplers {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			was := true
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				_, err := s.Check()
				if ok := err == nil; ok != was {
					if ok {
						logger.Info("thermometer available again", "lane", lane)
					} else {
						logger.Warn("thermometer unavailable", "lane", lane, "error", err)
					}
					was = ok
				}
			}
		})
	}
	wg.Wait()
}

// halt drives every output safe: relay released, buzzer silent, lights off.
func (devs *devices) halt() {
	for _, o := range devs.outputs {
		o.Halt()
	}
}

func (devs *devices) close() {
	devs.halt()
	for _, c := range devs.closers {
		c.Close()
	}
}

// missingThermometer stands for a sensor that could not be opened.
type missingThermometer struct{ err error }

func (m missingThermometer) Read() (thermo.Sample, error) { return thermo.Sample{}, m.err }
