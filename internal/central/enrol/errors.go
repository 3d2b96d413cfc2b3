package enrol

import (
	"errors"

	"sentinel/internal/central"
	syncenrol "sentinel/sync/enrol"
)

// Errors of enrolment. The Handler answers each with its own HTTP status
// and a message an installer understands.
var (
	// ErrTokenUnknown: no token with this value was ever made (or it was
	// mistyped).
	ErrTokenUnknown = central.ErrTokenUnknown
	// ErrTokenUsed: the token enrolled a terminal already; tokens are
	// single-use.
	ErrTokenUsed = central.ErrTokenUsed
	// ErrTokenExpired: the token's lifetime has passed.
	ErrTokenExpired = central.ErrTokenExpired
	// ErrMalformed: the request is not a valid enrolment request.
	ErrMalformed = errors.New("enrol: malformed enrolment request")
	// ErrTooLarge: the request is larger than MaxRequest.
	ErrTooLarge = errors.New("enrol: enrolment request too large")
	// ErrRevoked: the device's certificate is revoked.
	ErrRevoked = errors.New("enrol: device revoked")
	// ErrUnknownDevice: no device with this id is enrolled.
	ErrUnknownDevice = central.ErrUnknownDevice
	// ErrRootMismatch: the terminal pinned another operator root than
	// the centre's; the token is not spent.
	ErrRootMismatch = syncenrol.ErrRootMismatch
)
