package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/targetgroup"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// backend is a real target on its own loopback IP.
type backend struct {
	t      *testing.T
	target healthcheck.Target
	h      http.Handler
	idle   time.Duration
	mu     sync.Mutex
	srv    *http.Server
}

// startBackend serves h on ip with a free port; its Target ID is its name.
func startBackend(t *testing.T, ip, name string, h http.Handler) *backend {
	t.Helper()
	return startBackendWith(t, ip, name, h, 0)
}

// startBackendWith also sets the backend server's keep-alive idle timeout.
func startBackendWith(t *testing.T, ip, name string, h http.Handler, idle time.Duration) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	b := &backend{t: t, h: h, idle: idle, target: healthcheck.Target{ID: name, IP: ip, Port: ln.Addr().(*net.TCPAddr).Port}}
	b.serve(ln)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) serve(ln net.Listener) {
	srv := &http.Server{Handler: b.h, IdleTimeout: b.idle}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection at once, as a crash would.
func (b *backend) stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// restart listens again on the same address.
func (b *backend) restart() {
	b.t.Helper()
	// The port may linger after close: the listening socket is closed
	// once its Accept has returned, which a loaded machine (the suite under
	// -race) can hold up; 500 ms was once too little.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", b.target.Addr())
		if err == nil {
			b.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("restart %s: the port is still taken after 5 s: %v", b.target.ID, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// named answers 200 with its name in the body and X-Backend.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		_, _ = io.WriteString(w, name)
	})
}

func newTG(t *testing.T, name string, mod func(*config.TargetGroup), targets ...*backend) *targetgroup.Group {
	t.Helper()
	tg := config.DefaultTargetGroup
	tg.Name = name
	tg.Port = 8000
	if mod != nil {
		mod(&tg)
	}
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range targets {
		g.Register(b.target)
		g.SetHealth(b.target, healthcheck.TargetHealth{State: healthcheck.StateHealthy})
	}
	return g
}

// startProxy runs listeners on 127.0.0.1 with free ports.
func startProxy(t testing.TB, o Options, groups Groups, listeners ...config.Listener) *Proxy {
	t.Helper()
	p := newProxy(o)
	for _, cl := range listeners {
		if cl.Address == "" {
			cl.Address = "127.0.0.1"
		}
		if cl.Protocol == "" {
			cl.Protocol = "HTTP"
		}
		l, err := p.NewListener(cl, groups)
		if err != nil {
			t.Fatal(err)
		}
		p.listeners = append(p.listeners, l)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		// The loop variant must have gone through the loop, not around it.
		for _, l := range p.listeners {
			if l.loop != nil && l.loop.served.Load() == 0 && l.loop.h2.Load() == 0 {
				t.Errorf("listener %s: the connection loop served no request (%d handed to net/http)", l.Addr(), l.loop.handedOff.Load())
			}
		}
	})
	return p
}

func forwardTo(group string) config.Action { return config.Action{Type: "forward", TargetGroup: group} }

func fixed(code, body string) config.Action {
	return config.Action{Type: "fixed-response", FixedResponse: &config.FixedResponseAction{StatusCode: code, ContentType: "text/plain", MessageBody: body}}
}

// client is an HTTP client that keeps connections alive and does not follow redirects.
func client() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

type reply struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", req.Method, req.URL, err)
	}
	return reply{res.StatusCode, res.Header, string(b)}
}

func get(t *testing.T, c *http.Client, url string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// syncBuffer is an io.Writer safe for the access log goroutine and the test.
type syncBuffer = testutil.SyncBuffer

// recordSink is a Recorder keeping every record.
type recordSink struct {
	mu   sync.Mutex
	recs []ResponseRecord
}

func (r *recordSink) RecordResponses(recs []ResponseRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, recs...)
	r.mu.Unlock()
}
func (r *recordSink) all() []ResponseRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ResponseRecord(nil), r.recs...)
}

// closedAddr returns a loopback target nothing listens on.
func closedTarget(t *testing.T, ip, name string) healthcheck.Target {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return healthcheck.Target{ID: name, IP: ip, Port: port}
}

var errStop = errors.New("stop")

func portOf(t *testing.T, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(fmt.Errorf("port %q: %w", port, err))
	}
	return port
}

func newTGFor(tb testing.TB, tg config.TargetGroup, targets ...healthcheck.Target) *targetgroup.Group {
	tb.Helper()
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range targets {
		g.Register(t)
		g.SetHealth(t, healthcheck.TargetHealth{State: healthcheck.StateHealthy})
	}
	return g
}

// eachHTTPPath runs a test through each data path: the listener's own
// connection loop with package upstream, net/http's server with package
// upstream, and net/http's server with httputil.ReverseProxy. All must
// behave the same.
func eachHTTPPath(t *testing.T, test func(t *testing.T, base Options)) {
	t.Run("serverloop", func(t *testing.T) { test(t, Options{}) })
	t.Run("upstream", func(t *testing.T) { test(t, Options{DisableServerLoop: true}) })
	t.Run("reverseproxy", func(t *testing.T) { test(t, Options{DisableFastPath: true}) })
}

func fastPath(base, o Options) Options {
	o.DisableFastPath = base.DisableFastPath
	o.DisableServerLoop = base.DisableServerLoop
	return o
}

// serveEach hands each connection ln accepts to handle, on its own
// goroutine, until the test ends; then ln and every connection are closed
// (handle need not close its connection, and may leave it open and idle).
func serveEach(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range conns {
			_ = nc.Close()
		}
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			go handle(nc)
		}
	}()
}

// goDo sends req on its own goroutine; its reply comes on the channel,
// code -1 and the error as body when there is no response.
func goDo(req *http.Request) <-chan reply {
	done := make(chan reply, 1)
	go func() {
		res, err := client().Do(req)
		if err != nil {
			done <- reply{code: -1, body: err.Error()}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		done <- reply{code: res.StatusCode, header: res.Header, body: string(b)}
	}()
	return done
}

// notify is an Options.OnDial that passes each address on to ch, without
// blocking.
func notify(ch chan<- string) func(string) {
	return func(addr string) {
		select {
		case ch <- addr:
		default:
		}
	}
}

// waitFor waits for the event ch signals, at most 5 s.
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("waited 5 s for %s", what)
	}
	var zero T
	return zero
}

// eventually waits for cond, at most timeout.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	testutil.Eventually(t, timeout, cond, what)
}
