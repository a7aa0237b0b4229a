package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
)

// everyPath runs a request-rule test on every listener and data path a
// request can take: plain HTTP and HTTPS (HTTP/1.1 over TLS), each through
// the connection loop, through net/http with package upstream and with
// ReverseProxy. The same request must meet the same rule on each.
func everyPath(t *testing.T, test func(t *testing.T, base Options, protocol string)) {
	eachHTTPPath(t, func(t *testing.T, base Options) { test(t, base, "HTTP") })
	t.Run("https-loop", func(t *testing.T) { test(t, Options{}, "HTTPS") })
	t.Run("https-upstream", func(t *testing.T) { test(t, Options{DisableServerLoop: true}, "HTTPS") })
	t.Run("https-reverseproxy", func(t *testing.T) { test(t, Options{DisableFastPath: true}, "HTTPS") })
}

// everyH2Path runs a request-rule test on both HTTP/2 paths of an HTTPS
// listener: the connection loop's HTTP/2 server (h2conn.go) and net/http's
// (the loop off). HTTP/1's framing rules (smuggling, obs-fold) have no
// HTTP/2 form; the rules that do (limits, 463, 408, malformed requests,
// h2_test.go and h2rules_test.go) meet both.
func everyH2Path(t *testing.T, test func(t *testing.T, base Options)) {
	t.Run("h2-loop", func(t *testing.T) { test(t, Options{}) })
	t.Run("h2-nethttp", func(t *testing.T) { test(t, Options{DisableServerLoop: true}) })
}

// seenTarget is a target that records the request line of every request
// it gets and answers "ok".
type seenTarget struct {
	*backend
	mu    sync.Mutex
	lines []string
}

func startSeenTarget(t *testing.T) *seenTarget {
	st := &seenTarget{}
	st.backend = startBackend(t, "127.0.0.2", "seen", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		st.mu.Lock()
		st.lines = append(st.lines, r.Method+" "+r.RequestURI+" host="+r.Host+" cl="+r.Header.Get("Content-Length"))
		st.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	return st
}

func (st *seenTarget) seen() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.lines...)
}

// rulesProxy is a proxy with one listener of protocol forwarding to st.
func rulesProxy(t *testing.T, base Options, protocol string, st *seenTarget) *Listener {
	t.Helper()
	p := startProxy(t, fastPath(base, base), Groups{"g": newTG(t, "g", nil, st.backend)},
		config.Listener{Protocol: protocol, DefaultAction: forwardTo("g")})
	return p.Listeners()[0]
}

// dialListener opens a raw connection to l (TLS for HTTPS, offering only
// HTTP/1.1).
func dialListener(t *testing.T, l *Listener) *rawConn {
	t.Helper()
	if l.Protocol() != "HTTPS" {
		return dialRaw(t, l.Addr())
	}
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", l.Addr(),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// exercise sends one ordinary request, so that the loop variant has served
// one (startProxy checks it did).
func exercise(t *testing.T, l *Listener) {
	t.Helper()
	c := dialListener(t, l)
	c.send("GET /ordinary HTTP/1.1\r\nHost: h\r\n\r\n")
	if res, body := c.read("GET"); res.StatusCode != 200 || body != "ok" {
		t.Fatalf("ordinary request: %d %q", res.StatusCode, body)
	}
}

// The request-smuggling input of the issue: Content-Length and
// Transfer-Encoding together, a chunked body that ends at once, and a second
// request where a Content-Length reader would still be reading the body.
const smuggle = "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo?SMUGGLED HTTP/1.1\r\nHost: a\r\n\r\n"

func TestSmugglingNeverReachesATarget(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		for _, mode := range []desync.Mode{desync.Monitor, desync.Defensive, desync.Strictest} {
			for _, target := range []string{"/echo", "http://a/echo"} {
				t.Run(mode.String()+" "+target, func(t *testing.T) {
					st := startSeenTarget(t)
					o := base
					o.DesyncMode = mode
					l := rulesProxy(t, o, protocol, st)
					exercise(t, l)
					c := dialListener(t, l)
					c.send(strings.Replace(smuggle, "%s", target, 1))
					res, _ := c.read("POST")
					want := 200
					if mode == desync.Strictest {
						want = 400
					}
					if res.StatusCode != want || !res.Close {
						t.Fatalf("got %d (close %v); want %d and the connection closed", res.StatusCode, res.Close, want)
					}
					if !c.closed() {
						t.Fatal("the connection stayed open after a request with both Content-Length and Transfer-Encoding")
					}
					seen := st.seen()
					for _, s := range seen {
						if strings.Contains(s, "SMUGGLED") {
							t.Fatalf("the smuggled request reached the target: %q", seen)
						}
					}
					if want == 200 && (len(seen) != 2 || !strings.HasPrefix(seen[1], "POST /echo ") || !strings.HasSuffix(seen[1], " cl=")) {
						t.Fatalf("target saw %q; want the ordinary GET, then one POST /echo without Content-Length", seen)
					}
				})
			}
		}
	})
}

func TestRefusedOnEveryPath(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		l := rulesProxy(t, base, protocol, st)
		exercise(t, l)
		for _, tc := range []struct {
			name, req string
			status    int
		}{
			{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
			{"obs-fold, absolute-form", "GET http://h/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
			{"obs-fold, OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
			{"obs-fold, HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
			{"differing Content-Length, absolute-form", "POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
			{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400},
			{"request line over 16 K", "GET /" + strings.Repeat("a", 17<<10) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
			{"a header field over 16 K", "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + strings.Repeat("a", 17<<10) + "\r\n\r\n", 431},
			{"a head over 64 K", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 70) + "\r\n", 431},
			{"HTTP/3.0 (BadVersion, Severe: blocked)", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(st.seen())
				c := dialListener(t, l)
				c.send(tc.req)
				res, _ := c.read("GET")
				if res.StatusCode != tc.status || !res.Close {
					t.Fatalf("got %d (close %v); want %d and the connection closed", res.StatusCode, res.Close, tc.status)
				}
				if !c.closed() {
					t.Fatal("connection left open after a refusal")
				}
				if after := st.seen(); len(after) != before {
					t.Fatalf("a refused request reached the target: %q", after[before:])
				}
			})
		}
	})
}

func TestHTTP09IsRefusedAtOnce(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		o := base
		o.IdleTimeout = 30 * time.Second
		st := startSeenTarget(t)
		l := rulesProxy(t, o, protocol, st)
		exercise(t, l)
		c := dialListener(t, l)
		start := time.Now()
		c.send("GET /\r\n")
		res, _ := c.read("GET")
		if res.StatusCode != 400 || !res.Close || time.Since(start) > 3*time.Second {
			t.Fatalf("got %d (close %v) after %v; want 400 at once, and the connection closed", res.StatusCode, res.Close, time.Since(start))
		}
	})
}

func TestEmptyLinesBeforeARequestAreSkipped(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		l := rulesProxy(t, base, protocol, st)
		exercise(t, l)
		c := dialListener(t, l)
		c.send("\r\nGET /one HTTP/1.1\r\nHost: h\r\n\r\n")
		if res, body := c.read("GET"); res.StatusCode != 200 || body != "ok" {
			t.Fatalf("after one empty line: %d %q; want 200", res.StatusCode, body)
		}
		// A client that ends a body with an extra CRLF, as some old ones do.
		c.send("POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab\r\nGET /three HTTP/1.1\r\nHost: h\r\n\r\n")
		for _, m := range []string{"POST", "GET"} {
			if res, body := c.read(m); res.StatusCode != 200 || body != "ok" {
				t.Fatalf("%s after a stray CRLF: %d %q; want 200", m, res.StatusCode, body)
			}
		}
	})
}

func TestTooManyForwardedForIs463(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		l := rulesProxy(t, base, protocol, st)
		exercise(t, l)
		addrs := func(n int) string {
			a := make([]string, n)
			for i := range a {
				a[i] = "10.0.0.1"
			}
			return strings.Join(a, ", ")
		}
		c := dialListener(t, l)
		c.send("GET /thirty HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: " + addrs(30) + "\r\n\r\n")
		if res, _ := c.read("GET"); res.StatusCode != 200 {
			t.Fatalf("30 addresses: %d; want 200", res.StatusCode)
		}
		c.send("GET /thirty-one HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: " + addrs(20) + "\r\nX-Forwarded-For: " + addrs(11) + "\r\n\r\n")
		if res, _ := c.read("GET"); res.StatusCode != 463 {
			t.Fatalf("31 addresses in two fields: %d; want 463", res.StatusCode)
		}
		for _, s := range st.seen() {
			if strings.Contains(s, "thirty-one") {
				t.Fatalf("a request with 31 forwarded addresses reached the target")
			}
		}
	})
}

func TestHTTP10WithoutHostGetsTheListenersName(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		l := rulesProxy(t, base, protocol, st)
		exercise(t, l)
		c := dialListener(t, l)
		c.send("GET /old HTTP/1.0\r\n\r\n")
		if res, _ := c.read("GET"); res.StatusCode != 200 {
			t.Fatalf("HTTP/1.0 without Host: %d; want 200", res.StatusCode)
		}
		want := "GET /old host=" + l.Addr() + " cl="
		if seen := st.seen(); seen[len(seen)-1] != want {
			t.Fatalf("target saw %q; want %q", seen[len(seen)-1], want)
		}
	})
}

// TestStalledBodyIs408: a client that stops sending its body within the
// idle timeout gets the ALB's 408, recorded as the load balancer's 4xx, not
// as the target's failure.
func TestStalledBodyIs408(t *testing.T) {
	// Waits on timeouts: runs beside the other waiting tests.
	t.Parallel()
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		rec := &recordSink{}
		o := base
		o.IdleTimeout = 400 * time.Millisecond
		o.Recorder = rec
		l := rulesProxy(t, o, protocol, st)
		exercise(t, l)
		for _, framing := range []string{"Content-Length: 10\r\n\r\nabc", "Transfer-Encoding: chunked\r\n\r\na\r\nabc"} {
			c := dialListener(t, l)
			c.send("POST /upload HTTP/1.1\r\nHost: h\r\n" + framing)
			res, _ := c.read("POST")
			if res.StatusCode != http.StatusRequestTimeout || !res.Close {
				t.Fatalf("%q: got %d (close %v); want 408 and the connection closed", framing, res.StatusCode, res.Close)
			}
		}
		var got []int
		recorded := func() bool {
			got = got[:0]
			for _, r := range rec.all() {
				if r.StatusCode != 200 {
					got = append(got, r.StatusCode, r.TargetStatusCode)
				}
			}
			return len(got) == 4 && got[0] == 408 && got[1] == 0 && got[2] == 408 && got[3] == 0
		}
		eventually(t, 2*time.Second, func() bool { return recorded() || len(got) >= 4 }, "two records")
		if !recorded() {
			t.Fatalf("recorded (status, target status) %v; want (408, 0) twice", got)
		}
	})
}

// TestAccessLogClassification: the access log's classification and
// classification_reason fields, as the ALB fills them, on every path;
// a blocked request is logged too.
func TestAccessLogClassification(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		var log syncBuffer
		o := base
		o.AccessLog = &log
		l := rulesProxy(t, o, protocol, st)
		exercise(t, l)
		for _, tc := range []struct {
			req    string
			status int
			fields string
		}{
			{"GET /compliant HTTP/1.1\r\nHost: h\r\n\r\n", 200, `"-" "-"`},
			{"GET /zero HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 200, `"Acceptable" "GetHeadZeroContentLength"`},
			{"POST /both HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, `"Ambiguous" "BothTeClPresent"`},
			{"POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, `"Severe" "MultipleContentLength"`},
		} {
			c := dialListener(t, l)
			c.send(tc.req)
			if res, _ := c.read("GET"); res.StatusCode != tc.status {
				t.Fatalf("%q: %d; want %d", tc.req, res.StatusCode, tc.status)
			}
			path := strings.Fields(tc.req)[1]
			line := func() string {
				for _, ln := range strings.Split(log.String(), "\n") {
					if strings.Contains(ln, path+" HTTP/1.1") {
						return ln
					}
				}
				return ""
			}
			eventually(t, 2*time.Second, func() bool { return line() != "" }, "the access-log line of "+path)
			if got := line(); !strings.Contains(got, " "+tc.fields+" ") {
				t.Fatalf("%s: log line %q lacks %s", path, got, tc.fields)
			}
		}
	})
}

// TestHTTP2HeaderLimit: HTTP/2 requests on an HTTPS listener meet the same
// 64 K bound on their header list as HTTP/1.x heads.
func TestHTTP2HeaderLimit(t *testing.T) { everyH2Path(t, testHTTP2HeaderLimit) }

func testHTTP2HeaderLimit(t *testing.T, base Options) {
	st := startSeenTarget(t)
	l := rulesProxy(t, base, "HTTPS", st)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest(http.MethodGet, l.URL()+"/small", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 200 {
		t.Fatalf("small request: %s %d; want HTTP/2 200", res.Proto, res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, l.URL()+"/big", nil)
	for i := range 70 {
		req.Header.Set("X-Big-"+strings.Repeat("a", i%5)+string(rune('a'+i%26))+strings.Repeat("b", i/26), strings.Repeat("v", 1000))
	}
	res, err = c.Do(req)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("70 K of headers over HTTP/2: %d; want 431", res.StatusCode)
		}
	}
	for _, s := range st.seen() {
		if strings.HasPrefix(s, "GET /big ") {
			t.Fatal("a request over the header limit reached the target")
		}
	}
}
