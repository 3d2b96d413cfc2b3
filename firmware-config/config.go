package firmwareconfig

import (
	"fmt"
	"path/filepath"
	"time"
)

// Config is the terminal's configuration file. The TOML key of each field is
// given in its tag; the example files document them for installers.
type Config struct {
	// DataDir holds all of the terminal's mutable state: the journal, the
	// bundles, the thermometer's calibration. Default /var/lib/sentinel.
	DataDir string `toml:"data_dir"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel LogLevel `toml:"log_level"`

	// Terminal identifies this terminal and its site to the central system.
	Terminal Terminal `toml:"terminal"`
	// Central is the central system this terminal reports to.
	Central Central `toml:"central"`
	// Listen gives the addresses of the terminal's HTTP listeners.
	Listen Listen `toml:"listen"`
	// Lanes are the terminal's gates, one [[lane]] block each, at least one.
	Lanes []Lane `toml:"lane"`
}

// Terminal identifies the terminal and its site. Both ids are the ones the
// central system knows; they appear in every journal record.
type Terminal struct {
	// ID is the installer's name for the terminal, e.g. "SM-0042-T1":
	// letters, digits, '.', '_' and '-', at most 64 characters. Required.
	// It names the terminal in the logs and in sentinelctl's reports; the
	// centre knows the terminal by the device id (t-…) that enrolment
	// assigns and puts in its certificate.
	ID string `toml:"id"`
	// Name is a free text for people, e.g. "Main entrance".
	Name string `toml:"name"`
	// SiteID is the id of the site the terminal stands at, e.g. "SM-0042",
	// the site its enrolment token was made for (sentinel-central devices
	// add --site). Required. The site's policy sees it as site.id; the
	// site's type and settings come in the config bundle.
	SiteID string `toml:"site_id"`
}

// Central is the central system the terminal syncs with.
type Central struct {
	// URL is the central system's base URL. It must be https, except on a
	// loopback host (test benches and the demo). Required.
	URL string `toml:"url"`
}

// Listen holds the addresses of the terminal's HTTP listeners, as host:port.
type Listen struct {
	// Display serves the guard display to the kiosk browser on the terminal
	// itself, so it must be a loopback address. Default 127.0.0.1:8080.
	Display string `toml:"display"`
	// Management serves /metrics and health. Default 127.0.0.1:9108; it may
	// be put on a management network's address.
	Management string `toml:"management"`
}

// LogLevel is the daemon's log level.
type LogLevel string

// The log levels.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

// Lane is one gate with its devices. A lane needs at least one scanner or a
// camera to read codes; the thermometer and outputs are optional.
type Lane struct {
	// Name names the lane on the display and in the journal, e.g. "in-1":
	// lowercase letters, digits, '-' and '_', at most 32 characters, unique.
	Name string `toml:"name"`
	// Direction is which way people pass: "entry" (the default) or "exit".
	// At a compound's exit a resident under quarantine (a yellow or red
	// status) is refused, with the status's end in the reason.
	Direction Direction `toml:"direction"`
	// Scanners are the lane's code scanners, one [[lane.scanner]] block each.
	Scanners []Scanner `toml:"scanner"`
	// Camera reads codes from video frames; nil when the lane has none.
	Camera *Camera `toml:"camera"`
	// Thermometer takes the temperature; nil when the lane has none.
	Thermometer *Thermometer `toml:"thermometer"`
	// Outputs are the relay, the light tower and the buzzer.
	Outputs Outputs `toml:"outputs"`
}

// Direction is which way people pass a lane.
type Direction string

// The directions of a lane.
const (
	DirectionEntry Direction = "entry"
	DirectionExit  Direction = "exit"
)

// Exit reports whether d is an exit; "" is an entry.
func (d Direction) Exit() bool { return d == DirectionExit }

// ScannerType is how a scanner is connected.
type ScannerType string

// The scanner types.
const (
	// ScannerSerial is a serial scanner: RS-232, a USB-serial adapter or a
	// USB scanner in CDC (virtual COM port) mode.
	ScannerSerial ScannerType = "serial"
	// ScannerHID is a USB keyboard-wedge scanner read through Linux evdev.
	ScannerHID ScannerType = "hid"
)

// Framing is how a serial scanner ends a code.
type Framing string

// The framings of a serial scanner.
const (
	FramingCR     Framing = "cr"
	FramingLF     Framing = "lf"
	FramingCRLF   Framing = "crlf"
	FramingSuffix Framing = "suffix" // the configured Suffix ends a code
)

// Scanner is one code scanner of a lane.
type Scanner struct {
	// Type is "serial" or "hid". Required.
	Type ScannerType `toml:"type"`

	// Port is a serial scanner's device path, e.g. /dev/ttyACM0 or a udev
	// symlink such as /dev/sentinel/scanner-0c2e-0b61. Give Port or USB.
	Port string `toml:"port"`
	// USB finds a serial scanner by its USB vendor and product id, as hex
	// "VID:PID", e.g. "0c2e:0b61". Give Port or USB.
	USB string `toml:"usb"`
	// Baud is a serial scanner's speed. Default 9600.
	Baud int `toml:"baud"`
	// Framing is how a serial scanner ends a code: cr, lf, crlf or suffix.
	// Default cr.
	Framing Framing `toml:"framing"`
	// Suffix ends a code when Framing is suffix, e.g. "\u0004".
	Suffix string `toml:"suffix"`
	// IdleGap flushes a serial line that has no terminator after this much
	// silence. Default 100ms.
	IdleGap Duration `toml:"idle_gap"`

	// Device is a HID scanner's evdev device, e.g.
	// /dev/input/by-id/usb-Honeywell_Scanner-event-kbd. Required for hid.
	Device string `toml:"device"`

	// DedupWindow reports the same code read twice within it once.
	// Default 2s; 0s reports every read.
	DedupWindow Duration `toml:"dedup_window"`
}

// CameraSource is where a camera's frames come from.
type CameraSource string

// The camera sources.
const (
	CameraV4L2   CameraSource = "v4l2"   // a V4L2 device such as a USB webcam
	CameraMJPEG  CameraSource = "mjpeg"  // an IP camera's MJPEG stream over HTTP
	CameraFFmpeg CameraSource = "ffmpeg" // frames from an ffmpeg child process (e.g. RTSP)
	CameraReplay CameraSource = "replay" // image files in a directory (tests, demo)
)

// Camera is a lane's camera.
type Camera struct {
	// Source is v4l2, mjpeg, ffmpeg or replay. Required.
	Source CameraSource `toml:"source"`
	// Device is the V4L2 device for source v4l2, e.g. /dev/video0.
	Device string `toml:"device"`
	// URL is the MJPEG stream (http or https) for source mjpeg, and
	// ffmpeg's input (-i) for source ffmpeg, e.g. rtsp://192.0.2.7/stream1.
	URL string `toml:"url"`
	// FFmpegArgs are ffmpeg's input options, given before -i, for source
	// ffmpeg, e.g. ["-rtsp_transport", "tcp"]. Optional; the daemon adds
	// the output arguments (raw grey frames on a pipe).
	FFmpegArgs []string `toml:"ffmpeg_args"`
	// Dir holds the image files for source replay.
	Dir string `toml:"dir"`
	// Width and Height are the frame size in pixels. Default 1280×720 for
	// v4l2 and ffmpeg; 0 takes mjpeg and replay frames as they come.
	Width  int `toml:"width"`
	Height int `toml:"height"`
	// FPS is the frame rate asked of the camera. Default 15.
	FPS int `toml:"fps"`
}

// ThermometerModel is the IR thermometer's chip.
type ThermometerModel string

// The supported thermometers.
const (
	// MLX90614 is Melexis's TO-39 sensor, in many variants of field of view.
	MLX90614 ThermometerModel = "mlx90614"
	// MLX90632 is Melexis's 3 mm SMD sensor with a 50° field of view.
	MLX90632 ThermometerModel = "mlx90632"
)

// DefaultThermometerAddress is the MLX90614's factory I²C address.
const DefaultThermometerAddress = 0x5A

// DefaultAddress returns the model's factory I²C address: 0x5A for the
// MLX90614, 0x3A for the MLX90632; 0 for an unknown model.
func (m ThermometerModel) DefaultAddress() uint16 {
	switch m {
	case MLX90614:
		return DefaultThermometerAddress
	case MLX90632:
		return 0x3A
	}
	return 0
}

// Thermometer is a lane's IR thermometer on I²C.
type Thermometer struct {
	// Model is the chip: mlx90614 or mlx90632. Default mlx90614.
	Model ThermometerModel `toml:"model"`
	// Bus is the I²C bus as periph names it: "1", "I2C1" or "/dev/i2c-1".
	// Empty takes the first bus found.
	Bus string `toml:"bus"`
	// Address is the sensor's 7-bit I²C address. Default the model's
	// factory address: 0x5A for the MLX90614, 0x3A for the MLX90632.
	Address uint16 `toml:"address"`
}

// Outputs are a lane's signalling outputs, all on GPIO pins named as periph
// names them (e.g. "GPIO17" on a Raspberry Pi). Each is optional.
type Outputs struct {
	// Relay opens the turnstile or door.
	Relay *Relay `toml:"relay"`
	// Tower is the light tower.
	Tower *Tower `toml:"tower"`
	// Buzzer sounds the admit, refuse and fault patterns.
	Buzzer *Buzzer `toml:"buzzer"`
}

// Relay is the turnstile or door relay. It is pulsed, never held: a crash,
// hang or power cut leaves the gate shut.
type Relay struct {
	// Pin is the GPIO pin. Required.
	Pin string `toml:"pin"`
	// Pulse is how long the relay closes for one passage, 50ms to 5s.
	// Default 500ms.
	Pulse Duration `toml:"pulse"`
	// ActiveLow drives the pin low to close the relay (most relay boards).
	ActiveLow bool `toml:"active_low"`
}

// Tower is a light tower. Any colour may be left out.
type Tower struct {
	Green  string `toml:"green"`
	Yellow string `toml:"yellow"`
	Red    string `toml:"red"`
	// ActiveLow drives the pins low to light a lamp.
	ActiveLow bool `toml:"active_low"`
}

// Buzzer is an active buzzer.
type Buzzer struct {
	// Pin is the GPIO pin. Required.
	Pin string `toml:"pin"`
	// ActiveLow drives the pin low to sound.
	ActiveLow bool `toml:"active_low"`
}

// DefaultConfigPath is where a terminal image installs the configuration:
// the systemd unit passes it to sentineld, and sentineld and sentinelctl
// read it when no --config is given.
const DefaultConfigPath = "/etc/sentinel/sentinel.toml"

// Defaults for keys an installer leaves out.
const (
	DefaultDataDir          = "/var/lib/sentinel"
	DefaultDisplayListen    = "127.0.0.1:8080"
	DefaultManagementListen = "127.0.0.1:9108"
	DefaultBaud             = 9600
	DefaultIdleGap          = Duration(100 * time.Millisecond)
	DefaultDedupWindow      = Duration(2 * time.Second)
	DefaultRelayPulse       = Duration(500 * time.Millisecond)
	DefaultCameraWidth      = 1280
	DefaultCameraHeight     = 720
	DefaultCameraFPS        = 15
	DefaultFraming          = FramingCR
	DefaultThermometerModel = MLX90614
	DefaultLogLevel         = LogInfo
	maxConfigFileSize       = 256 << 10
)

// DefaultConfig returns the settings a file starts from: the data directory,
// the log level and the listeners. It has no identity and no lanes, so it
// does not validate on its own.
func DefaultConfig() *Config {
	return &Config{
		DataDir:  DefaultDataDir,
		LogLevel: DefaultLogLevel,
		Listen: Listen{
			Display:    DefaultDisplayListen,
			Management: DefaultManagementListen,
		},
	}
}

// Duration is a time.Duration written in the file as a string such as
// "50ms", "2s" or "1m30s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write e.g. \"50ms\", \"2s\" or \"1m\"", b)
	}
	*d = Duration(v)
	return nil
}

// LaneStateDir returns the directory under DataDir that holds a lane's
// device state, such as its thermometer's calibration: every thermometer
// is calibrated on its own. Both sentineld and sentinelctl find the state
// here; it is never written into the configuration file.
func (c *Config) LaneStateDir(lane string) string {
	return filepath.Join(c.DataDir, "lanes", lane)
}

// Lane returns the lane called name, or nil.
func (c *Config) Lane(name string) *Lane {
	for i := range c.Lanes {
		if c.Lanes[i].Name == name {
			return &c.Lanes[i]
		}
	}
	return nil
}
