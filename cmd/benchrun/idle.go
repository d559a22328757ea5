package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"courierd/cmd/devicesim/sim"
)

// idleCost is what handhelds' idle keep-alive connections cost: courierd's memory and CPU,
// and the kernel's.
type idleCost struct {
	connections int
	hold        time.Duration
	// rssPer1000 is courierd's resident memory per 1,000 connections, bytes; slabPer1000
	// and buffersPer1000 the kernel's (slab objects; socket buffers, from sockstat), both
	// ends of each connection counted, since both are on this machine.
	rssPer1000, slabPer1000, buffersPer1000 float64
	cpuPerS                                 time.Duration // courierd's CPU a second per 1,000 while they idle, beyond its own
}

// measureIdle opens n connections to courierd at base, each making one request and then
// keeping still as an app between syncs does, and reads what they cost while they idle
// for hold (shorter than courierd's IDLE_TIMEOUT).
func measureIdle(ctx context.Context, base string, pid, n int, hold time.Duration) (idleCost, error) {
	u, err := url.Parse(base)
	if err != nil {
		return idleCost{}, err
	}
	// What courierd uses with none open (its timers, River's polling) is subtracted.
	before := sim.CPUNow(pid)
	time.Sleep(hold)
	baseline := sim.CPUNow(pid).Since(before).Courierd
	rss, slab, buffers := sample(pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var dialer net.Dialer
	for range n {
		c, err := dialer.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return idleCost{}, fmt.Errorf("connection %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n"); err != nil {
			return idleCost{}, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return idleCost{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(2 * time.Second) // what the requests left settles
	before = sim.CPUNow(pid)
	time.Sleep(hold)
	used := sim.CPUNow(pid).Since(before).Courierd - baseline
	rssAfter, slabAfter, buffersAfter := sample(pid)
	per := 1000 / float64(n)
	return idleCost{connections: n, hold: hold, rssPer1000: float64(rssAfter-rss) * per, slabPer1000: float64(slabAfter-slab) * per,
		buffersPer1000: float64(buffersAfter-buffers) * per, cpuPerS: time.Duration(float64(used) * per / hold.Seconds())}, nil
}

// sample reads courierd's resident memory, the kernel's slab, and its TCP socket buffers,
// in bytes (0 for what cannot be read).
func sample(pid int) (rss, slab, buffers int64) {
	rss, _ = residentSet(pid)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Slab:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				slab = kib * 1024
			}
		}
	}
	pages, _ := sockstatTCPPages()
	return rss, slab, pages * int64(os.Getpagesize())
}

// sockstatTCPPages is the pages the kernel's TCP sockets hold for buffers ("mem" in
// /proc/net/sockstat).
func sockstatTCPPages() (int64, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(fields); i += 2 {
			if fields[i] == "mem" {
				return strconv.ParseInt(fields[i+1], 10, 64)
			}
		}
	}
	return 0, errors.New("no TCP mem in /proc/net/sockstat")
}

func writeIdle(w writeFunc, c idleCost) {
	w("Idle keep-alive connections: %d connections to this courierd each made one request and then kept still for %s, as a handheld between syncs. ",
		c.connections, span(c.hold))
	cpu := "no CPU measurable beyond what it uses with none open"
	if ms := float64(c.cpuPerS.Microseconds()) / 1000; ms >= 0.5 {
		cpu = fmt.Sprintf("%.1f ms of CPU a second more than with none open", ms)
	}
	w("Per 1,000 of them courierd's resident memory grew by %.1f MiB and it used %s while they idled; ", c.rssPer1000/(1<<20), cpu)
	w("the kernel's slab grew by %.1f MiB and its TCP buffers by %.0f KiB (both ends of each connection, since client and server share this machine). ",
		c.slabPer1000/(1<<20), c.buffersPer1000/1024)
	w("courierd closes a connection idle for IDLE_TIMEOUT (60 s by default).\n\n")
}
