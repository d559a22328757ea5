package outbound

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRefusesInsideAddresses: a URL given by an admin or configuration cannot make courierd
// reach the machine itself, its network, or a cloud's metadata service.
func TestRefusesInsideAddresses(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "127.8.8.8", "::1", "10.0.0.7", "172.16.3.4", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "::", "fe80::1", "fc00::1", "224.0.0.1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", "2002:a00:1::1", "198.18.0.1", "240.0.0.1", "255.255.255.255"} {
		if err := refusePrivate(net.JoinHostPort(host, "443"), "X_ALLOW_PRIVATE"); err == nil || !strings.Contains(err.Error(), "X_ALLOW_PRIVATE") {
			t.Errorf("%s: %v; want it refused, naming the setting", host, err)
		}
	}
	for _, host := range []string{"8.8.8.8", "100.128.0.1", "203.113.131.1", "2001:4860:4860::8888"} {
		if err := refusePrivate(net.JoinHostPort(host, "443"), "X_ALLOW_PRIVATE"); err != nil {
			t.Errorf("%s: %v; a public address is allowed", host, err)
		}
	}
}

// TestClientChecksWhenConnecting: the check is made on the address dialled (whatever name
// led there), redirects are not followed, and the setting lets a private address through.
func TestClientChecksWhenConnecting(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if _, err := Client(time.Second, false, "X_ALLOW_PRIVATE").Get(srv.URL); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("loopback reached without the setting: %v", err)
	}
	allowed := Client(time.Second, true, "X_ALLOW_PRIVATE")
	if r, err := allowed.Get(srv.URL); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("with the setting: %v", err)
	}
	if _, err := allowed.Get(srv.URL + "/moved"); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("a redirect was followed: %v", err)
	}
}
