package enrol

import (
	"crypto/tls"
	"errors"

	syncenrol "sentinel/sync/enrol"
)

// ServerTLSConfig is the centre's TLS for device calls: TLS 1.3 only, and
// a client certificate signed by the device CA that names a device
// required. server is the centre's own certificate (CA.IssueServer makes
// one terminals verify with device/ca.pem).
//
// A revoked device still completes the handshake: Guard refuses each of
// its requests with an answer the terminal can read (403
// device-revoked), where a failed handshake would only tell it "bad
// certificate".
func ServerTLSConfig(ca *CA, server tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{server},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        ca.Pool(),
		VerifyConnection: checkPeer,
	}
}

// checkPeer refuses a connection whose verified client certificate names
// no device.
func checkPeer(cs tls.ConnectionState) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("enrol: no verified client certificate: enrol the terminal first")
	}
	if _, ok := syncenrol.DeviceID(cs.VerifiedChains[0][0]); !ok {
		return errors.New("enrol: client certificate names no device")
	}
	return nil
}
