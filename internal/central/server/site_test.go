package server

import (
	"context"
	"errors"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/enrol"
)

// flakyRegistry is a registry whose reads of an enrolment fail, as when
// its database cannot be reached; its other methods are not called.
type flakyRegistry struct {
	enrol.Store
	err  error
	site string
}

func (r flakyRegistry) EnrolledDevice(context.Context, string) (central.EnrolledDevice, bool, error) {
	if r.err != nil {
		return central.EnrolledDevice{}, false, r.err
	}
	return central.EnrolledDevice{Site: r.site}, true, nil
}

// TestSiteOfRegistryDown: a registry that cannot be read fails the
// site's lookup (the upload then fails as temporary) instead of naming no
// site, which would store a registered terminal's passages without it.
func TestSiteOfRegistryDown(t *testing.T) {
	down := errors.New("registry unreachable")
	site, err := siteOf(flakyRegistry{err: down})(context.Background(), "t-1")
	if !errors.Is(err, down) {
		t.Fatalf("siteOf with the registry down: %q, %v; want its error", site, err)
	}
	site, err = siteOf(flakyRegistry{site: "SM-1"})(context.Background(), "t-1")
	if err != nil || site != "SM-1" {
		t.Fatalf("siteOf: %q, %v; want SM-1", site, err)
	}
}
