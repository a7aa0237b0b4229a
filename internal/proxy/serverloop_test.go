package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// rawConn is a client connection driven byte by byte.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response to a request with method.
func (c *rawConn) read(method string) (*http.Response, string) {
	c.t.Helper()
	res, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading a response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("reading a body: %v", err)
	}
	return res, string(b)
}

// head reads a response head, as sent.
func (c *rawConn) head() string {
	c.t.Helper()
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading a response head: %v", err)
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

// closed reports whether the proxy closed the connection (EOF or reset
// with nothing more to read).
func (c *rawConn) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.br.ReadByte()
	return err != nil && !isTimeoutErr(err)
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// loopProxy is a proxy whose listener serves through the connection loop:
// / forwards to a target echoing the request, /fixed answers itself.
func loopProxy(t *testing.T, o Options) *Listener {
	t.Helper()
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(b))
	}))
	p := startProxy(t, o, Groups{"a": newTG(t, "a", nil, a)}, config.Listener{DefaultAction: forwardTo("a"),
		Rules: []config.Rule{{Priority: 1, Conditions: []config.Condition{{PathPattern: []string{"/fixed"}}}, Action: fixed("200", "fixed")}}})
	l := p.Listeners()[0]
	if l.loop == nil {
		t.Fatal("no connection loop on a plain-HTTP listener")
	}
	return l
}

func TestLoopRejectsAmbiguousRequests(t *testing.T) {
	l := loopProxy(t, Options{})
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"differing Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400},
		{"control character in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: \x01\r\n\r\n", 400},
		{"bare CR", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"headers too large", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 70) + "\r\n", 431},
		{"request line too long", "GET /" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, l.Addr())
			c.send(tc.req)
			res, _ := c.read("GET")
			if res.StatusCode != tc.status || !res.Close {
				t.Fatalf("got %d (close %v); want %d and the connection closed", res.StatusCode, res.Close, tc.status)
			}
			if !c.closed() {
				t.Fatal("connection left open after a rejection")
			}
		})
	}
	if l.loop.served.Load() != 0 {
		t.Fatalf("%d rejected requests were served", l.loop.served.Load())
	}
	c := dialRaw(t, l.Addr())
	c.send("GET /fixed HTTP/1.1\r\nHost: h\r\n\r\n")
	if res, body := c.read("GET"); res.StatusCode != 200 || body != "fixed" {
		t.Fatalf("a valid request after the rejections: %d %q", res.StatusCode, body)
	}
}

func TestLoopKeepAlivePipeliningAndClose(t *testing.T) {
	l := loopProxy(t, Options{})
	c := dialRaw(t, l.Addr())
	// Three pipelined requests in one write, one with a body, one answered
	// by the load balancer itself with a body nobody reads.
	c.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n" +
		"POST /fixed HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
	for _, want := range []string{"GET /one ", "fixed", "POST /two abc"} {
		if res, body := c.read("GET"); res.StatusCode != 200 || body != want || res.Close {
			t.Fatalf("got %d %q (close %v); want 200 %q on a kept-alive connection", res.StatusCode, body, res.Close, want)
		}
	}
	c.send("GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if res, body := c.read("GET"); body != "GET /three " || !res.Close {
		t.Fatalf("got %q close %v; want the answer and Connection: close", body, res.Close)
	}
	if !c.closed() {
		t.Fatal("connection open after Connection: close")
	}

	t.Run("HTTP/1.0", func(t *testing.T) {
		c := dialRaw(t, l.Addr())
		c.send("GET /old HTTP/1.0\r\nHost: h\r\n\r\n")
		if res, body := c.read("GET"); body != "GET /old " || !res.Close {
			t.Fatalf("got %q close %v", body, res.Close)
		}
		if !c.closed() {
			t.Fatal("HTTP/1.0 connection left open")
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		c := dialRaw(t, l.Addr())
		c.send("HEAD /fixed HTTP/1.1\r\nHost: h\r\n\r\nGET /fixed HTTP/1.1\r\nHost: h\r\n\r\n")
		if res, body := c.read("HEAD"); res.StatusCode != 200 || body != "" || res.ContentLength != 5 {
			t.Fatalf("HEAD: %d %q length %d", res.StatusCode, body, res.ContentLength)
		}
		if _, body := c.read("GET"); body != "fixed" {
			t.Fatalf("GET after HEAD: %q", body)
		}
	})
	t.Run("Expect 100-continue goes to net/http", func(t *testing.T) {
		c := dialRaw(t, l.Addr())
		handed := l.loop.handedOff.Load()
		c.send("POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
		res, err := http.ReadResponse(c.br, nil)
		if err != nil || res.StatusCode != 100 {
			t.Fatalf("interim response %v %v; want 100 Continue", res, err)
		}
		c.send("hi")
		if res, body := c.read("POST"); res.StatusCode != 200 || body != "POST /e hi" {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if l.loop.handedOff.Load() != handed+1 {
			t.Fatal("the request was not handed to net/http")
		}
	})
}

func TestLoopIdleTimeoutAndShutdown(t *testing.T) {
	l := loopProxy(t, Options{IdleTimeout: 300 * time.Millisecond})
	c := dialRaw(t, l.Addr())
	c.send("GET /fixed HTTP/1.1\r\nHost: h\r\n\r\n")
	c.read("GET")
	start := time.Now()
	if !c.closed() {
		t.Fatal("idle connection not closed within the idle timeout")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("idle connection closed after %v; want about the idle timeout (300 ms)", d)
	}

	idle := dialRaw(t, l.Addr())
	idle.send("GET /fixed HTTP/1.1\r\nHost: h\r\n\r\n")
	idle.read("GET")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = idle.nc.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.br.ReadByte(); err == nil || isTimeoutErr(err) {
		t.Fatalf("idle keep-alive connection still open after shutdown: %v", err)
	}
}

// TestLoopHeaderTimeout: a request head trickled in a byte at a time must
// be whole within the idle timeout of its first byte (net/http's
// ReadHeaderTimeout), on a new connection as on a kept-alive one: each
// byte must not buy another timeout.
func TestLoopHeaderTimeout(t *testing.T) {
	l := loopProxy(t, Options{IdleTimeout: 300 * time.Millisecond})
	for _, kept := range []bool{true, false} {
		c := dialRaw(t, l.Addr())
		if kept {
			c.send("GET /fixed HTTP/1.1\r\nHost: h\r\n\r\n")
			c.read("GET")
		}
		head := "GET /fixed HTTP/1.1\r\nHost: h\r\nX-Slow: " + strings.Repeat("s", 100) + "\r\n\r\n"
		start := time.Now()
		closed := false
		for i := 0; i < len(head) && !closed; i++ {
			if _, err := c.nc.Write([]byte{head[i]}); err != nil {
				closed = true
			}
			time.Sleep(50 * time.Millisecond)
			if time.Since(start) > 3*time.Second {
				break
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := c.br.Peek(1); err != nil && !isTimeoutErr(err) {
				closed = true
			} else if err == nil {
				closed = true // an answer (a 408) or anything else ends it
			}
		}
		if d := time.Since(start); !closed || d > 2*time.Second {
			t.Fatalf("kept-alive %v: a head trickled for %v was still being read; want the connection closed after about 300 ms", kept, d)
		}
	}
}
