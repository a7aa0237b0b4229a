package proxy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// rawBackend answers every request on a keep-alive connection with a fixed
// 100-byte 200 response, allocating nothing per request, so that the
// benchmark's allocations are the proxy's own.
func rawBackend(b *testing.B, ip string) healthcheck.Target {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	body := bytes.Repeat([]byte("x"), 100)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"), body...)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReaderSize(conn, 8192)
				for {
					// A request ends with an empty line (GET, no body).
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := conn.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return healthcheck.Target{ID: ip, IP: ip, Port: ln.Addr().(*net.TCPAddr).Port}
}

// discardWriter is a reusable ResponseWriter.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkServeHTTP is the per-request path of a forward: route, pick,
// rewrite, round trip over a kept-alive loopback connection, copy the
// response. The client side (parsing the client's request) is net/http's.
func BenchmarkServeHTTP(b *testing.B) {
	t1, t2 := rawBackend(b, "127.0.0.2"), rawBackend(b, "127.0.0.3")
	tg := config.DefaultTargetGroup
	tg.Name = "bench"
	g := newTGFor(b, tg, t1, t2)
	p := newProxy(Options{})
	l, err := p.NewListener(config.Listener{Protocol: "HTTP", Address: "127.0.0.1", Port: 8080, DefaultAction: forwardTo("bench")}, Groups{"bench": g})
	if err != nil {
		b.Fatal(err)
	}
	l.xfPort = []string{"8080"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("User-Agent", "wrk")
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			l.ServeHTTP(w, req)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}

// BenchmarkConnectionLoop is the per-request path as a client on a kept-alive
// connection sees it: the listener's connection loop reads and parses the
// request, routes it, forwards it to one of two targets over a pooled
// connection and relays the response. Client and targets allocate nothing
// per request, so allocs/op are the load balancer's own.
func BenchmarkConnectionLoop(b *testing.B) {
	benchConnectionLoop(b, "HTTP", func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) })
}

// benchConnectionLoop drives a listener of protocol with kept-alive
// connections made by dial, one request at a time on each.
func benchConnectionLoop(b *testing.B, protocol string, dial func(addr string) (net.Conn, error)) {
	t1, t2 := rawBackend(b, "127.0.0.2"), rawBackend(b, "127.0.0.3")
	tg := config.DefaultTargetGroup
	tg.Name = "bench"
	g := newTGFor(b, tg, t1, t2)
	p := startProxy(b, Options{}, Groups{"bench": g}, config.Listener{Protocol: protocol, DefaultAction: forwardTo("bench")})
	addr := p.Listeners()[0].Addr()
	req := []byte("GET /index.html HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: wrk\r\n\r\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		nc, err := dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer nc.Close()
		br := bufio.NewReaderSize(nc, 8192)
		for pb.Next() {
			if _, err := nc.Write(req); err != nil {
				b.Error(err)
				return
			}
			// The response: a head, then the targets' 100-byte body.
			status := true
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Error(err)
					return
				}
				if status && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
					b.Errorf("status line %q", line)
					return
				}
				status = false
				if len(line) <= 2 {
					break
				}
			}
			if _, err := br.Discard(100); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
