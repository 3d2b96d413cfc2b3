package enrol

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Options configure Enrol.
type Options struct {
	// DataDir is the terminal's data directory (required).
	DataDir string
	// Ticket is what the installer typed or scanned (required).
	Ticket Ticket
	// Central, when not empty, is the enrolment URL instead of the
	// ticket's; CAPEM, when not nil, the CA the centre's certificate must
	// chain to instead of the ticket's fingerprint. A plain token needs
	// both (or a publicly trusted centre).
	Central string
	CAPEM   []byte
	// Root is the operator root the package gave (--root); nil when
	// none. It and DataDir's pinned root must agree.
	Root crypto.PublicKey
	// Timeout bounds each attempt (30 s when 0).
	Timeout time.Duration
	// Wait is called after attempt n failed with an *UnavailableError
	// (network down, centre busy): it waits before the next attempt and
	// returns an error to give up. Nil gives up at once.
	Wait func(ctx context.Context, n int, err error) error
}

// ErrNoCentral: a plain token and no enrolment URL.
var ErrNoCentral = errors.New("a plain token needs the centre's enrolment URL (--central https://HOST:8444) and its CA (--ca FILE); the ticket from 'sentinel-central devices add' carries both")

// Enrol enrols the terminal in o.DataDir: it checks the pinned root, makes
// the key pair (or takes the one of an attempt whose answer was lost,
// PendingKeyFile), posts the request until it is answered (retrying only
// while the centre cannot be reached, through o.Wait), checks the answer
// (its CA must be the one the ticket names) and installs it. It returns
// what was installed and the number of attempts.
func Enrol(ctx context.Context, o Options) (*Installed, int, error) {
	base := o.Central
	if base == "" {
		base = o.Ticket.URL()
	}
	if base == "" {
		return nil, 0, ErrNoCentral
	}
	pinned, err := PinnedRoot(o.DataDir, o.Root)
	if err != nil {
		return nil, 0, err
	}
	tlsCfg, err := EnrolTLSConfig(o.Ticket, o.CAPEM)
	if err != nil {
		return nil, 0, err
	}
	req, key, err := pendingRequest(o.DataDir, o.Ticket.Token)
	if err != nil {
		return nil, 0, err
	}
	if pinned != nil {
		req.Root = KeyID(pinned)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	var resp *Response
	n := 0
	for {
		n++
		resp, err = Post(ctx, client, base, req)
		if err == nil {
			break
		}
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) || o.Wait == nil {
			return nil, n, err
		}
		if werr := o.Wait(ctx, n, err); werr != nil {
			return nil, n, werr
		}
	}
	if o.Ticket.Compact() && o.CAPEM == nil {
		// The answer's CA verifies the centre from now on: it must be the
		// one the ticket named.
		ca, err := ParseCertificatePEM(resp.CA)
		if err != nil || Fingerprint(ca.Raw) != o.Ticket.CA {
			return nil, n, fmt.Errorf("%w: the centre's answer carries another device CA than the ticket names; nothing was written: ask ops", ErrAnswer)
		}
	}
	in, err := Install(o.DataDir, key, resp, pinned)
	return in, n, err
}
