package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// rawTarget is a target that sends answer, byte for byte, to every request
// it reads, and passes on each request's head as received.
func rawTarget(t *testing.T, answer string, heads chan<- string) healthcheck.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEach(t, ln, func(nc net.Conn) {
		defer nc.Close()
		br := bufio.NewReader(nc)
		for {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head.String())))
			if err != nil {
				return
			}
			if req.ContentLength > 0 {
				if _, err := io.CopyN(io.Discard, br, req.ContentLength); err != nil {
					return
				}
			}
			if heads != nil {
				select {
				case heads <- head.String():
				default:
				}
			}
			if _, err := io.WriteString(nc, answer); err != nil {
				return
			}
		}
	})
	return healthcheck.Target{ID: "raw", IP: "127.0.0.2", Port: ln.Addr().(*net.TCPAddr).Port}
}

// TestTargetSendsMoreThanItsResponse: bytes a target sends beyond the
// response it was asked for must never become the response to a later
// request (of another client) on a reused connection.
func TestTargetSendsMoreThanItsResponse(t *testing.T) {
	eachHTTPPath(t, testTargetSendsMoreThanItsResponse)
}

func testTargetSendsMoreThanItsResponse(t *testing.T, base Options) {
	const forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
	for _, tc := range []struct{ name, answer, method, want string }{
		{"body beyond Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + forged, "GET", "ok"},
		{"body after 204", "HTTP/1.1 204 No Content\r\n\r\nok" + forged, "GET", ""},
		{"body after a HEAD answer", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + forged, "HEAD", ""},
		{"bytes after the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + forged, "GET", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTGFor(t, config.DefaultTargetGroup, rawTarget(t, tc.answer, nil))
			p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
			for i := range 3 {
				c := dialRaw(t, p.Listeners()[0].Addr())
				c.send(tc.method + " / HTTP/1.1\r\nHost: h\r\n\r\n")
				if res, body := c.read(tc.method); res.StatusCode/100 != 2 || body != tc.want {
					t.Fatalf("request %d: %d %q; want %q", i, res.StatusCode, body, tc.want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestTargetContentLength: a response's length must reach the client
// unambiguously: one Content-Length, never beside Transfer-Encoding, and a
// target's ambiguous or malformed length is a 502, as from ReverseProxy.
func TestTargetContentLength(t *testing.T) { eachHTTPPath(t, testTargetContentLength) }

func testTargetContentLength(t *testing.T, base Options) {
	for _, tc := range []struct {
		name, answer string
		code         int
		want         string
	}{
		{"identical repeat", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 200, "ok"},
		{"differing", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nokabc", 502, ""},
		{"signed", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", 502, ""},
		{"list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", 502, ""},
		// Transfer-Encoding: only chunked, once, as net/http and nginx.
		{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 502, ""},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 502, ""},
		{"gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nok", 502, ""},
		{"Chunked, any case", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, "ok"},
		// Fields net/http's reader refuses are a 502 on every path.
		{"NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"bare CR in a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"name not a token", "HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 2\r\n\r\nok", 502, ""},
		{"tab in a value is fine", "HTTP/1.1 200 OK\r\nX-A: a\tb\r\nContent-Length: 2\r\n\r\nok", 200, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTGFor(t, config.DefaultTargetGroup, rawTarget(t, tc.answer, nil))
			p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
			c := dialRaw(t, p.Listeners()[0].Addr())
			c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			head := c.head()
			if n, te := strings.Count(head, "\nContent-Length:"), strings.Count(head, "\nTransfer-Encoding:"); n+te != 1 {
				t.Fatalf("%d Content-Length and %d Transfer-Encoding in\n%s", n, te, head)
			}
			c.br = bufio.NewReader(io.MultiReader(strings.NewReader(head), c.br))
			res, body := c.read("GET")
			if res.StatusCode != tc.code || (tc.code == 200 && body != tc.want) {
				t.Fatalf("%d %q; want %d %q", res.StatusCode, body, tc.code, tc.want)
			}
		})
	}
}

// TestRequestHeadToTarget: what reaches the target of a request: one
// Content-Length, no hop-by-hop header (those ReverseProxy removes, Proxy-*
// included), and the load balancer's own X-Forwarded-* whatever the client's
// Connection header nominates.
func TestRequestHeadToTarget(t *testing.T) { eachHTTPPath(t, testRequestHeadToTarget) }

func testRequestHeadToTarget(t *testing.T, base Options) {
	heads := make(chan string, 1)
	g := newTGFor(t, config.DefaultTargetGroup, rawTarget(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", heads))
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	for _, tc := range []struct {
		name, req string
		count     map[string]int // header name -> times it must reach the target
	}{
		{"one Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
			map[string]int{"Content-Length": 1}},
		{"Content-Length 0", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
			map[string]int{"Content-Length": 1}},
		{"Proxy-Authorization and Proxy-Authenticate", "GET / HTTP/1.1\r\nHost: h\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Authenticate: x\r\n\r\n",
			map[string]int{"Proxy-Authorization": 0, "Proxy-Authenticate": 0}},
		{"Connection nominating the forwarded headers", "GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Port, X-Amzn-Trace-Id\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 1\r\n\r\n",
			map[string]int{"X-Forwarded-For": 1, "X-Forwarded-Proto": 1, "X-Forwarded-Port": 1, "X-Amzn-Trace-Id": 1, "Connection": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, p.Listeners()[0].Addr())
			c.send(tc.req)
			if res, _ := c.read("GET"); res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			head := <-heads
			for name, want := range tc.count {
				if got := strings.Count(strings.ToLower(head), "\n"+strings.ToLower(name)+":"); got != want {
					t.Errorf("%s %d times; want %d in\n%s", name, got, want, head)
				}
			}
			if !strings.Contains(head, "\r\nX-Forwarded-Proto: http\r\n") || strings.Contains(head, "X-Forwarded-Port: 1\r\n") {
				t.Errorf("forwarded headers taken from the client:\n%s", head)
			}
		})
	}
}

// TestHeadOutlivesItsReadBuffer: a target's header reaches the client
// intact when the body comes in a later read that reuses the bytes the
// header was parsed from (fields are read in place, see
// upstream.HeadWriter), and when the header itself comes in pieces.
func TestHeadOutlivesItsReadBuffer(t *testing.T) { eachHTTPPath(t, testHeadOutlivesItsReadBuffer) }

func testHeadOutlivesItsReadBuffer(t *testing.T, base Options) {
	long := strings.Repeat("a", 300)
	body := strings.Repeat("z", 600)
	head := "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nx-lower: b\r\nContent-Length: 600\r\n\r\n"
	for _, tc := range []struct {
		name   string
		pieces []string // written with a pause between them
	}{
		{"body later", []string{head, body}},
		{"no Content-Type, body later", []string{head, body[:1], body[1:]}},
		{"head in pieces", []string{head[:20], head[20:40], head[40:] + body}},
		{"bodyless, then the next response", []string{"HTTP/1.1 204 No Content\r\nX-Long: " + long + "\r\n\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			serveEach(t, ln, func(nc net.Conn) {
				br := bufio.NewReader(nc)
				for {
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					for i, p := range tc.pieces {
						if i > 0 {
							time.Sleep(30 * time.Millisecond)
						}
						if _, err := io.WriteString(nc, p); err != nil {
							return
						}
					}
				}
			})
			target := healthcheck.Target{ID: "t", IP: "127.0.0.2", Port: ln.Addr().(*net.TCPAddr).Port}
			g := newTGFor(t, config.DefaultTargetGroup, target)
			p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
			c := dialRaw(t, p.Listeners()[0].Addr())
			for range 3 { // the same target connection, its buffer reused
				c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
				res, got := c.read("GET")
				if v := res.Header.Get("X-Long"); v != long {
					t.Fatalf("X-Long: %q; want %d a's", v, len(long))
				}
				if res.StatusCode == 204 {
					continue
				}
				if v := res.Header.Get("X-Lower"); v != "b" || got != body {
					t.Fatalf("X-Lower %q, body %d bytes (%q...); want b and the 600 z's", v, len(got), got[:min(len(got), 10)])
				}
			}
		})
	}
}
