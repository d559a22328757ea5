// Package outbound makes the HTTP clients courierd calls other services with (a routing
// engine, webhook subscribers). A URL is configuration or an admin's input, and a name can
// resolve anywhere, so the address is checked when the connection is made: loopback,
// private and link-local addresses are refused unless allowed.
package outbound

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Client is an HTTP client that follows no redirects and, unless allowPrivate, reaches no
// address inside the machine or its network.
func Client(timeout time.Duration, allowPrivate bool, setting string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error { return refusePrivate(address, setting) }
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 4},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return fmt.Errorf("the server answered with a redirect; configure its final URL")
		},
	}
}

// Ranges the standard library does not call private but that reach inside a network all
// the same: carrier-grade NAT (RFC 6598), and "this network" (0.0.0.0/8).
var (
	sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}
	thisNetwork        = &net.IPNet{IP: net.IPv4(0, 0, 0, 0), Mask: net.CIDRMask(8, 32)}
)

func refusePrivate(address, setting string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || sharedAddressSpace.Contains(ip) || thisNetwork.Contains(ip) {
		return fmt.Errorf("refusing to connect to %s, a loopback or private address (set %s to allow it)", host, setting)
	}
	return nil
}
