package client

import (
	"net/http"
	"strconv"
	"time"
)

// classify is the one reading of the centre's answers shared by the
// upload, the download and the health report, for an answer the loop did
// not handle itself (each handles its special answers before: the
// upload's 409 fork, branch and gap and its 413 halving, the download's
// 304 and 404 not published). err says what the centre answered, in the
// loop's words; classify marks it:
//
//   - a 4xx other than 408 (Request Timeout) and 429 (Too Many Requests)
//     matches ErrRefused: the same request will be refused again until
//     the terminal or the centre changes;
//   - 408, 429 and 5xx are the centre's trouble or load: worth retrying;
//   - a Retry-After header (seconds or an HTTP date) wraps the result in a
//     RetryError, so that the retry loop and Flush wait as long as asked.
func classify(status int, header http.Header, err error) error {
	if refused(status) {
		err = &refusedError{err: err}
	}
	if after := retryAfter(header.Get("Retry-After"), time.Now()); after > 0 {
		return &RetryError{After: after, Err: err}
	}
	return err
}

// refused reports whether an answer of status means that retrying the
// same request cannot help.
func refused(status int) bool {
	return status >= 400 && status < 500 &&
		status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// refusedError is an answer the centre refused: it reads as the loop's
// error with what to expect, and matches both that error and ErrRefused.
type refusedError struct{ err error }

func (e *refusedError) Error() string {
	return e.err.Error() + " (refused: retrying will not help until the terminal or the centre changes)"
}

func (e *refusedError) Unwrap() []error { return []error{ErrRefused, e.err} }

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, int(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}
