package firmwareconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads and checks the configuration file at path, as ParseConfig does.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads a configuration file, strictly: every key must be known,
// of the right type and valid. Keys that are left out take their defaults.
// On any problem it returns a nil Config and a [Problems] error that lists
// every problem found with its line.
func ParseConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigFileSize {
		return nil, ErrTooLarge
	}
	if !utf8.Valid(data) {
		return nil, ErrNotUTF8
	}
	// A UTF-8 byte order mark, as some Windows editors write, is not TOML.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))

	idx, problems := scanKeys(data)
	if !onlyKeyErrors(problems) {
		// A syntax error or a value of the wrong type: the file cannot be
		// decoded, so its values cannot be validated yet.
		return nil, problems
	}

	cfg := DefaultConfig()
	dec := toml.NewDecoder(bytes.NewReader(data))
	if len(problems) == 0 {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(cfg); err != nil {
		if len(problems) > 0 {
			// The decoder matches keys regardless of case, so a key
			// reported as unknown (Baud for baud) may fail here: that
			// problem is already in the list.
			return nil, problems
		}
		return nil, Problems{decodeProblem(err)}
	}
	applyDefaults(cfg, idx)
	if err := cfg.Validate(); err != nil {
		var ps Problems
		if !errors.As(err, &ps) {
			return nil, err
		}
		for _, p := range ps {
			var ve *ValidationError
			if errors.As(p, &ve) && ve.Line == 0 {
				ve.Line = idx.line(ve.Field)
			}
		}
		problems = append(problems, ps...)
	}
	if len(problems) > 0 {
		// Unknown keys and invalid values together, in the order of the file.
		sort.SliceStable(problems, func(i, j int) bool { return problemLine(problems[i]) < problemLine(problems[j]) })
		return nil, problems
	}
	return cfg, nil
}

// onlyKeyErrors reports whether every problem is an unknown key, which
// decoding can skip so that the values can still be validated.
func onlyKeyErrors(ps Problems) bool {
	for _, p := range ps {
		if _, ok := p.(*KeyError); !ok {
			return false
		}
	}
	return true
}

// decodeProblem turns an error of the TOML decoder, which only sees files
// that scanKeys accepted, into a problem with a line.
func decodeProblem(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return &SyntaxError{Line: row, Column: col, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		row, _ := sm.Errors[0].Position()
		return &KeyError{Line: row, Key: strings.Join(sm.Errors[0].Key(), ".")}
	}
	return &SyntaxError{Line: 1, Msg: err.Error()}
}

// applyDefaults fills in the per-device keys the file leaves out.
func applyDefaults(cfg *Config, idx keyIndex) {
	for i := range cfg.Lanes {
		l := &cfg.Lanes[i]
		lp := fmt.Sprintf("lane[%d]", i)
		for j := range l.Scanners {
			s := &l.Scanners[j]
			sp := fmt.Sprintf("%s.scanner[%d]", lp, j)
			if s.Type == ScannerSerial {
				if !idx.has(sp + ".baud") {
					s.Baud = DefaultBaud
				}
				if !idx.has(sp + ".framing") {
					s.Framing = DefaultFraming
				}
				if !idx.has(sp + ".idle_gap") {
					s.IdleGap = DefaultIdleGap
				}
			}
			if !idx.has(sp + ".dedup_window") {
				s.DedupWindow = DefaultDedupWindow
			}
		}
		if c := l.Camera; c != nil {
			cp := lp + ".camera"
			if c.Source == CameraV4L2 || c.Source == CameraFFmpeg {
				if !idx.has(cp + ".width") {
					c.Width = DefaultCameraWidth
				}
				if !idx.has(cp + ".height") {
					c.Height = DefaultCameraHeight
				}
			}
			if !idx.has(cp + ".fps") {
				c.FPS = DefaultCameraFPS
			}
		}
		if t := l.Thermometer; t != nil {
			tp := lp + ".thermometer"
			if !idx.has(tp + ".model") {
				t.Model = DefaultThermometerModel
			}
			if !idx.has(tp + ".address") {
				t.Address = t.Model.DefaultAddress()
			}
		}
		if r := l.Outputs.Relay; r != nil && !idx.has(lp+".outputs.relay.pulse") {
			r.Pulse = DefaultRelayPulse
		}
	}
}
