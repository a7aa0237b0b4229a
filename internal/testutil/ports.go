package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a port free on ip at the time of the call, and never one
// handed out before to a test still running on this machine. Tests use it
// for programs that take a port on their command line; port 0 is used
// wherever a program allows it.
//
// The port is drawn below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range): a port from that range, freed
// again, is the next pick of any outgoing connection's source port, and the
// packages' tests, run at once, open thousands of them; one took a port
// between FreePort and the program's bind ("address already in use"). Below
// the range only other FreePort callers pick ports, and they are kept apart
// by a claim: a set within this test binary, and a lock file held until it
// exits across the binaries that `go test ./...` runs at once.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	lo, hi := pickRange()
	for range 200 {
		port := lo + rand.IntN(hi-lo)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue // in use
		}
		ln.Close()
		if handedOut.claim(port) {
			return port
		}
	}
	t.Fatalf("find a free port on %s: none of 200 tried in [%d, %d) was free and unclaimed", ip, lo, hi)
	return 0
}

// pickRange is where FreePort draws from: the 16,000 ports below the
// ephemeral range, or, when that range starts too low to leave them, the
// ports above it; when neither side leaves 2,000 ports, the ports from 1024
// up, ephemeral ones included (the race this avoids comes back, not a
// panic on an empty range).
func pickRange() (lo, hi int) {
	ephLo, ephHi := ephemeralRange()
	switch {
	case ephLo >= 12000:
		return max(10000, ephLo-16000), ephLo
	case 65535-ephHi >= 2000:
		return ephHi + 1, 65536
	default:
		return 1024, 65536
	}
}

// ephemeralRange is the kernel's range of ports for outgoing connections
// and for binds to port 0, both ends included.
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			a, errA := strconv.Atoi(f[0])
			z, errZ := strconv.Atoi(f[1])
			if errA == nil && errZ == nil && a <= z {
				lo, hi = a, z
			}
		}
	}
	return lo, hi
}

// handedOut records the ports FreePort returned: the ports a test binary
// gives out are one set, shared by its parallel tests.
var handedOut = portSet{ports: map[int]bool{}}

type portSet struct {
	mu    sync.Mutex
	ports map[int]bool
	locks []*os.File // held open: the claims end when the binary exits
}

func (s *portSet) claim(port int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[port] {
		return false
	}
	s.ports[port] = true // claimed here whatever the lock says: tried once
	f, ok := lockPort(port)
	if ok && f != nil {
		s.locks = append(s.locks, f)
	}
	return ok
}
