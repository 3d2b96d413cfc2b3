package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"sentinel/sync/server"
)

func TestTLSAuthenticator(t *testing.T) {
	withURI := func(uris ...string) *x509.Certificate {
		c := &x509.Certificate{}
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = append(c.URIs, u)
		}
		return c
	}
	verified := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c}}}
	}
	cases := []struct {
		name string
		tls  *tls.ConnectionState
		want string
		err  error
	}{
		{"plain HTTP", nil, "", server.ErrNoClientCert},
		{"TLS without client certificate", &tls.ConnectionState{}, "", server.ErrNoClientCert},
		{"unverified certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{withURI("sentinel:device:t-1")}}, "", server.ErrNoClientCert},
		{"no device URI", verified(withURI("https://example.org/x")), "", server.ErrNoDeviceID},
		{"empty device id", verified(withURI("sentinel:device:")), "", server.ErrNoDeviceID},
		{"device", verified(withURI("https://example.org/x", "sentinel:device:t-1")), "t-1", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/upload", nil)
			r.TLS = tc.tls
			got, err := server.TLSAuthenticator{}.Device(r)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("got %q, %v, want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
