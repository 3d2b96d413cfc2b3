package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds the wait for a load balancer's PROXY header.
const proxyHeaderTimeout = 5 * time.Second

// ParseProxyFrom parses a comma-separated list of addresses and CIDR
// prefixes (10.0.0.5, 10.0.0.0/24, fd00::/64) of load balancers, for
// Config.ProxyFrom.
func ParseProxyFrom(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor an address/bits prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// proxied wraps ln so that connections from the load balancers in from
// must start with a PROXY protocol header (v1 or v2), whose source
// address the server then sees as the connection's remote address: the
// per-source rate limits and the logs see the terminal or operator, not
// the load balancer. A header from anywhere else is refused, so that no
// client can claim another's address. With no load balancer ln is
// returned as it is.
func proxied(ln net.Listener, from []netip.Prefix) net.Listener {
	if len(from) == 0 {
		return ln
	}
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: proxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			ap, err := netip.ParseAddrPort(o.Upstream.String())
			if err != nil {
				return proxyproto.REJECT, nil
			}
			for _, p := range from {
				if p.Contains(ap.Addr().Unmap()) {
					return proxyproto.REQUIRE, nil
				}
			}
			return proxyproto.REJECT, nil
		},
	}
}
