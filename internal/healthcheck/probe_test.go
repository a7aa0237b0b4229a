package healthcheck

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func settingsFor(path, matcher string, timeout time.Duration) Settings {
	s := EBDefaults()
	s.Path = path
	s.Matcher = MustParseMatcher(matcher)
	s.Timeout = timeout
	return s
}

func targetOf(t *testing.T, addr string) Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return Target{ID: "i-0123456789abcdef0", IP: host, Port: p}
}

// rawServer accepts one connection at a time, hands each to handle, and
// records what it read.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// TestProbeOnTheWire captures the request bytes and checks every header the
// ELB health checker sends and every one it does not.
func TestProbeOnTheWire(t *testing.T) {
	got := make(chan string, 1)
	closedByPeer := make(chan bool, 1)
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		var req strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			req.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		got <- req.String()
		// Answer keep-alive style: the checker, not the server, must close.
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := br.ReadByte()
		closedByPeer <- err != nil && !isTimeout(err)
	})
	tg := targetOf(t, addr)
	r := HTTPProber{}.Probe(context.Background(), tg, settingsFor("/health?full=1", "200", 2*time.Second))
	if !r.Passed() || r.StatusCode != 200 {
		t.Fatalf("probe: passed=%v code=%d reason=%s err=%v", r.Passed(), r.StatusCode, r.Reason, r.Err)
	}
	req := <-got
	want := "GET /health?full=1 HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Connection: close\r\n" +
		"User-Agent: ELB-HealthChecker/2.0\r\n\r\n"
	if req != want {
		t.Errorf("request on the wire:\n%q\nwant\n%q", req, want)
	}
	if strings.Contains(strings.ToLower(req), "x-forwarded") {
		t.Errorf("request carries X-Forwarded-*: %q", req)
	}
	if !<-closedByPeer {
		t.Error("the checker kept the connection open after the check; the ELB checker closes it")
	}
}

// TestProbeHostUsesHealthCheckPort: with a health-check port other than the
// traffic port, Host names the health-check port (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html).
func TestProbeHostUsesHealthCheckPort(t *testing.T) {
	var host atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { host.Store(r.Host) }))
	defer srv.Close()
	hc := targetOf(t, srv.Listener.Addr().String())
	s := settingsFor("/", "200", time.Second)
	s.Port = hc.Port
	traffic := Target{ID: "i-1", IP: hc.IP, Port: 1} // nothing listens on port 1
	if r := (HTTPProber{}).Probe(context.Background(), traffic, s); !r.Passed() {
		t.Fatalf("probe failed: %s %v", r.Reason, r.Err)
	}
	if got, want := host.Load(), srv.Listener.Addr().String(); got != want {
		t.Errorf("Host = %v, want %v", got, want)
	}
}

func TestProbeOutcomes(t *testing.T) {
	hits := atomic.Int32{}
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()

	status := func(code int, hdr ...string) string {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(code)
			w.Write([]byte("Bad Request (400)"))
		})).Listener.Addr().String()
	}
	silent := rawServer(t, func(c net.Conn) { time.Sleep(3 * time.Second); c.Close() })
	reset := rawServer(t, func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0)
		c.Read(make([]byte, 512))
		c.Close()
	})
	malformed := rawServer(t, func(c net.Conn) {
		c.Read(make([]byte, 512))
		c.Write([]byte("HELLO THERE\r\n\r\n"))
		c.Close()
	})
	badStatus := rawServer(t, func(c net.Conn) {
		c.Read(make([]byte, 512))
		c.Write([]byte("HTTP/1.1 99 Odd\r\n\r\n"))
		c.Close()
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	tlsAddr := tlsSrv.Listener.Addr().String()
	plain := status(200)

	cases := []struct {
		name     string
		addr     string
		protocol Protocol
		matcher  string
		code     int
		reason   Reason
		desc     string
	}{
		{"200 passes", plain, ProtocolHTTP, "200", 200, "", ""},
		{"400 mismatches", status(400), ProtocolHTTP, "200", 400, ReasonResponseCodeMismatch, "Health checks failed with these codes: [400]"},
		{"301 not followed", status(301, "Location", "http://"+elsewhere.Listener.Addr().String()+"/"), ProtocolHTTP, "200", 301, ReasonResponseCodeMismatch, "Health checks failed with these codes: [301]"},
		{"301 within 200-301", status(301, "Location", "https://example.com/"), ProtocolHTTP, "200-301", 301, "", ""},
		{"503 mismatches", status(503), ProtocolHTTP, "200-399", 503, ReasonResponseCodeMismatch, "Health checks failed with these codes: [503]"},
		{"no answer times out", silent, ProtocolHTTP, "200", 0, ReasonTimeout, "Request timed out"},
		{"refused fails", refused, ProtocolHTTP, "200", 0, ReasonFailedHealthChecks, "Health checks failed"},
		{"reset fails", reset, ProtocolHTTP, "200", 0, ReasonFailedHealthChecks, "Health checks failed"},
		{"malformed fails", malformed, ProtocolHTTP, "200", 0, ReasonFailedHealthChecks, "Health checks failed"},
		{"status outside HTTP fails", badStatus, ProtocolHTTP, "200", 0, ReasonFailedHealthChecks, "Health checks failed"},
		{"self-signed HTTPS passes", tlsAddr, ProtocolHTTPS, "200", 200, "", ""},
		{"HTTPS check on a plain port fails", plain, ProtocolHTTPS, "200", 0, ReasonFailedHealthChecks, "Health checks failed"},
		{"HTTP check on a TLS port gets Go's 400", tlsAddr, ProtocolHTTP, "200", 400, ReasonResponseCodeMismatch, "Health checks failed with these codes: [400]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := settingsFor("/", tc.matcher, 500*time.Millisecond)
			s.Protocol = tc.protocol
			r := HTTPProber{}.Probe(context.Background(), targetOf(t, tc.addr), s)
			if r.StatusCode != tc.code || r.Reason != tc.reason {
				t.Fatalf("code=%d reason=%q err=%v; want code=%d reason=%q", r.StatusCode, r.Reason, r.Err, tc.code, tc.reason)
			}
			if tc.reason != "" {
				if h := r.Health(); h.State != StateUnhealthy || h.Description != tc.desc {
					t.Errorf("health = %+v, want unhealthy %q", h, tc.desc)
				}
			}
			if tc.reason == ReasonTimeout && (r.Latency < 400*time.Millisecond || r.Latency > 2*time.Second) {
				t.Errorf("timeout after %v, want about the 500ms timeout", r.Latency)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

func TestProbeKeepsFailureEvidence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "csrftoken=x")
		w.WriteHeader(400)
		w.Write([]byte(strings.Repeat("b", 5000)))
	}))
	defer srv.Close()
	r := HTTPProber{}.Probe(context.Background(), targetOf(t, srv.Listener.Addr().String()), settingsFor("/", "200", time.Second))
	if r.Header.Get("Set-Cookie") != "csrftoken=x" || len(r.Body) != BodySnapshotLimit {
		t.Errorf("evidence: header %v, %d body bytes; want the cookie and %d bytes", r.Header, len(r.Body), BodySnapshotLimit)
	}
	if r.Err != nil {
		t.Errorf("a response read in full is not a transport error: %v", r.Err)
	}
}
