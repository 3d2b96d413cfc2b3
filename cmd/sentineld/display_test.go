package main

import (
	"errors"
	"fmt"
	"testing"

	"sentinel/internal/gate"
	"sentinel/internal/ui"
)

func TestOverrideError(t *testing.T) {
	other := errors.New("disk full")
	tests := []struct {
		in, want error
	}{
		{gate.ErrBadPIN, ui.ErrWrongPIN},
		{gate.ErrOverrideLocked, ui.ErrLocked},
		{fmt.Errorf("%w: x", gate.ErrNothingToOverride), ui.ErrNothingToOverride},
		{gate.ErrOverrideReason, ui.ErrOverrideReason},
		{fmt.Errorf("%w: \"in-9\"", gate.ErrUnknownLane), ui.ErrUnknownLane},
		{other, other},
		{nil, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			got := overrideError(tt.in)
			if !errors.Is(got, tt.want) || (tt.in != nil && !errors.Is(got, tt.in)) {
				t.Errorf("got %v, want it to match %v and %v", got, tt.want, tt.in)
			}
		})
	}
}
