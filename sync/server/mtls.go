package server

import (
	"errors"
	"net/http"
	"strings"
)

// DeviceURIPrefix starts the URI SAN that names the device in its client
// certificate (the centre's device CA writes it at enrolment).
const DeviceURIPrefix = "sentinel:device:"

// Errors of TLSAuthenticator.
var (
	// ErrNoClientCert: the request did not come over TLS with a verified
	// client certificate.
	ErrNoClientCert = errors.New("server: no verified client certificate")
	// ErrNoDeviceID: the certificate names no device.
	ErrNoDeviceID = errors.New("server: client certificate names no device")
)

// TLSAuthenticator takes the device id from the verified TLS client
// certificate: its "sentinel:device:ID" URI SAN. It is the production
// Authenticator; the listener must verify client certificates against
// the device CA (internal/central/enrol.ServerTLSConfig).
type TLSAuthenticator struct{}

var _ Authenticator = TLSAuthenticator{}

// Device implements Authenticator.
func (TLSAuthenticator) Device(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", ErrNoClientCert
	}
	leaf := r.TLS.VerifiedChains[0][0]
	for _, u := range leaf.URIs {
		if s := u.String(); strings.HasPrefix(s, DeviceURIPrefix) && len(s) > len(DeviceURIPrefix) {
			return s[len(DeviceURIPrefix):], nil
		}
	}
	return "", ErrNoDeviceID
}
