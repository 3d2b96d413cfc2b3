package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"periph.io/x/conn/v3/gpio"

	"sentinel/device/camera"
	"sentinel/device/scanner"
	"sentinel/device/signal"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/backoff"
	"sentinel/internal/gate"
	sentinelhw "sentinel/internal/hardware"
	"sentinel/internal/hardware/gatedev"
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
	// cameraRetry is the delays between the opens of an absent camera.
	cameraRetry backoff.Backoff
}

// Delays between the opens of an absent camera: the log and the guard's
// display say "tried again every defaultCameraRetryMax".
const (
	defaultCameraRetryMin = time.Second
	defaultCameraRetryMax = 5 * time.Second
)

func hostHardware() hardware {
	return hardware{
		thermometer: func(_ string, c firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
			return sentinelhw.OpenThermometer(c)
		},
		sampler:    thermo.DefaultSamplerConfig,
		checkEvery: time.Second,
		pin:        signal.OpenPin,
		camera: func(ctx context.Context, c firmwareconfig.Camera) (camera.FrameSource, error) {
			return sentinelhw.OpenCamera(ctx, c, nil)
		},
		cameraRetry: backoff.Backoff{Min: defaultCameraRetryMin, Max: defaultCameraRetryMax},
	}
}

// devices are the lanes' devices, opened.
type devices struct {
	lanes    []gate.LaneConfig
	samplers map[string]*thermo.Sampler
	outputs  []*signal.Outputs
	closers  []io.Closer
	cameras  map[string]*sentinelhw.CameraSource
	scanners map[string]scanner.Source
	// frameDecode times the cameras' frame decoding, by lane;
	// frameUnchanged counts the frames not decoded because nothing in
	// view moved.
	frameDecode    *prometheus.HistogramVec
	frameUnchanged *prometheus.CounterVec
}

// openDevices opens every lane's devices. A device that is missing now is
// no error (scanners and cameras reopen by themselves, a thermometer shows
// unavailable); a configuration that cannot work is.
func (d *daemon) openDevices(ctx context.Context) (*devices, error) {
	devs := &devices{samplers: map[string]*thermo.Sampler{}, cameras: map[string]*sentinelhw.CameraSource{}, scanners: map[string]scanner.Source{}, frameDecode: newFrameDecode(), frameUnchanged: newFrameUnchanged()}
	fail := func(err error) (*devices, error) {
		devs.close()
		return nil, err
	}
	for _, l := range d.cfg.Lanes {
		lc := gate.LaneConfig{Name: l.Name, Exit: l.Direction.Exit()}
		for i, sc := range l.Scanners {
			name := fmt.Sprintf("%s scanner %d", l.Name, i+1)
			src, err := sentinelhw.OpenScanner(name, sc)
			if err != nil {
				return fail(fmt.Errorf("lane %s: scanner %d: %w", l.Name, i+1, err))
			}
			dd := scanner.NewDedup(src, scanner.DedupConfig{Window: sc.DedupWindow.Std()})
			lc.Sources = append(lc.Sources, gatedev.NewCodes(enrolTap{Source: dd, onTicket: d.enrolFromScan}))
			devs.scanners[name] = dd
		}
		if l.Camera != nil {
			frames, err := d.openCamera(ctx, l)
			if err != nil {
				return fail(fmt.Errorf("lane %s: camera: %w", l.Name, err))
			}
			devs.closers = append(devs.closers, frames)
			cam := sentinelhw.NewCameraSource(l.Name+" camera", frames, nil)
			decode := devs.frameDecode.WithLabelValues(l.Name)
			cam.OnDecode(func(d time.Duration) { decode.Observe(d.Seconds()) })
			unchanged := devs.frameUnchanged.WithLabelValues(l.Name)
			cam.OnUnchanged(unchanged.Inc)
			devs.cameras[l.Name] = cam
			lc.Sources = append(lc.Sources, gatedev.NewCodes(enrolTap{Source: scanner.NewDedup(cam, scanner.DedupConfig{}), onTicket: d.enrolFromScan}))
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
			lc.Thermometer = gatedev.NewThermometer(s)
		}
		out, err := sentinelhw.OpenOutputs(l.Outputs, d.hw.pin)
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

// openCamera opens lane l's camera. A camera that is absent now (unplugged,
// another /dev/videoN, not yet attached, busy) or that is there but refuses
// (no permission, a format or stream it will not start, I/O errors, a
// stream that drops) is no error: the lane keeps its other sources, the
// camera is opened again in the background with a growing delay, and the
// guard's display and /metrics show its fault until it answers. Only a
// camera source this build cannot open is an error.
func (d *daemon) openCamera(ctx context.Context, l firmwareconfig.Lane) (*sentinelhw.ReopenCamera, error) {
	c := *l.Camera
	open := func(ctx context.Context) (camera.FrameSource, error) { return d.hw.camera(ctx, c) }
	src, err := open(ctx)
	if errors.Is(err, sentinelhw.ErrCameraUnsupported) {
		return nil, err
	}
	retry := d.hw.cameraRetry
	if retry.Min <= 0 {
		retry = backoff.Backoff{Min: defaultCameraRetryMin, Max: defaultCameraRetryMax}
	}
	what := cameraName(c)
	others := "the lane has no other reader until then"
	if len(l.Scanners) > 0 {
		others = "the lane keeps working with its scanner"
	}
	every := max(retry.Max, retry.Min).Round(time.Second)
	if every == 0 {
		every = max(retry.Max, retry.Min)
	}
	fault := func(err error) {
		why := "does not work: check its cable, power and settings (sentinelctl selftest --lane " + l.Name + ")"
		switch {
		case errors.Is(err, syscall.EBUSY):
			why = "is busy: another program uses it; stop that program"
		case sentinelhw.CameraAbsent(err):
			why = "not found: check the cable"
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			why = "refuses access: the sentinel user must be in the video group"
		}
		d.logger.Warn(fmt.Sprintf("camera %s %s; %s, and the camera is tried again every %s", what, why, others, every),
			"lane", l.Name, "error", err)
	}
	r := sentinelhw.NewReopenCamera(open, src, err, retry)
	r.Live = c.Source != firmwareconfig.CameraReplay
	r.OnAbsent = fault
	r.OnBack = func() {
		d.logger.Info(fmt.Sprintf("camera %s is back: the lane reads codes from it again", what), "lane", l.Name)
	}
	if err != nil {
		fault(err)
	}
	return r, nil
}

// cameraName is how the installer knows the camera: its device, stream or
// directory.
func cameraName(c firmwareconfig.Camera) string {
	switch {
	case c.Device != "":
		return c.Device
	case c.URL != "":
		return c.URL
	case c.Dir != "":
		return c.Dir
	}
	return string(c.Source)
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
