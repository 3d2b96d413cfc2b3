package servertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
)

// RefuseNonLoopback makes http.DefaultTransport refuse to dial anything
// but a loopback address: call it from TestMain, so that no test reaches a
// real centre.
func RefuseNonLoopback() {
	t := http.DefaultTransport.(*http.Transport)
	d := &net.Dialer{}
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("servertest: refusing to dial %s: tests reach loopback only", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
}
