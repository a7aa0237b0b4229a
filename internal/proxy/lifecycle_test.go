package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// TestLoopUploadDuringShutdownNotCut: a request body that keeps coming
// (a byte every 150 ms, the idle timeout 1 s) is read to its end while
// the listener shuts down gracefully: active requests finish, and each
// byte renews the idle timeout, whatever else stops with the shutdown
// (a deadline judged by the sweeper's clock, stopped then, cut it: 504).
func TestLoopUploadDuringShutdownNotCut(t *testing.T) {
	// Waits on timeouts: runs beside the other waiting tests.
	t.Parallel()
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
	// Waits on timeouts: runs beside the other waiting tests.
	t.Parallel()
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

// unconnectable is a target whose connections never complete: a listening
// socket whose accept queue is full, so that further SYNs are dropped and
// a dial waits (the kernel resends the SYN after 1 s, 3 s...).
func unconnectable(t *testing.T, ip string) healthcheck.Target {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	addr := &syscall.SockaddrInet4{}
	copy(addr.Addr[:], net.ParseIP(ip).To4())
	if err := syscall.Bind(fd, addr); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	target := net.JoinHostPort(ip, strconv.Itoa(port))
	for range 8 { // fill the queue, until a dial waits
		c, err := net.DialTimeout("tcp", target, 200*time.Millisecond)
		if err != nil {
			return healthcheck.Target{ID: "unconnectable", IP: ip, Port: port}
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Skip("could not fill the accept queue: dials to a full queue do not wait here")
	return healthcheck.Target{}
}

// TestCutWhileConnecting: a request still connecting to its target when the
// target's deregistration delay ends is cut then, a 502, as one waiting for
// its answer is; it does not wait for the connect timeout, nor go to
// another target.
func TestCutWhileConnecting(t *testing.T) { eachHTTPPath(t, testCutWhileConnecting) }

func testCutWhileConnecting(t *testing.T, base Options) {
	target := unconnectable(t, "127.0.0.2")
	g := newTGFor(t, config.DefaultTargetGroup, target)
	g.SetDeregistrationDelay(300 * time.Millisecond)
	dialing := make(chan string, 8)
	p := startProxy(t, fastPath(base, Options{OnDial: notify(dialing)}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	req, _ := http.NewRequest(http.MethodGet, p.Listeners()[0].URL()+"/", nil)
	done := goDo(req)
	waitFor(t, dialing, "the request to start connecting")
	start := time.Now()
	g.Deregister(target)
	select {
	case r := <-done:
		if r.code != 502 {
			t.Fatalf("got %d %q; want a 502 when the deregistration delay ends", r.code, r.body)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("ended %v after deregistration; want after the 300 ms delay", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the connecting request outlived its target's deregistration delay by seconds")
	}
}

// TestClientLeavesWhileConnecting: a client that leaves while its request
// is still connecting to the target is answered 460 in the monitor at once,
// not after the connect timeout.
func TestClientLeavesWhileConnecting(t *testing.T) {
	eachHTTPPath(t, testClientLeavesWhileConnecting)
}

func testClientLeavesWhileConnecting(t *testing.T, base Options) {
	target := unconnectable(t, "127.0.0.2")
	g := newTGFor(t, config.DefaultTargetGroup, target)
	rec := &recordSink{}
	dialing := make(chan string, 8)
	p := startProxy(t, fastPath(base, Options{Recorder: rec, OnDial: notify(dialing)}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	nc, err := net.Dial("tcp", p.Listeners()[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, dialing, "the request to start connecting")
	_ = nc.Close()
	left := time.Now()
	eventually(t, 3*time.Second, func() bool { return len(rec.all()) > 0 }, "a record of the client leaving")
	recs := rec.all()
	if len(recs) != 1 || recs[0].StatusCode != 460 {
		t.Fatalf("records %+v, %v after the client left; want one 460 within a second or so", recs, time.Since(left))
	}
}

// TestTargetStopsReadingBody: a target that takes a request's head and
// then reads nothing more of its body is cut after the idle timeout ("no
// data sent or received"), on every path: the client gets the load
// balancer's 504, not a request hanging for ever.
func TestTargetStopsReadingBody(t *testing.T) {
	// Waits on timeouts: runs beside the other waiting tests.
	t.Parallel()
	eachHTTPPath(t, testTargetStopsReadingBody)
}

func testTargetStopsReadingBody(t *testing.T, base Options) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	testUploadToStalledTarget(t, ln, config.DefaultTargetGroup, fastPath(base, Options{IdleTimeout: time.Second}))
}

// TestHTTPSTargetStopsReadingBody: the same for an HTTPS target group,
// whose requests go through the ReverseProxy path on every listener.
func TestHTTPSTargetStopsReadingBody(t *testing.T) {
	// Waits on timeouts: runs beside the other waiting tests.
	t.Parallel()
	cert, err := selfSigned("127.0.0.2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.2:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	tg := config.DefaultTargetGroup
	tg.Protocol = "HTTPS"
	testUploadToStalledTarget(t, ln, tg, Options{IdleTimeout: time.Second, DisableServerLoop: true})
}

// testUploadToStalledTarget posts 32 MiB through a proxy with o (a 1 s
// idle timeout) to a target on ln that reads a little of each connection
// (with TLS: the handshake) and then nothing: the kernel buffers fill.
func testUploadToStalledTarget(t *testing.T, ln net.Listener, tg config.TargetGroup, o Options) {
	serveEach(t, ln, func(nc net.Conn) { _, _ = nc.Read(make([]byte, 4096)) })
	g := newTGFor(t, tg, healthcheck.Target{ID: "t", IP: "127.0.0.2", Port: ln.Addr().(*net.TCPAddr).Port})
	p := startProxy(t, o, Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	req, _ := http.NewRequest(http.MethodPost, p.Listeners()[0].URL()+"/upload", strings.NewReader(strings.Repeat("x", 32<<20)))
	start := time.Now()
	select {
	case r := <-goDo(req):
		if r.code != http.StatusGatewayTimeout && r.code != -1 {
			t.Fatalf("got %d %q; want the load balancer's 504 (or the connection cut)", r.code, r.body)
		}
		t.Logf("%d after %v", r.code, time.Since(start).Round(time.Millisecond))
	case <-time.After(8 * time.Second):
		t.Fatal("the upload still hangs 8 s on with a 1 s idle timeout: a target that stops reading is never cut")
	}
}
