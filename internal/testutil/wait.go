package testutil

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Eventually polls cond until it holds, and fails the test with msg if it
// still does not after timeout. It is for conditions another goroutine or
// process makes true with no signal to wait on; where there is a signal (a
// channel, a hook), wait on that instead.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("after %s: %s", timeout, msg)
	}
}

// Poll polls cond until it holds (true), or until timeout has passed
// (false): for a caller whose failure message needs the last state seen.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
	return true
}

// SyncBuffer is a bytes.Buffer safe for one writer goroutine (a server's
// log, a child's output) and the test reading it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Serve runs serve (a console's Serve, say) on a free port of 127.0.0.1
// until the test ends, and returns its http:// URL. At the end it cancels
// serve's context and fails the test if serve then returns an error.
func Serve(t testing.TB, serve func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve after shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// FreePortOnAll returns a port free on every one of ips at the time of the
// call: instances share one port over several loopback addresses, as EC2
// instances do. The race with other listeners is FreePort's.
func FreePortOnAll(t testing.TB, ips ...string) int {
	t.Helper()
	for range 50 {
		port := FreePort(t, ips[0])
		free := true
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0
}
