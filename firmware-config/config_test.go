package firmwareconfig

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file; tests append lane blocks to it.
const minimal = `[terminal]
id = "T1"
site_id = "S1"

[central]
url = "https://central.example.org"
`

func parse(t *testing.T, s string) (*Config, error) {
	t.Helper()
	return ParseConfig(strings.NewReader(s))
}

func mustParse(t *testing.T, s string) *Config {
	t.Helper()
	cfg, err := parse(t, s)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

func TestExamplesParseAndValidate(t *testing.T) {
	names := ExampleNames()
	want := []string{"compound", "custom", "intersection", "pharmacy", "supermarket"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("got examples %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			b, err := Example(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg := mustParse(t, string(b))
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate after ParseConfig: %v", err)
			}
			if len(cfg.Lanes) == 0 {
				t.Error("got no lanes")
			}
			// An installer copies the example: its url must name the
			// centre's device port (serve --listen, 8443 by default).
			// Without one the terminal calls port 443 and never syncs.
			if u, err := url.Parse(cfg.Central.URL); err != nil || u.Port() != "8443" {
				t.Errorf("[central] url %q does not name the device port 8443", cfg.Central.URL)
			}
			if !strings.Contains(string(b), "config bundle") {
				t.Error("the example does not tell the installer which settings come in the config bundle")
			}
			// The file on disk is the one embedded.
			disk, err := os.ReadFile(filepath.Join("examples", name+".toml"))
			if err != nil || string(disk) != string(b) {
				t.Errorf("embedded example differs from examples/%s.toml (err %v)", name, err)
			}
		})
	}
}

func TestExampleFacts(t *testing.T) {
	load := func(name string) *Config {
		b, err := Example(name)
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, string(b))
	}
	sm := load("supermarket")
	if got := len(sm.Lanes); got != 2 {
		t.Errorf("supermarket: got %d lanes, want 2", got)
	}
	if got := sm.Lanes[1].Thermometer.Address; got != 0x5B {
		t.Errorf("supermarket lane[1]: got address %#x, want 0x5b", got)
	}
	ph := load("pharmacy")
	if got := ph.Lanes[0].Thermometer.Address; got != DefaultThermometerAddress {
		t.Errorf("pharmacy: got address %#x, want the default %#x", got, DefaultThermometerAddress)
	}
	if got := ph.Lanes[0].Scanners[0].Type; got != ScannerHID {
		t.Errorf("pharmacy: got scanner type %q, want hid", got)
	}
	cp := load("compound")
	if s := cp.Lanes[0].Scanners[0]; s.Framing != FramingSuffix || s.Suffix != "\x04" {
		t.Errorf("compound: got framing %q suffix %q, want suffix \"\\x04\"", s.Framing, s.Suffix)
	}
	if got := cp.Lanes[0].Outputs.Relay.Pulse.Std(); got != 3*time.Second {
		t.Errorf("compound: got relay pulse %v, want 3s", got)
	}
	ix := load("intersection")
	if c := ix.Lanes[0].Camera; c.URL != "rtsp://192.0.2.21/stream1" || len(c.FFmpegArgs) != 2 {
		t.Errorf("intersection: got url %q ffmpeg_args %q", c.URL, c.FFmpegArgs)
	}
	if got := ix.Lanes[1].Camera.Width; got != 0 {
		t.Errorf("intersection mjpeg: got width %d, want 0 (as delivered)", got)
	}
}

func TestExampleUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "../doc", "custom.toml"} {
		if _, err := Example(name); err == nil {
			t.Errorf("Example(%q): got nil error, want one", name)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, minimal+`
[[lane]]
name = "in-1"
  [[lane.scanner]]
  type = "serial"
  port = "/dev/ttyACM0"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event3"
  [lane.camera]
  source = "v4l2"
  device = "/dev/video0"
  [lane.thermometer]
  [lane.outputs.relay]
  pin = "GPIO17"
`)
	if cfg.DataDir != DefaultDataDir || cfg.LogLevel != LogInfo {
		t.Errorf("got data_dir %q log_level %q, want the defaults", cfg.DataDir, cfg.LogLevel)
	}
	if cfg.Listen.Display != "127.0.0.1:8080" || cfg.Listen.Management != "127.0.0.1:9108" {
		t.Errorf("got listeners %+v, want 127.0.0.1:8080 and 127.0.0.1:9108", cfg.Listen)
	}
	l := cfg.Lanes[0]
	wantSerial := Scanner{Type: ScannerSerial, Port: "/dev/ttyACM0", Baud: 9600, Framing: FramingCR,
		IdleGap: Duration(100 * time.Millisecond), DedupWindow: Duration(2 * time.Second)}
	if l.Scanners[0] != wantSerial {
		t.Errorf("got serial scanner %+v, want %+v", l.Scanners[0], wantSerial)
	}
	wantHID := Scanner{Type: ScannerHID, Device: "/dev/input/event3", DedupWindow: Duration(2 * time.Second)}
	if l.Scanners[1] != wantHID {
		t.Errorf("got hid scanner %+v, want %+v", l.Scanners[1], wantHID)
	}
	if c := l.Camera; c.Width != 1280 || c.Height != 720 || c.FPS != 15 {
		t.Errorf("got camera %dx%d@%d, want 1280x720@15", c.Width, c.Height, c.FPS)
	}
	if th := l.Thermometer; th.Model != MLX90614 || th.Address != 0x5A || th.Bus != "" {
		t.Errorf("got thermometer %+v, want mlx90614 at 0x5A on the first bus", th)
	}
	if got := l.Outputs.Relay.Pulse.Std(); got != 500*time.Millisecond {
		t.Errorf("got relay pulse %v, want 500ms", got)
	}
	if l.Outputs.Tower != nil || l.Outputs.Buzzer != nil {
		t.Errorf("got tower %v buzzer %v, want nil for blocks not written", l.Outputs.Tower, l.Outputs.Buzzer)
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.DataDir != "/var/lib/sentinel" || cfg.Listen.Display != "127.0.0.1:8080" || cfg.Listen.Management != "127.0.0.1:9108" {
		t.Errorf("got %+v", cfg)
	}
	// It has no identity and no lanes, so it says what is missing.
	err := cfg.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v, want Problems", err)
	}
	fields := map[string]bool{}
	for _, p := range ps {
		var ve *ValidationError
		if !errors.As(p, &ve) {
			t.Fatalf("got %T, want *ValidationError", p)
		}
		if ve.Line != 0 {
			t.Errorf("%s: got line %d for a Config built in code, want 0", ve.Field, ve.Line)
		}
		fields[ve.Field] = true
	}
	for _, f := range []string{"terminal.id", "terminal.site_id", "central.url", "lane"} {
		if !fields[f] {
			t.Errorf("got problems %v, want one for %s", ps, f)
		}
	}
}

func TestThermometerModels(t *testing.T) {
	lane := "\n[[lane]]\nname = \"in\"\n[[lane.scanner]]\ntype = \"hid\"\ndevice = \"/dev/input/event3\"\n[lane.thermometer]\n"
	tests := []struct {
		name, keys string
		model      ThermometerModel
		addr       uint16
	}{
		{"default", "", MLX90614, 0x5A},
		{"mlx90614", "model = \"mlx90614\"\n", MLX90614, 0x5A},
		{"mlx90632", "model = \"mlx90632\"\n", MLX90632, 0x3A},
		{"mlx90632 moved", "model = \"mlx90632\"\naddress = 0x3B\n", MLX90632, 0x3B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := mustParse(t, minimal+lane+tt.keys).Lanes[0].Thermometer
			if th.Model != tt.model || th.Address != tt.addr {
				t.Errorf("got %s at %#x, want %s at %#x", th.Model, th.Address, tt.model, tt.addr)
			}
		})
	}
	_, err := parse(t, minimal+lane+"model = \"mlx90632\"\naddress = 0x80\n")
	if err == nil || !strings.Contains(err.Error(), "0x80 is not a 7-bit I2C address: the MLX90632's own is 0x3A") {
		t.Errorf("got %v, want the MLX90632's address in the hint", err)
	}
	_, err = parse(t, minimal+lane+"model = \"ds18b20\"\n")
	if err == nil || !strings.Contains(err.Error(), `must be "mlx90614" or "mlx90632"`) {
		t.Errorf("got %v, want the supported models", err)
	}
}

func TestExplicitValuesKept(t *testing.T) {
	cfg := mustParse(t, minimal+`
[[lane]]
name = "in-1"
  [[lane.scanner]]
  type = "serial"
  port = "/dev/ttyACM0"
  dedup_window = "0s"
  baud = 115200
`)
	if got := cfg.Lanes[0].Scanners[0].DedupWindow; got != 0 {
		t.Errorf("got dedup_window %v, want the 0s written", got)
	}
	if got := cfg.Lanes[0].Scanners[0].Baud; got != 115200 {
		t.Errorf("got baud %d, want 115200", got)
	}
	// An explicit zero address is validated as written, not defaulted.
	_, err := parse(t, minimal+`
[[lane]]
name = "in-1"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event3"
  [lane.thermometer]
  address = 0
`)
	ps := problemsOf(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0].Error(), "lane[0].thermometer.address: 0x00 is a reserved I2C address") {
		t.Errorf("got %v, want the reserved-address problem", ps)
	}
}

func TestKeyErrors(t *testing.T) {
	lane := "\n[[lane]]\nname = \"in-1\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event3\"\n"
	// minimal is 6 lines, lane adds a blank then lines 8..12.
	tests := []struct {
		name, file string
		want       KeyError
	}{
		{"typo in lane", minimal + lane + "scaner = 1\n", KeyError{Line: 13, Key: "lane[0].scanner[0].scaner"}},
		{"typo of lane key", minimal + lane + "[[lane]]\nname = \"b\"\ncamra = {}\n", KeyError{Line: 15, Key: "lane[1].camra", Suggestion: "camera"}},
		{"case", "Data_Dir = \"/x\"\n" + minimal + lane, KeyError{Line: 1, Key: "Data_Dir", Suggestion: "data_dir"}},
		{"plural table", minimal + "[[lanes]]\nname = \"x\"\n", KeyError{Line: 7, Key: "lanes", Suggestion: "lane"}},
		{"dotted", "central.ulr = \"x\"\n" + minimal, KeyError{Line: 1, Key: "central.ulr", Suggestion: "url"}},
		{"quoted", "\"data dir\" = \"/x\"\n" + minimal, KeyError{Line: 1, Key: `"data dir"`, Suggestion: "data_dir"}},
		{"far from any", "colour = \"red\"\n" + minimal, KeyError{Line: 1, Key: "colour"}},
		{"site type", "site_type = \"pharmacy\"\n" + minimal, KeyError{Line: 1, Key: "site_type", InBundle: true}},
		{"site table", minimal + "[site]\ntype = \"compound\"\n", KeyError{Line: 7, Key: "site", InBundle: true}},
		{"fever", minimal + "[[lane]]\nname = \"in-1\"\nfever_threshold = 37.3\n", KeyError{Line: 9, Key: "lane[0].fever_threshold", InBundle: true}},
		{"retention", "[terminal]\nretention_days = 14\n", KeyError{Line: 2, Key: "terminal.retention_days", InBundle: true}},
		{"language", "[terminal]\nlanguage = \"zh\"\n", KeyError{Line: 2, Key: "terminal.language", InBundle: true}},
		{"time zone", "timezone = \"Asia/Shanghai\"\n", KeyError{Line: 1, Key: "timezone", InBundle: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.file)
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("got %v, want a *KeyError", err)
			}
			if *ke != tt.want {
				t.Errorf("got %+v, want %+v", *ke, tt.want)
			}
			msg := ke.Error()
			if !strings.Contains(msg, "config line ") || !strings.Contains(msg, tt.want.Key) {
				t.Errorf("got message %q, want it to name the line and the key", msg)
			}
			if tt.want.InBundle && !strings.Contains(msg, "config bundle from the central system") {
				t.Errorf("got message %q, want it to point to the config bundle", msg)
			}
		})
	}
}

func TestBriefExampleMessages(t *testing.T) {
	_, err := parse(t, minimal+`
[[lane]]
name = "in-1"
scaner = "x"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event3"
[[lane]]
name = "in-2"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event4"
  [lane.thermometer]
  address = 0x1FF
`)
	got := err.Error()
	want := `config line 10: unknown key "lane[0].scaner" — did you mean "scanner"?
config line 20: lane[1].thermometer.address: 0x1FF is not a 7-bit I2C address: the MLX90614's own is 0x5A (see i2cdetect)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		lane   string
		field  string
		line   int // 0: don't check
		substr string
	}{
		{"no source", "", "lane[0]", 8, "has no scanner and no camera"},
		{"serial without port", "[[lane.scanner]]\ntype = \"serial\"\n", "lane[0].scanner[0].port", 10, "is missing"},
		{"port and usb", "[[lane.scanner]]\ntype = \"serial\"\nport = \"/dev/ttyS0\"\nusb = \"0c2e:0b61\"\n", "lane[0].scanner[0].usb", 13, "not both"},
		{"suffix without framing", "[[lane.scanner]]\ntype = \"serial\"\nport = \"/dev/ttyS0\"\nsuffix = \"x\"\n", "lane[0].scanner[0].suffix", 13, "only used with framing"},
		{"suffix too long", "[[lane.scanner]]\ntype = \"serial\"\nport = \"/dev/ttyS0\"\nframing = \"suffix\"\nsuffix = \"123456789\"\n", "lane[0].scanner[0].suffix", 14, "1 to 8"},
		{"scanner type", "[[lane.scanner]]\ntype = \"bluetooth\"\n", "lane[0].scanner[0].type", 11, `"serial" or "hid"`},
		{"relative hid", "[[lane.scanner]]\ntype = \"hid\"\ndevice = \"event3\"\n", "lane[0].scanner[0].device", 12, "device path"},
		{"dedup too long", "[[lane.scanner]]\ntype = \"hid\"\ndevice = \"/dev/input/event3\"\ndedup_window = \"2m\"\n", "lane[0].scanner[0].dedup_window", 13, "0s to 1m0s"},
		{"negative dedup", "[[lane.scanner]]\ntype = \"hid\"\ndevice = \"/dev/input/event3\"\ndedup_window = \"-1s\"\n", "lane[0].scanner[0].dedup_window", 13, "0s to 1m0s"},
		{"camera source", "[lane.camera]\nsource = \"usb\"\n", "lane[0].camera.source", 11, "v4l2, mjpeg, ffmpeg or replay"},
		{"mjpeg url", "[lane.camera]\nsource = \"mjpeg\"\nurl = \"rtsp://192.0.2.1/x\"\n", "lane[0].camera.url", 12, "http or https"},
		{"ffmpeg url missing", "[lane.camera]\nsource = \"ffmpeg\"\n", "lane[0].camera.url", 10, "is missing"},
		{"ffmpeg -i in args", "[lane.camera]\nsource = \"ffmpeg\"\nurl = \"rtsp://h/s\"\nffmpeg_args = [\"-i\", \"x\"]\n", "lane[0].camera.ffmpeg_args[0]", 13, "write the input as url"},
		{"ffmpeg args with v4l2", "[lane.camera]\nsource = \"v4l2\"\ndevice = \"/dev/video0\"\nffmpeg_args = [\"-v\"]\n", "lane[0].camera.ffmpeg_args", 13, "is not used with source = \"v4l2\""},
		{"replay dir missing", "[lane.camera]\nsource = \"replay\"\n", "lane[0].camera.dir", 10, "is missing"},
		{"height", "[lane.camera]\nsource = \"v4l2\"\ndevice = \"/dev/video0\"\nheight = 5000\n", "lane[0].camera.height", 13, "120 to 2160"},
		{"reserved address", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.thermometer]\naddress = 0x78\n", "lane[0].thermometer.address", 14, "0x78 is a reserved I2C address"},
		{"bus", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.thermometer]\nbus = \"i2c 1\"\n", "lane[0].thermometer.bus", 14, "bus name"},
		{"relay pin", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.outputs.relay]\npulse = \"1s\"\n", "lane[0].outputs.relay.pin", 13, "is missing"},
		{"relay held", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.outputs.relay]\npin = \"GPIO17\"\npulse = \"1h\"\n", "lane[0].outputs.relay.pulse", 15, "never held"},
		{"pin name", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.outputs.buzzer]\npin = \"GPIO 17\"\n", "lane[0].outputs.buzzer.pin", 14, "GPIO pin name"},
		{"pin reused", "[lane.camera]\nsource = \"replay\"\ndir = \"f\"\n[lane.outputs.tower]\ngreen = \"GPIO5\"\nred = \"GPIO5\"\n", "lane[0].outputs.tower.red", 15, "already used by lane[0].outputs.tower.green"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, minimal+"\n[[lane]]\nname = \"in-1\"\n"+tt.lane)
			ps := problemsOf(t, err)
			var found *ValidationError
			for _, p := range ps {
				if ve, ok := p.(*ValidationError); ok && ve.Field == tt.field {
					found = ve
				}
			}
			if found == nil {
				t.Fatalf("got %v, want a problem with %s", err, tt.field)
			}
			if !strings.Contains(found.Problem, tt.substr) {
				t.Errorf("got problem %q, want it to contain %q", found.Problem, tt.substr)
			}
			if tt.line != 0 && found.Line != tt.line {
				t.Errorf("got line %d, want %d", found.Line, tt.line)
			}
		})
	}
}

func TestCollectsEveryProblem(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "bad-values", "config.toml"))
	ps := problemsOf(t, err)
	if len(ps) < 20 {
		t.Errorf("got %d problems, want every one of the file's 23", len(ps))
	}
	last := 0
	for _, p := range ps {
		l := problemLine(p)
		if l < last {
			t.Errorf("problem on line %d after line %d: want the order of the file", l, last)
		}
		last = l
	}
}

func TestKeyAndValueProblemsTogether(t *testing.T) {
	_, err := parse(t, minimal+"\n[[lane]]\nname = \"IN\"\nscaner = 1\n[[lane.scanner]]\ntype = \"hid\"\ndevice = \"/dev/input/event3\"\n")
	ps := problemsOf(t, err)
	if len(ps) != 2 {
		t.Fatalf("got %v, want the unknown key and the bad name", ps)
	}
	if _, ok := ps[0].(*ValidationError); !ok || problemLine(ps[0]) != 9 {
		t.Errorf("got first %v, want lane[0].name on line 9", ps[0])
	}
	if _, ok := ps[1].(*KeyError); !ok || problemLine(ps[1]) != 10 {
		t.Errorf("got second %v, want the unknown key on line 10", ps[1])
	}
}

func TestTypeErrors(t *testing.T) {
	tests := []struct {
		name, file, field string
		line              int
		substr            string
	}{
		{"string for int", minimal + "[[lane]]\nname = \"a\"\n[[lane.scanner]]\ntype = \"serial\"\nbaud = \"fast\"\n", "lane[0].scanner[0].baud", 11, "whole number"},
		{"int for duration", minimal + "[[lane]]\nname = \"a\"\n[[lane.scanner]]\ntype = \"serial\"\nidle_gap = 50\n", "lane[0].scanner[0].idle_gap", 11, "text in quotes"},
		{"bad duration", minimal + "[[lane]]\nname = \"a\"\n[[lane.scanner]]\ntype = \"serial\"\nidle_gap = \"fifty\"\n", "lane[0].scanner[0].idle_gap", 11, "not a duration"},
		{"overflow", minimal + "[[lane]]\nname = \"a\"\n[lane.thermometer]\naddress = 70000\n", "lane[0].thermometer.address", 10, "from 0 to 65535"},
		{"negative unsigned", minimal + "[[lane]]\nname = \"a\"\n[lane.thermometer]\naddress = -1\n", "lane[0].thermometer.address", 10, "from 0 to 65535"},
		{"huge int", minimal + "[[lane]]\nname = \"a\"\n[lane.camera]\nfps = 99999999999999999999\n", "lane[0].camera.fps", 10, "whole number from"},
		{"float for int", minimal + "[[lane]]\nname = \"a\"\n[lane.camera]\nfps = 7.5\n", "lane[0].camera.fps", 10, "whole number"},
		{"bool", minimal + "[[lane]]\nname = \"a\"\n[lane.outputs.relay]\nactive_low = 1\n", "lane[0].outputs.relay.active_low", 10, "true or false"},
		{"list element", minimal + "[[lane]]\nname = \"a\"\n[lane.camera]\nffmpeg_args = [\"-v\", 3]\n", "lane[0].camera.ffmpeg_args[1]", 10, "text in quotes"},
		{"table for value", minimal + "[data_dir]\nx = 1\n", "data_dir", 7, "single value"},
		{"value for table", "terminal = \"T1\"\n", "terminal", 1, "is a table"},
		{"value for lanes", "lane = 1\n", "lane", 1, "list in brackets"},
		{"list of non-tables", "lane = [1]\n", "lane[0]", 1, "table in braces"},
		{"dotted into list", "lane.name = \"x\"\n", "lane", 1, "list of blocks"},
		{"dotted into value", "data_dir.x = 1\n", "data_dir", 1, "single value"},
		{"array table for table", "[[terminal]]\n", "terminal", 1, "single brackets"},
		{"table for array table", "[lane]\n", "lane", 1, "double brackets"},
		{"lane block first", "[lane.camera]\n", "lane", 1, "comes before any [[lane]]"},
		{"header into value", "[data_dir.x]\n", "data_dir", 1, "single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.file)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || ve.Line != tt.line || !strings.Contains(ve.Problem, tt.substr) {
				t.Errorf("got %s line %d %q, want %s line %d containing %q", ve.Field, ve.Line, ve.Problem, tt.field, tt.line, tt.substr)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, file string
		line       int
	}{
		{"unclosed header", "[terminal]\nid = \"T1\"\n[central\n", 3},
		{"missing value", "data_dir =\n", 1},
		{"duplicate key", "data_dir = \"/a\"\nlog_level = \"info\"\ndata_dir = \"/b\"\n", 3},
		{"unterminated string", "[terminal]\n\nid = \"T1\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.file)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
			if se.Line != tt.line {
				t.Errorf("got line %d, want %d (%v)", se.Line, tt.line, se)
			}
			if !strings.HasPrefix(se.Error(), "config line ") {
				t.Errorf("got %q, want it to start with the line", se.Error())
			}
		})
	}
}

func TestInputChecks(t *testing.T) {
	if _, err := parse(t, strings.Repeat("# padding\n", 110_000)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large file: got %v, want ErrTooLarge", err)
	}
	if _, err := parse(t, "data_dir = \"\xff\"\n"); !errors.Is(err, ErrNotUTF8) {
		t.Errorf("latin-1 file: got %v, want ErrNotUTF8", err)
	}
	b, _ := Example("pharmacy")
	if _, err := parse(t, "\ufeff"+string(b)); err != nil {
		t.Errorf("file with a byte order mark: got %v, want it accepted", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	b, _ := Example("compound")
	p := filepath.Join(dir, "sentinel.toml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil || cfg.Terminal.ID != "CP-0023-T1" {
		t.Fatalf("got %v, %v; want the compound example", cfg, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(p, []byte("lane = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), p) {
		t.Errorf("got %v, want a ValidationError naming the file", err)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"scaner", "scanner", 1}, {"fsp", "fps", 1},
		{"kitten", "sitting", 3}, {"idlegap", "idlegap", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Std() != 90*time.Second {
		t.Errorf("got %v, %v; want 1m30s", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("got %q, want 1m30s", b)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("got nil error for \"soon\"")
	}
}

// TestLimits checks that files far larger than any terminal's are refused
// early, with a problem that says why, instead of being decoded.
func TestLimits(t *testing.T) {
	tests := []struct {
		name, file, substr string
	}{
		{"lanes", strings.Repeat("[[lane]]\nname = \"a\"\n", 17), "more than 16 [[lane]] blocks"},
		{"scanners", "[[lane]]\n" + strings.Repeat("[[lane.scanner]]\n", 9), "more than 8 [[lane.scanner]] blocks"},
		{"inline lanes", "lane = [" + strings.Repeat("{},", 17) + "]\n", "more than 16 elements"},
		{"list", "[[lane]]\n[lane.camera]\nffmpeg_args = [" + strings.Repeat("\"-v\",", 65) + "]\n", "more than 64 elements"},
		{"deep key", "a.b.c.d.e.f.g = 1\n", "more than 6 parts"},
		{"deep header", "[a.b.c.d.e.f.g]\n", "more than 6 parts"},
		{"problems", strings.Repeat("x = 1\n", 1) + strings.Repeat("[[lane]]\nname = 1\nfps = 2\nbaud = 3\nfoo = 4\nbar = 5\nbaz = 6\nqux = 7\n", 16), "more than 100 problems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.file)
			ps := problemsOf(t, err)
			if len(ps) > maxProblems+1 {
				t.Errorf("got %d problems, want at most %d", len(ps), maxProblems+1)
			}
			if last := ps[len(ps)-1]; !strings.Contains(last.Error(), tt.substr) {
				t.Errorf("got last problem %q, want it to contain %q", last, tt.substr)
			}
		})
	}
}

func TestLaneHelpers(t *testing.T) {
	b, _ := Example("supermarket")
	cfg := mustParse(t, string(b))
	if got, want := cfg.LaneStateDir("in-2"), "/var/lib/sentinel/lanes/in-2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if l := cfg.Lane("in-2"); l == nil || l.Thermometer.Address != 0x5B {
		t.Errorf("Lane(in-2): got %+v", l)
	}
	if l := cfg.Lane("nope"); l != nil {
		t.Errorf("Lane(nope): got %+v, want nil", l)
	}
}
