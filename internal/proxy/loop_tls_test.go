package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestHTTPSOnTheLoop: an HTTPS listener serves HTTP/1.1 connections on the
// connection loop, with the forwarded headers of an HTTPS listener, and
// serves HTTP/2 (h2conn.go, on the loop too) to clients offering h2.
func TestHTTPSOnTheLoop(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" "+r.Header.Get("X-Forwarded-Proto")+" "+r.Header.Get("X-Forwarded-Port"))
	}))
	p := startProxy(t, Options{}, Groups{"g": newTG(t, "g", nil, a)},
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("g")})
	l := p.Listeners()[0]
	want := "HTTP/1.1 https " + l.port

	c := dialListener(t, l)
	for range 3 {
		c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if res, body := c.read("GET"); res.StatusCode != 200 || body != want {
			t.Fatalf("HTTP/1.1 over TLS: %d %q; want 200 %q", res.StatusCode, body, want)
		}
	}
	if l.loop.served.Load() != 1 || l.loop.handedOff.Load() != 0 {
		t.Fatalf("loop served %d connections, handed %d to net/http; want the one connection served by the loop",
			l.loop.served.Load(), l.loop.handedOff.Load())
	}

	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	got := get(t, h2, l.URL()+"/")
	if got.code != 200 || got.body != "HTTP/1.1 https "+l.port {
		t.Fatalf("HTTP/2 client: %d %q; want 200 and the target's HTTP/1.1 answer", got.code, got.body)
	}
	if l.loop.h2.Load() != 1 {
		t.Fatalf("%d HTTP/2 connections; want 1", l.loop.h2.Load())
	}
}

// TestHTTP2RequestsTakeTheRelay: an HTTP/2 request to a plain-HTTP target
// is relayed by package upstream, as HTTP/1.1 requests are, not through
// ReverseProxy and net/http's Transport; with and without a body.
func TestHTTP2RequestsTakeTheRelay(t *testing.T) {
	var p *Proxy
	viaRP := make(chan int, 2)
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.cutMu.Lock()
		viaRP <- len(p.viaReverseProxy)
		p.cutMu.Unlock()
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.Proto+" "+string(body))
	}))
	p = startProxy(t, Options{}, Groups{"g": newTG(t, "g", nil, a)},
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("g")})
	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	url := p.Listeners()[0].URL() + "/"
	for _, tc := range []struct{ method, body string }{{"GET", ""}, {"POST", "hello"}} {
		req, _ := http.NewRequest(tc.method, url, nil)
		if tc.body != "" {
			req, _ = http.NewRequest(tc.method, url, bytes.NewReader([]byte(tc.body)))
		}
		res, err := h2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := tc.method + " HTTP/1.1 " + tc.body; res.StatusCode != 200 || string(body) != want || res.Proto != "HTTP/2.0" {
			t.Fatalf("%s over HTTP/2: %d %s %q; want 200 HTTP/2.0 %q", tc.method, res.StatusCode, res.Proto, body, want)
		}
		if n := <-viaRP; n != 0 {
			t.Fatalf("%s over HTTP/2 went through ReverseProxy (%d in flight there); want package upstream's relay", tc.method, n)
		}
	}
}

// TestHTTPSSessionResumption: a client that comes back with the session
// ticket of its first connection resumes it, skipping the certificate's
// signature (RFC 8446 section 2.2), on the loop's TLS connections.
func TestHTTPSSessionResumption(t *testing.T) {
	p := startProxy(t, Options{}, Groups{}, config.Listener{Protocol: "HTTPS", DefaultAction: fixed("200", "ok")})
	l := p.Listeners()[0]
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(4)
		for i, wantResumed := range []bool{false, true} {
			nc, err := tls.Dial("tcp", l.Addr(), &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version,
				ClientSessionCache: cache, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			c := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
			// A TLS 1.3 ticket comes after the handshake: a request and
			// its answer make sure it has been read.
			c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			if res, body := c.read("GET"); res.StatusCode != 200 || body != "ok" {
				t.Fatalf("%d %q", res.StatusCode, body)
			}
			if got := nc.ConnectionState().DidResume; got != wantResumed {
				t.Fatalf("%s connection %d: resumed %v, want %v", tlsVersionName(version), i+1, got, wantResumed)
			}
			_ = nc.Close()
		}
	}
}

// BenchmarkConnectionLoopTLS is BenchmarkConnectionLoop over TLS 1.3 (the
// listener's self-signed P-256 certificate, AES-128-GCM): the HTTPS
// path's per-request cost on kept-alive connections, handshakes excluded.
func BenchmarkConnectionLoopTLS(b *testing.B) {
	benchConnectionLoop(b, "HTTPS", func(addr string) (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	})
}

var _ net.Conn = (*rawNetConn)(nil)

// TestTargetTLSNegotiationErrors: a target of an HTTPS target group that
// does not complete the TLS handshake (here it answers in plain HTTP) gets
// the client a 502 and counts in TargetTLSNegotiationErrorCount, not in
// TargetConnectionErrorCount (its TCP connection was made).
func TestTargetTLSNegotiationErrors(t *testing.T) {
	plain := startBackend(t, "127.0.0.2", "plain", named("plain"))
	tg := config.DefaultTargetGroup
	tg.Name = "g"
	tg.Protocol = "HTTPS"
	g := newTGFor(t, tg, plain.target)
	// The loop hands requests to HTTPS groups to net/http: without it,
	// the same path.
	p := startProxy(t, Options{DisableServerLoop: true}, Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	if got := get(t, client(), p.Listeners()[0].URL()+"/"); got.code != http.StatusBadGateway {
		t.Fatalf("got %d %q; want the load balancer's 502", got.code, got.body)
	}
	s := p.Stats()
	addr := plain.target.IP + ":" + strconv.Itoa(plain.target.Port)
	if s.TargetTLSNegotiationErrors[addr] != 1 || len(s.TargetConnectionErrors) != 0 {
		t.Fatalf("TLS negotiation errors %v, connection errors %v; want one TLS error for %s and no connection error",
			s.TargetTLSNegotiationErrors, s.TargetConnectionErrors, addr)
	}
}

// TestHTTP2Attribute: routing.http2.enabled false makes an HTTPS listener
// offer HTTP/1.1 only to new connections; true again, HTTP/2.
func TestHTTP2Attribute(t *testing.T) {
	p := startProxy(t, Options{}, Groups{}, config.Listener{Protocol: "HTTPS", DefaultAction: fixed("200", "ok")})
	l := p.Listeners()[0]
	proto := func() string {
		nc, err := tls.Dial("tcp", l.Addr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		return nc.ConnectionState().NegotiatedProtocol
	}
	if got := proto(); got != "h2" {
		t.Fatalf("by default: ALPN %q; want h2", got)
	}
	for _, tc := range []struct {
		disabled bool
		want     string
	}{{true, "http/1.1"}, {false, "h2"}} {
		if err := p.SetAttributes(Attributes{HTTP2Disabled: tc.disabled}); err != nil {
			t.Fatal(err)
		}
		if got := proto(); got != tc.want {
			t.Fatalf("HTTP2Disabled %v: ALPN %q; want %q", tc.disabled, got, tc.want)
		}
	}
	exercise(t, l)
}

// TestHTTPSConnectionCounts: on an HTTPS listener, a client that does not
// speak TLS counts in ClientTLSNegotiationErrorCount, and a kept-alive
// HTTP/1.1 connection on the loop counts in ActiveConnectionCount while it
// is open.
func TestHTTPSConnectionCounts(t *testing.T) {
	p := startProxy(t, Options{}, Groups{}, config.Listener{Protocol: "HTTPS", DefaultAction: fixed("200", "ok")})
	l := p.Listeners()[0]
	plain := dialRaw(t, l.Addr())
	plain.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if !plain.closed() {
		t.Fatal("plain HTTP to an HTTPS listener: the connection stayed open")
	}
	eventually(t, 2*time.Second, func() bool { return p.Stats().ClientTLSNegotiationErrors == 1 }, "one client TLS negotiation error")

	c := dialListener(t, l)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	c.read("GET")
	if s := p.Stats(); s.ActiveConnections != 1 || s.NewConnections != 2 {
		t.Fatalf("active %d, new %d; want 1 active (the kept-alive one), 2 new", s.ActiveConnections, s.NewConnections)
	}
	_ = c.nc.Close()
	eventually(t, 2*time.Second, func() bool { return p.Stats().ActiveConnections == 0 }, "no active connection once the client closed")
}

// BenchmarkConnectionLoopTLSPerRequest is bench/up.sh's close row: each
// request on a new TLS 1.3 connection, which resumes the session its
// client was given before, and closes after the response. The client's
// allocations count too (crypto/tls's, about half); -memprofile tells the
// listener's apart.
func BenchmarkConnectionLoopTLSPerRequest(b *testing.B) {
	t1, t2 := rawBackend(b, "127.0.0.2"), rawBackend(b, "127.0.0.3")
	tg := config.DefaultTargetGroup
	tg.Name = "bench"
	g := newTGFor(b, tg, t1, t2)
	p := startProxy(b, Options{}, Groups{"bench": g}, config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("bench")})
	addr := p.Listeners()[0].Addr()
	req := []byte("GET /index.html HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: wrk\r\nConnection: close\r\n\r\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// X25519 alone, as wrk's OpenSSL 3.0 offers (Go's client would
		// offer X25519MLKEM768 first).
		cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
			ClientSessionCache: tls.NewLRUClientSessionCache(1), CurvePreferences: []tls.CurveID{tls.X25519}}
		buf := make([]byte, 4096)
		for pb.Next() {
			nc, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := nc.Write(req); err != nil {
				b.Error(err)
				return
			}
			// The response, to the close: a head, then the targets' body.
			var got []byte
			for {
				n, err := nc.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			_ = nc.Close()
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 ")) {
				b.Errorf("response %q", got)
				return
			}
		}
	})
}
