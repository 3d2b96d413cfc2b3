package scanner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// scripted is a Source that returns a fixed list of reads, each at its
// time on a fake clock, then ErrClosed.
type scripted struct {
	reads []scriptRead
	clock time.Time
}

type scriptRead struct {
	at   time.Duration // since t0
	text string        // "!" makes an error
}

func (s *scripted) Next(ctx context.Context) (Code, error) {
	if len(s.reads) == 0 {
		return Code{}, ErrClosed
	}
	r := s.reads[0]
	s.reads = s.reads[1:]
	s.clock = t0.Add(r.at)
	if r.text == "!" {
		return Code{}, &LineTooLongError{Source: "script", Len: MaxLine + 1, Max: MaxLine}
	}
	return Code{Text: []byte(r.text), Source: "script", At: s.clock}, nil
}

func (s *scripted) Status() Status { return Status{Source: "script", State: StatePresent} }
func (s *scripted) Close() error   { return nil }

func TestDedup(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		reads []scriptRead
		want  string
	}{
		{"twice within the window", []scriptRead{{0, "A"}, {500 * ms, "A"}}, "A"},
		{"again after the window", []scriptRead{{0, "A"}, {2000 * ms, "A"}}, "A A"},
		{"held in front: the window slides", []scriptRead{{0, "A"}, {1500 * ms, "A"}, {3000 * ms, "A"}, {4500 * ms, "A"}, {6600 * ms, "A"}}, "A A"},
		{"different codes pass", []scriptRead{{0, "A"}, {10 * ms, "B"}, {20 * ms, "A"}, {30 * ms, "C"}}, "A B C"},
		{"errors pass through", []scriptRead{{0, "A"}, {10 * ms, "!"}, {20 * ms, "!"}, {30 * ms, "A"}}, "A ! !"},
		{"clock stepped back", []scriptRead{{1000 * ms, "A"}, {0, "A"}}, "A A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &scripted{reads: tt.reads}
			d := NewDedup(src, DedupConfig{Window: 2 * time.Second, Now: func() time.Time { return src.clock }})
			var got []string
			for {
				c, err := d.Next(context.Background())
				if errors.Is(err, ErrClosed) {
					break
				}
				if err != nil {
					got = append(got, "!")
					continue
				}
				got = append(got, string(c.Text))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
}

func TestDedupMemoryIsBounded(t *testing.T) {
	var reads []scriptRead
	for i := range dedupMemory + 1 {
		reads = append(reads, scriptRead{time.Duration(i) * time.Millisecond, fmt.Sprint("code", i)})
	}
	reads = append(reads, scriptRead{20 * time.Millisecond, "code0"}, scriptRead{21 * time.Millisecond, "code16"})
	src := &scripted{reads: reads}
	d := NewDedup(src, DedupConfig{Now: func() time.Time { return src.clock }})
	n := 0
	for {
		if _, err := d.Next(context.Background()); err != nil {
			break
		}
		n++
	}
	// code0 was forgotten for the 17th code and passes again; code16 is
	// still remembered.
	if want := dedupMemory + 2; n != want {
		t.Errorf("got %d codes, want %d", n, want)
	}
}

func TestDedupDefaults(t *testing.T) {
	d := NewDedup(&scripted{}, DedupConfig{})
	if d.window != DefaultDedupWindow || d.now == nil {
		t.Errorf("got window %v, now set %v; want %v and set", d.window, d.now != nil, DefaultDedupWindow)
	}
	if st := d.Status(); st.Source != "script" {
		t.Errorf("got status of %q, want the wrapped source's", st.Source)
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		st   Status
		want string
	}{
		{Status{Source: "lane 1", Kind: "serial", Device: "/dev/ttyACM0", State: StatePresent}, "lane 1 (serial /dev/ttyACM0): present"},
		{Status{Source: "usb 05f9:4204", Kind: "serial", State: StateMissing, Reason: "no USB serial scanner 05f9:4204 is plugged in"}, "usb 05f9:4204 (serial): missing: no USB serial scanner 05f9:4204 is plugged in"},
		{Status{Source: "lane 2", Kind: "hid", Device: "/dev/input/event3", State: StateClosed}, "lane 2 (hid /dev/input/event3): closed"},
		{Status{Source: "x", Kind: "hid", State: State(9)}, "x (hid): State(9)"},
	}
	for _, tt := range tests {
		if got := tt.st.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
