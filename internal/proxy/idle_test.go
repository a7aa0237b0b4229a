package proxy

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestLoopUploadDuringShutdownNotCut: a request body that keeps coming
// (a byte every 150 ms, the idle timeout 1 s) is read to its end while
// the listener shuts down gracefully: active requests finish, and each
// byte renews the idle timeout, whatever else stops with the shutdown
// (a deadline judged by the sweeper's clock, stopped then, cut it: 504).
func TestLoopUploadDuringShutdownNotCut(t *testing.T) {
	l := loopProxy(t, Options{IdleTimeout: time.Second})
	c := dialRaw(t, l.Addr())
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	body := strings.Repeat("b", 15)
	c.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 15\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		done <- l.shutdown(ctx)
	}()
	start := time.Now()
	for i := range body {
		time.Sleep(150 * time.Millisecond)
		if _, err := c.nc.Write([]byte{body[i]}); err != nil {
			res, _ := http.ReadResponse(c.br, nil)
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			t.Fatalf("upload cut after %d of 15 body bytes, %v in (the proxy answered %d): %v", i, time.Since(start).Round(time.Millisecond), status, err)
		}
	}
	res, got := c.read("POST")
	if res.StatusCode != 200 || got != "POST /up "+body {
		t.Fatalf("got %d %q; want 200 %q (the upload cut while data kept flowing)", res.StatusCode, got, "POST /up "+body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoopIdleTimeoutAfterSlowResponse: with the idle timeout at its
// configurable minimum (1 s), a kept-alive connection whose response took
// 200 ms must stay open about the idle timeout after that response (the
// deadline is renewed once it has run down by more than a tenth of the
// timeout, so at least 900 ms). A "now" older than that slack (a clock
// read by the 250 ms sweeper, or the request's start) cut it early.
func TestLoopIdleTimeoutAfterSlowResponse(t *testing.T) {
	slow := startBackend(t, "127.0.0.2", "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(w, "slow")
	}))
	p := startProxy(t, Options{IdleTimeout: time.Second}, Groups{"g": newTG(t, "g", nil, slow)}, config.Listener{DefaultAction: forwardTo("g")})
	addr := p.Listeners()[0].Addr()
	// Past the sweeper's first ticks: coarseNow is set (not the zero of a
	// listener just started), and still the client is cut early.
	time.Sleep(600 * time.Millisecond)
	var short []time.Duration
	for range 5 {
		c := dialRaw(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if res, got := c.read("GET"); res.StatusCode != 200 || got != "slow" {
			t.Fatalf("got %d %q", res.StatusCode, got)
		}
		answered := time.Now()
		if !c.closed() {
			t.Fatal("idle connection not closed")
		}
		if idle := time.Since(answered); idle < 880*time.Millisecond {
			short = append(short, idle)
		}
	}
	if len(short) > 0 {
		t.Fatalf("%d of 5 idle connections closed early after their response: %v; want at least 900 ms (idle timeout 1 s less a tenth)", len(short), short)
	}
}
