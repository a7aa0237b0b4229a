package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

// TestUpgradeHalfClose: on an upgraded (101) connection, a client that
// half-closes (sends its last bytes, then FIN) still gets the rest of the
// target's answer: ReverseProxy propagates the FIN to the target with
// CloseWrite and keeps relaying the target's bytes until the target's own
// EOF. The target here echoes until EOF, then sends "bye" and closes.
// Upgrades always take the ReverseProxy path (upstream.Eligible), from
// net/http's server (the connection loop hands them off).
func TestUpgradeHalfClose(t *testing.T) {
	b := startBackend(t, "127.0.0.2", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_, _ = io.Copy(nc, brw.Reader) // echo until the proxy's FIN
		_, _ = io.WriteString(nc, "bye")
	}))
	p := startProxy(t, Options{DisableServerLoop: true}, Groups{"g": newTG(t, "g", nil, b)}, config.Listener{DefaultAction: forwardTo("g")})
	nc, err := net.Dial("tcp", p.Listeners()[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %d; want 101", res.StatusCode)
	}
	if _, err := io.WriteString(nc, "hello"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(br)
	if string(got) != "hellobye" {
		t.Fatalf("after the client's half-close got %q (%v); want %q: the target's answer after the FIN was lost", got, err, "hellobye")
	}
}

// TestUpstreamConnectTimeoutAndRefused: package upstream's dial
// (DialContext with a timeout context, linked in the busy list first)
// still reports a connect timeout as an ErrConnect timeout (504) and a
// refused connection as a plain ErrConnect (retried, 502), and leaves
// nothing in the busy list.
func TestUpstreamConnectTimeoutAndRefused(t *testing.T) {
	up := &upstream.Client{IdleTimeout: time.Second, ConnectTimeout: 300 * time.Millisecond}
	ex := &exchange{Context: context.Background()}
	for _, tc := range []struct {
		target healthcheck.Target
		status int
	}{
		{unconnectable(t, "127.0.0.2"), http.StatusGatewayTimeout},
		{closedTarget(t, "127.0.0.3", "closed"), http.StatusBadGateway},
	} {
		req := upstream.Request{Addr: tc.target.Addr(), In: httptest.NewRequest("GET", "/", nil), Host: "h", Owner: 1, Tag: ex}
		start := time.Now()
		res := up.Forward(httptest.NewRecorder(), &req)
		if !errors.Is(res.Err, upstream.ErrConnect) {
			t.Fatalf("%s: %v; want ErrConnect", tc.target.ID, res.Err)
		}
		if got := errorStatus(ex, res.Err); got != tc.status {
			t.Fatalf("%s: %v after %v: status %d; want %d", tc.target.ID, res.Err, time.Since(start), got, tc.status)
		}
		if up.Abort(ex) || up.Cut(1) != 0 {
			t.Fatalf("%s: a failed dial left its conn in the busy list", tc.target.ID)
		}
	}
}

// TestUpstreamCutRacesDial: Cut and Abort racing dials, exchanges and
// puts (-race): no nil nc, nothing left in the busy list.
func TestUpstreamCutRacesDial(t *testing.T) {
	b := startBackend(t, "127.0.0.2", "b", named("b"))
	up := &upstream.Client{IdleTimeout: time.Second, MaxIdlePerTarget: 2}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		ex := &exchange{Context: context.Background()}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := upstream.Request{Addr: b.target.Addr(), In: httptest.NewRequest("GET", "/", nil), Host: "h", Owner: i % 2, Tag: ex}
				up.Forward(httptest.NewRecorder(), &req)
			}
		})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				up.Abort(ex)
				up.Cut(i % 2)
				up.CloseIdle()
			}
		})
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if up.Cut(0)+up.Cut(1) != 0 {
		t.Fatal("conns left in the busy list")
	}
}
