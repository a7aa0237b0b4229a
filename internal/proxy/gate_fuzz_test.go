package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
)

// fuzzSeeds are request streams for the gate's fuzzers: ordinary,
// pipelined, chunked, refused and smuggling ones.
var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /n HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\nGET /n HTTP/1.1\r\nHost: h\r\n\r\n",
	strings.Replace(smuggle, "%s", "http://a/echo", 1),
	strings.Replace(smuggle, "%s", "/echo", 1),
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
	"\r\nGET / HTTP/1.0\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nabcde\r\n0\r\n\r\n",
	"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.1\r\nHost: h\r\n\r\n",
}

// streamConn is a net.Conn whose reads come from a byte stream.
type streamConn struct {
	net.Conn
	r io.Reader
}

func (s streamConn) Read(p []byte) (int, error) { return s.r.Read(p) }

// FuzzGate feeds any byte stream through the gate and reads what it
// releases as net/http's server reads it. Every request net/http can read
// must be one the gate judged (in order), read as the judgement read it
// (method, target, Host, body framing); a refusal is the stand-in and ends
// the stream; nothing is read after a request passed only on a closed
// connection; no field carries a character that could split a header.
func FuzzGate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzGateBody)
}

var fuzzGateProxy = newProxy(Options{})

func fuzzGateBody(t *testing.T, in []byte) {
	{
		p := fuzzGateProxy
		g := p.newGatedConn(streamConn{r: bytes.NewReader(in)}, "TID_fuzz", nil)
		released, _ := io.ReadAll(io.LimitReader(g, 1<<20))
		br := bufio.NewReader(bytes.NewReader(released))
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return // net/http answers 400 and closes: nothing more is read
			}
			if len(g.verdicts) == 0 {
				t.Fatalf("request %d (%s %s) read from %q was never judged", i, req.Method, req.RequestURI, in)
			}
			v := g.verdicts[0]
			g.verdicts = g.verdicts[1:]
			if v.status != 0 {
				if req.Host != "elbow.refused" || len(g.verdicts) != 0 {
					t.Fatalf("refusal %d of %q: net/http read %s %s host %q, %d verdicts after", i, in, req.Method, req.RequestURI, req.Host, len(g.verdicts))
				}
				if rest, _ := io.ReadAll(br); len(rest) > 0 {
					t.Fatalf("bytes released after a refusal in %q: %q", in, rest)
				}
				return
			}
			// net/http takes Host from an absolute-form target's authority
			// (RFC 9112 section 3.2.2); only net/http routes such requests.
			originForm := strings.HasPrefix(v.target, "/")
			if req.Method != v.method || req.RequestURI != v.target || originForm && req.Host != v.host {
				t.Fatalf("%q: request %d judged as %s %s host %q, read as %s %s host %q", in, i, v.method, v.target, v.host, req.Method, req.RequestURI, req.Host)
			}
			if v.desync.Class >= desync.Ambiguous && !v.closes() && v.action != desync.Block {
				t.Fatalf("%q: request %d is %s but passes on an open connection", in, i, v.desync.Class)
			}
			for k, vs := range req.Header {
				for _, val := range vs {
					if strings.ContainsAny(k, "\r\n: \t") || strings.ContainsAny(val, "\r\n\x00") {
						t.Fatalf("%q: header %q: %q passed", in, k, val)
					}
				}
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			if v.closes() {
				if rest, _ := io.ReadAll(br); len(rest) > 0 {
					t.Fatalf("%q: bytes released after a request passed only on a closed connection: %q", in, rest)
				}
				return
			}
			if v.hold {
				return // what follows an upgrade is the handler's to release
			}
		}
	}
}

// fuzzTarget records the request lines it gets.
type fuzzTarget struct {
	mu    sync.Mutex
	lines []string
}

func (ft *fuzzTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	ft.mu.Lock()
	ft.lines = append(ft.lines, r.Method+" "+r.URL.Path)
	ft.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// settle waits until no request has come for 20 ms (net/http may still
// be forwarding a pipelined request when it closes a half-closed client
// connection), then takes the requests.
func (ft *fuzzTarget) settle() []string {
	n := -1
	for range 100 {
		ft.mu.Lock()
		m := len(ft.lines)
		ft.mu.Unlock()
		if m == n {
			break
		}
		n = m
		time.Sleep(20 * time.Millisecond)
	}
	return ft.take()
}

func (ft *fuzzTarget) take() []string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	l := ft.lines
	ft.lines = nil
	return l
}

// FuzzListeners sends any byte stream to real listeners served by net/http
// (plain HTTP with the loop off, and HTTPS), with both target paths, and
// checks that the target gets only requests the gate admits from that
// stream: no request reaches a target that the gate did not judge and pass.
func FuzzListeners(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// One target per listener, so that the four run at once.
	type checked struct {
		l  *Listener
		ft *fuzzTarget
	}
	var all []checked
	for _, o := range []Options{{DisableServerLoop: true}, {DisableFastPath: true}} {
		for _, protocol := range []string{"HTTP", "HTTPS"} {
			ft := &fuzzTarget{}
			ln, err := net.Listen("tcp", "127.0.0.2:0")
			if err != nil {
				f.Fatal(err)
			}
			srv := &http.Server{Handler: ft}
			go func() { _ = srv.Serve(ln) }()
			f.Cleanup(func() { _ = srv.Close() })
			target := healthcheck.Target{ID: "fuzz", IP: "127.0.0.2", Port: ln.Addr().(*net.TCPAddr).Port}
			o.IdleTimeout = 300 * time.Millisecond
			p := startProxy(f, o, Groups{"g": newTGFor(f, config.DefaultTargetGroup, target)},
				config.Listener{Protocol: protocol, DefaultAction: forwardTo("g")})
			all = append(all, checked{p.Listeners()[0], ft})
		}
	}
	judge := newProxy(Options{})
	f.Fuzz(func(t *testing.T, in []byte) {
		admitted := admittedRequests(judge, in)
		var wg sync.WaitGroup
		errs := make(chan string, len(all))
		for _, c := range all {
			wg.Go(func() {
				c.ft.take()
				nc, err := dialFuzz(c.l)
				if err != nil {
					errs <- err.Error()
					return
				}
				_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
				_, _ = nc.Write(in)
				if cw, ok := nc.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite() // the end of the stream: the listener closes after its answers
				}
				_, _ = io.Copy(io.Discard, nc) // until the listener closes, or its idle timeout
				_ = nc.Close()
				got := c.ft.settle()
				// Each one admitted, as often as admitted. Some may be
				// missing, and the order may differ: the client's
				// half-close aborts a request in flight on net/http, whose
				// bytes may still reach the target after the next one's.
				left := map[string]int{}
				for _, a := range admitted {
					left[a]++
				}
				for _, g := range got {
					if left[g] == 0 {
						errs <- fmt.Sprintf("%s %q: target got %q; the gate admits only %q", c.l.URL(), in, got, admitted)
						return
					}
					left[g]--
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	})
}

func dialFuzz(l *Listener) (net.Conn, error) {
	if l.Protocol() == "HTTPS" {
		return tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", l.Addr(),
			&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	}
	return net.DialTimeout("tcp", l.Addr(), 2*time.Second)
}

// admittedRequests are the requests the gate passes from in, as a target
// sees them (method and path), in order, when no upgrade is accepted (the
// fuzz target never accepts one).
func admittedRequests(p *Proxy, in []byte) []string {
	g := p.newGatedConn(streamConn{r: bytes.NewReader(in)}, "TID_fuzz", nil)
	br := bufio.NewReader(io.LimitReader(g, 1<<20))
	var out []string
	for {
		req, err := http.ReadRequest(br)
		if err != nil || req.Host == "elbow.refused" {
			return out
		}
		out = append(out, req.Method+" "+req.URL.Path)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return out
		}
		if req.Header["Upgrade"] != nil {
			g.release() // answered without upgrading: the next request follows
		}
	}
}
