package testutil

import (
	"runtime"
	"testing"
)

// TestFreePortIsOutsideTheEphemeralRange: a port an outgoing connection
// could take as its source port is never handed out.
func TestFreePortIsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := ephemeralRange()
	if pickLo, pickHi := pickRange(); pickLo <= hi && pickHi > lo {
		t.Skipf("the ephemeral range [%d, %d] leaves no 2,000 ports on either side", lo, hi)
	}
	for range 20 {
		if p := FreePort(t, "127.0.0.1"); p >= lo && p <= hi {
			t.Fatalf("port %d is in the ephemeral range [%d, %d]", p, lo, hi)
		}
	}
}

// TestPortClaimExcludesAnotherHolder: a port whose lock file another
// holder has (a second open file description, as another test binary's
// would be) is not claimed.
func TestPortClaimExcludesAnotherHolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	p := FreePort(t, "127.0.0.1")
	if f, ok := lockPort(p); ok {
		if f != nil {
			f.Close()
		}
		t.Fatalf("port %d was locked again while FreePort's claim holds it", p)
	}
	var s portSet
	s.ports = map[int]bool{}
	if s.claim(p) {
		t.Fatalf("a second set claimed port %d", p)
	}
}
