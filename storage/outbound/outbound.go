// Package outbound is courierd's outbound adapters: what calls other services, as
// opposed to storage's PostgreSQL. This package makes the HTTP clients they use (a routing
// engine, webhook subscribers, gateways) and posts webhook deliveries; its subpackages are
// the adapters themselves: messaging (SMS gateway, Zalo ZNS) and osrm (a routing engine's
// travel tables). A URL is configuration or an admin's input, and a name can resolve
// anywhere, so the address is checked when the connection is made: loopback, private and
// link-local addresses are refused unless allowed.
package outbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
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

// insideRanges are ranges the standard library does not call private that reach inside a
// network all the same, or are not the public internet: carrier-grade NAT, "this network",
// benchmarking, reserved and broadcast, and the IPv6 translations that embed any IPv4
// address, a private one included (NAT64, 6to4).
var insideRanges = func() []*net.IPNet {
	var out []*net.IPNet
	for _, cidr := range []string{"100.64.0.0/10", "0.0.0.0/8", "198.18.0.0/15", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16"} {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}()

func refusePrivate(address, setting string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || slices.ContainsFunc(insideRanges, func(n *net.IPNet) bool { return n.Contains(ip) }) {
		return fmt.Errorf("refusing to connect to %s, a loopback or private address (set %s to allow it)", host, setting)
	}
	return nil
}

// Poster posts webhook deliveries (webhook.Poster) with a client made by Client.
type Poster struct{ Client *http.Client }

func (p Poster) Post(ctx context.Context, url string, headers map[string]string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
