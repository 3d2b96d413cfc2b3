package firmwareconfig

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	laneNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	usbIDPattern    = regexp.MustCompile(`^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$`)
	pinPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
)

// standardBauds are the serial speeds scanners offer.
var standardBauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// Limits that Validate checks.
const (
	minIdleGap    = 5 * time.Millisecond
	maxIdleGap    = 2 * time.Second
	maxDedup      = time.Minute
	minRelayPulse = 50 * time.Millisecond
	maxRelayPulse = 5 * time.Second
	maxLanes      = 16
	maxScanners   = 8  // per lane
	maxList       = 64 // elements of a list of values, such as ffmpeg_args
	maxKeyParts   = 6  // no key is deeper than lane.outputs.relay.pin
	maxProblems   = 100
	maxSuffix     = 8
)

// validator collects the problems of one configuration.
type validator struct {
	probs Problems
	// used maps a device or pin to the field that claimed it first.
	used map[string]string
}

func (v *validator) add(field, value, problem string) {
	v.probs = append(v.probs, &ValidationError{Field: field, Value: value, Problem: problem})
}

func (v *validator) addf(field, value, format string, args ...any) {
	v.add(field, value, fmt.Sprintf(format, args...))
}

// claim records that field uses the device or pin what; a second claim is a
// problem.
func (v *validator) claim(kind, what, field string) {
	key := kind + "\x00" + what
	if first, ok := v.used[key]; ok {
		v.addf(field, what, "%s %s is already used by %s", kind, what, first)
		return
	}
	v.used[key] = field
}

// Validate checks the configuration and returns every problem as a
// [Problems] error of [*ValidationError] values, each naming its field, or
// nil when the configuration is usable.
func (c *Config) Validate() error {
	v := &validator{used: map[string]string{}}

	switch {
	case c.DataDir == "":
		v.add("data_dir", "", "is missing: the terminal keeps its journal and state there, e.g. \""+DefaultDataDir+"\"")
	case !path.IsAbs(c.DataDir):
		v.add("data_dir", strconv.Quote(c.DataDir), "must be an absolute path, e.g. \""+DefaultDataDir+"\"")
	case path.Clean(c.DataDir) == "/":
		v.add("data_dir", strconv.Quote(c.DataDir), "must not be the root directory")
	}
	switch c.LogLevel {
	case LogDebug, LogInfo, LogWarn, LogError:
	default:
		v.add("log_level", strconv.Quote(string(c.LogLevel)), "must be debug, info, warn or error")
	}

	checkID(v, "terminal.id", c.Terminal.ID, "the installer's name for the terminal, e.g. \"SM-0042-T1\" (the centre's device id t-… comes with enrolment)")
	checkID(v, "terminal.site_id", c.Terminal.SiteID, "the site's id at the central system, as in its enrolment token, e.g. \"SM-0042\"")
	if n := len([]rune(c.Terminal.Name)); n > 100 {
		v.addf("terminal.name", "", "is %d characters long; keep it to 100", n)
	}

	checkCentralURL(v, c.Central.URL)
	checkListen(v, "listen.display", c.Listen.Display, true)
	checkListen(v, "listen.management", c.Listen.Management, false)
	if c.Listen.Display != "" && c.Listen.Display == c.Listen.Management {
		v.add("listen.management", strconv.Quote(c.Listen.Management), "is the same address as listen.display; give each its own port")
	}

	switch {
	case len(c.Lanes) == 0:
		v.add("lane", "", "no lane: add a [[lane]] block for each gate, with its scanner or camera")
	case len(c.Lanes) > maxLanes:
		v.addf("lane", "", "%d lanes; one terminal serves at most %d", len(c.Lanes), maxLanes)
	}
	names := map[string]int{}
	for i := range c.Lanes {
		l := &c.Lanes[i]
		lp := fmt.Sprintf("lane[%d]", i)
		switch {
		case l.Name == "":
			v.add(lp+".name", "", "is missing: name the lane, e.g. \"in-1\"")
		case !laneNamePattern.MatchString(l.Name):
			v.add(lp+".name", strconv.Quote(l.Name), "must be lowercase letters, digits, '-' or '_', at most 32, e.g. \"in-1\"")
		default:
			if j, ok := names[l.Name]; ok {
				v.addf(lp+".name", strconv.Quote(l.Name), "is also the name of lane[%d]; lane names must differ", j)
			}
			names[l.Name] = i
		}
		if l.Direction != "" && l.Direction != DirectionEntry && l.Direction != DirectionExit {
			v.add(lp+".direction", strconv.Quote(string(l.Direction)), "must be \"entry\" or \"exit\" (people leaving: at a compound, residents under quarantine are refused)")
		}
		if len(l.Scanners) == 0 && l.Camera == nil {
			v.add(lp, "", "has no scanner and no camera: add a [[lane.scanner]] or a [lane.camera] to read codes")
		}
		if len(l.Scanners) > maxScanners {
			v.addf(lp+".scanner", "", "%d scanners; a lane has at most %d", len(l.Scanners), maxScanners)
		}
		for j := range l.Scanners {
			v.scanner(fmt.Sprintf("%s.scanner[%d]", lp, j), &l.Scanners[j])
		}
		if l.Camera != nil {
			v.camera(lp+".camera", l.Camera)
		}
		if l.Thermometer != nil {
			v.thermometer(lp+".thermometer", l.Thermometer)
		}
		v.outputs(lp+".outputs", &l.Outputs)
	}
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs
}

func checkID(v *validator, field, id, what string) {
	switch {
	case id == "":
		v.add(field, "", "is missing: write "+what)
	case !idPattern.MatchString(id):
		v.add(field, strconv.Quote(id), "must be letters, digits, '.', '_' or '-', at most 64")
	}
}

func checkCentralURL(v *validator, s string) {
	const field = "central.url"
	if s == "" {
		v.add(field, "", "is missing: write the central system's address, e.g. \"https://central.example.org:8443\" (the device port; sentinelctl enrol prints it)")
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(field, strconv.Quote(s), "must be a full address such as \"https://central.example.org:8443\"")
		return
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		v.add(field, strconv.Quote(s), "must use https: the terminal's records and bundles travel over it (http only on 127.0.0.1, for tests)")
	}
	if u.User != nil {
		v.add(field, "", "must not carry a user name or password; the terminal authenticates with its enrolment key")
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

func checkListen(v *validator, field, addr string, loopbackOnly bool) {
	if addr == "" {
		v.add(field, "", "is missing: write host:port, e.g. \"127.0.0.1:8080\"")
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(field, strconv.Quote(addr), "must be host:port, e.g. \"127.0.0.1:8080\"")
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.add(field, strconv.Quote(addr), "has no valid port: write a number from 1 to 65535 after the colon")
	}
	if loopbackOnly && !isLoopbackHost(host) {
		v.add(field, strconv.Quote(addr), "must be a loopback address such as 127.0.0.1: the guard display is for the terminal's own screen")
		return
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			v.add(field, strconv.Quote(addr), "must name the host by IP address, e.g. \"127.0.0.1:9108\" or \"10.0.0.5:9108\"")
		}
	}
}

func (v *validator) scanner(sp string, s *Scanner) {
	switch s.Type {
	case ScannerSerial:
		switch {
		case s.Port == "" && s.USB == "":
			v.add(sp+".port", "", "is missing: give the serial port, e.g. \"/dev/ttyACM0\", or usb = \"VID:PID\"")
		case s.Port != "" && s.USB != "":
			v.add(sp+".usb", strconv.Quote(s.USB), "give port or usb, not both")
		case s.Port != "":
			if !path.IsAbs(s.Port) {
				v.add(sp+".port", strconv.Quote(s.Port), "must be a device path such as \"/dev/ttyACM0\"")
			} else {
				v.claim("serial port", strconv.Quote(s.Port), sp+".port")
			}
		default:
			if !usbIDPattern.MatchString(s.USB) {
				v.add(sp+".usb", strconv.Quote(s.USB), "must be the USB vendor and product id in hex, as \"VID:PID\", e.g. \"0c2e:0b61\" (see lsusb)")
			} else {
				v.claim("USB scanner", strconv.Quote(strings.ToLower(s.USB)), sp+".usb")
			}
		}
		if !isStandardBaud(s.Baud) {
			v.addf(sp+".baud", strconv.Itoa(s.Baud), "is not a serial speed: use one of %v, as set on the scanner", standardBauds)
		}
		switch s.Framing {
		case FramingCR, FramingLF, FramingCRLF:
			if s.Suffix != "" {
				v.add(sp+".suffix", strconv.Quote(s.Suffix), "is only used with framing = \"suffix\"")
			}
		case FramingSuffix:
			if s.Suffix == "" || len(s.Suffix) > maxSuffix {
				v.addf(sp+".suffix", strconv.Quote(s.Suffix), "must be 1 to %d characters with framing = \"suffix\", e.g. \"\\u0004\"", maxSuffix)
			}
		default:
			v.add(sp+".framing", strconv.Quote(string(s.Framing)), "must be cr, lf, crlf or suffix, as the scanner ends a code")
		}
		if d := s.IdleGap.Std(); d < minIdleGap || d > maxIdleGap {
			v.addf(sp+".idle_gap", strconv.Quote(s.IdleGap.String()), "must be from %v to %v", minIdleGap, maxIdleGap)
		}
		if s.Device != "" {
			v.add(sp+".device", strconv.Quote(s.Device), "is for hid scanners; a serial scanner takes port or usb")
		}
	case ScannerHID:
		switch {
		case s.Device == "":
			v.add(sp+".device", "", "is missing: give the evdev device, e.g. \"/dev/input/by-id/usb-…-event-kbd\"")
		case !path.IsAbs(s.Device):
			v.add(sp+".device", strconv.Quote(s.Device), "must be a device path such as \"/dev/input/event3\"")
		default:
			v.claim("input device", strconv.Quote(s.Device), sp+".device")
		}
		for _, f := range []struct {
			key string
			set bool
		}{
			{"port", s.Port != ""}, {"usb", s.USB != ""}, {"baud", s.Baud != 0},
			{"framing", s.Framing != ""}, {"suffix", s.Suffix != ""}, {"idle_gap", s.IdleGap != 0},
		} {
			if f.set {
				v.add(sp+"."+f.key, "", "is for serial scanners; a hid scanner takes only device and dedup_window")
			}
		}
	case "":
		v.add(sp+".type", "", "is missing: write type = \"serial\" or \"hid\"")
	default:
		v.add(sp+".type", strconv.Quote(string(s.Type)), "must be \"serial\" or \"hid\"")
	}
	if d := s.DedupWindow.Std(); d < 0 || d > maxDedup {
		v.addf(sp+".dedup_window", strconv.Quote(s.DedupWindow.String()), "must be from 0s to %v", maxDedup)
	}
}

func isStandardBaud(b int) bool {
	for _, s := range standardBauds {
		if b == s {
			return true
		}
	}
	return false
}

func (v *validator) camera(cp string, c *Camera) {
	type source struct {
		key string
		set bool
	}
	sources := []source{
		{"device", c.Device != ""}, {"url", c.URL != ""},
		{"ffmpeg_args", len(c.FFmpegArgs) > 0}, {"dir", c.Dir != ""},
	}
	var want string
	if c.Source == CameraFFmpeg && len(c.FFmpegArgs) > 0 {
		sources[2].set = false // ffmpeg_args go with url
	}
	switch c.Source {
	case CameraV4L2:
		want = "device"
		switch {
		case c.Device == "":
			v.add(cp+".device", "", "is missing: give the V4L2 device, e.g. \"/dev/video0\"")
		case !path.IsAbs(c.Device):
			v.add(cp+".device", strconv.Quote(c.Device), "must be a device path such as \"/dev/video0\"")
		default:
			v.claim("camera", strconv.Quote(c.Device), cp+".device")
		}
	case CameraMJPEG:
		want = "url"
		u, err := url.Parse(c.URL)
		switch {
		case c.URL == "":
			v.add(cp+".url", "", "is missing: give the camera's MJPEG stream, e.g. \"http://192.0.2.7/mjpg/video.mjpg\"")
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			v.add(cp+".url", strconv.Quote(c.URL), "must be an http or https address of an MJPEG stream")
		default:
			v.claim("camera", strconv.Quote(c.URL), cp+".url")
		}
	case CameraFFmpeg:
		want = "url"
		if c.URL == "" {
			v.add(cp+".url", "", "is missing: give the stream ffmpeg reads, e.g. \"rtsp://192.0.2.7/stream1\"")
		} else {
			v.claim("camera", strconv.Quote(c.URL), cp+".url")
		}
		for i, a := range c.FFmpegArgs {
			if a == "-i" {
				v.addf(fmt.Sprintf("%s.ffmpeg_args[%d]", cp, i), strconv.Quote(a), "write the input as url, not as -i in ffmpeg_args")
			}
		}
	case CameraReplay:
		want = "dir"
		if c.Dir == "" {
			v.add(cp+".dir", "", "is missing: give the directory of image files to replay")
		}
	case "":
		v.add(cp+".source", "", "is missing: write source = \"v4l2\", \"mjpeg\", \"ffmpeg\" or \"replay\"")
	default:
		v.add(cp+".source", strconv.Quote(string(c.Source)), "must be v4l2, mjpeg, ffmpeg or replay")
	}
	if want != "" {
		for _, s := range sources {
			if s.set && s.key != want {
				v.addf(cp+"."+s.key, "", "is not used with source = %q, which takes %s", c.Source, want)
			}
		}
	}
	needSize := c.Source == CameraV4L2 || c.Source == CameraFFmpeg
	checkSize := func(field string, n, lo, hi int) {
		if n == 0 && !needSize {
			return
		}
		if n < lo || n > hi {
			v.addf(cp+"."+field, strconv.Itoa(n), "must be from %d to %d pixels", lo, hi)
		}
	}
	checkSize("width", c.Width, 160, 3840)
	checkSize("height", c.Height, 120, 2160)
	if c.FPS < 1 || c.FPS > 60 {
		v.add(cp+".fps", strconv.Itoa(c.FPS), "must be from 1 to 60 frames per second")
	}
}

func (v *validator) thermometer(tp string, t *Thermometer) {
	own := "the MLX90614's own is 0x5A, the MLX90632's 0x3A (see i2cdetect)"
	switch t.Model {
	case MLX90614, MLX90632:
		own = fmt.Sprintf("the %s's own is 0x%02X (see i2cdetect)", strings.ToUpper(string(t.Model)), t.Model.DefaultAddress())
	default:
		v.add(tp+".model", strconv.Quote(string(t.Model)), "must be \"mlx90614\" or \"mlx90632\"")
	}
	a := fmt.Sprintf("0x%02X", t.Address)
	switch {
	case t.Address > 0x7F:
		v.add(tp+".address", a, a+" is not a 7-bit I2C address: "+own)
	case t.Address < 0x08 || t.Address > 0x77:
		v.add(tp+".address", a, a+" is a reserved I2C address: "+own)
	default:
		bus := "the first bus"
		if t.Bus != "" {
			bus = "bus " + strconv.Quote(t.Bus)
		}
		v.claim("I2C address", a+" on "+bus, tp+".address")
	}
	if strings.ContainsAny(t.Bus, " \t") {
		v.add(tp+".bus", strconv.Quote(t.Bus), "must be a bus name such as \"1\" or \"/dev/i2c-1\"")
	}
}

func (v *validator) outputs(op string, o *Outputs) {
	pin := func(field, name string) {
		switch {
		case name == "":
			v.add(field, "", "is missing: give the GPIO pin, e.g. \"GPIO17\"")
		case !pinPattern.MatchString(name):
			v.add(field, strconv.Quote(name), "must be a GPIO pin name such as \"GPIO17\"")
		default:
			v.claim("GPIO pin", strconv.Quote(name), field)
		}
	}
	if r := o.Relay; r != nil {
		pin(op+".relay.pin", r.Pin)
		if d := r.Pulse.Std(); d < minRelayPulse || d > maxRelayPulse {
			v.addf(op+".relay.pulse", strconv.Quote(r.Pulse.String()), "must be from %v to %v: the relay is pulsed, never held", minRelayPulse, maxRelayPulse)
		}
	}
	if t := o.Tower; t != nil {
		if t.Green == "" && t.Yellow == "" && t.Red == "" {
			v.add(op+".tower", "", "has no lamp: give green, yellow or red pins")
		}
		for _, c := range []struct{ key, pin string }{{"green", t.Green}, {"yellow", t.Yellow}, {"red", t.Red}} {
			if c.pin != "" {
				pin(op+".tower."+c.key, c.pin)
			}
		}
	}
	if b := o.Buzzer; b != nil {
		pin(op+".buzzer.pin", b.Pin)
	}
}
