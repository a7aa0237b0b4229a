package proxy

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestH2AccessLogAndRecorder: an HTTP/2 request's access-log line has the
// type h2, the TLS protocol and cipher, the client's SNI, the request line
// with HTTP/2.0, and the recorder gets its response.
func TestH2AccessLogAndRecorder(t *testing.T) {
	var log syncBuffer
	rec := &recordSink{}
	l := h2Proxy(t, Options{AccessLog: &log, Recorder: rec}, echoHandler())
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com", MinVersion: tls.VersionTLS13}}}
	res, err := c.Get(l.URL() + "/logged?q=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var line string
	eventually(t, 2*time.Second, func() bool {
		line = log.String()
		return strings.Contains(line, "/logged")
	}, "the access-log line")
	for _, want := range []string{"h2 ", `"GET https://` + l.Addr() + `/logged?q=1 HTTP/2.0"`,
		" TLS_AES_128_GCM_SHA256 TLSv1.3 ", `"www.example.com"`, " 200 200 "} {
		if !strings.Contains(line, want) {
			t.Errorf("access-log line lacks %q:\n%s", want, line)
		}
	}
	if !strings.HasPrefix(line, "h2 ") {
		t.Errorf("access-log line's type is not h2:\n%s", line)
	}
	eventually(t, 2*time.Second, func() bool { return len(rec.all()) == 1 }, "one record")
	if r := rec.all()[0]; r.StatusCode != 200 || r.TargetStatusCode != 200 {
		t.Fatalf("recorded %+v; want 200 from the target", r)
	}
}

// TestH2TooManyForwardedForIs463: the ALB's 463 over HTTP/2 too; the
// request never reaches the target, and the connection is told to go
// away (GOAWAY) as an HTTP/1.1 one is closed.
func TestH2TooManyForwardedForIs463(t *testing.T) { everyH2Path(t, testH2TooManyForwardedForIs463) }

func testH2TooManyForwardedForIs463(t *testing.T, base Options) {
	st := startSeenTarget(t)
	l := rulesProxy(t, base, "HTTPS", st)
	c := dialH2(t, l)
	addrs := strings.TrimSuffix(strings.Repeat("10.0.0.1, ", 30), ", ")
	c.headers(1, true, get2("/thirty", "x-forwarded-for", addrs)...)
	if status, _, _ := c.response(1); status != 200 {
		t.Fatalf("30 addresses: %d; want 200", status)
	}
	c.headers(3, true, get2("/thirty-one", "x-forwarded-for", addrs, "x-forwarded-for", "10.0.0.2")...)
	if status, _, _ := c.response(3); status != 463 {
		t.Fatalf("31 addresses in two fields: %d; want 463", status)
	}
	if base.DisableServerLoop {
		// net/http's server closes the connection.
		if !c.closed() {
			t.Fatal("the connection stayed open after a 463")
		}
	} else if code := c.goneAway(); code != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v after a 463; want NO_ERROR", code)
	}
	for _, s := range st.seen() {
		if strings.Contains(s, "thirty-one") {
			t.Fatal("a request with 31 forwarded addresses reached the target")
		}
	}
}

// TestH2StalledBodyIs408: an HTTP/2 client that stops sending its body
// within the idle timeout gets the ALB's 408, recorded as the load
// balancer's, as on every other path (TestStalledBodyIs408).
func TestH2StalledBodyIs408(t *testing.T) {
	t.Parallel()
	everyH2Path(t, testH2StalledBodyIs408)
}

func testH2StalledBodyIs408(t *testing.T, base Options) {
	st := startSeenTarget(t)
	rec := &recordSink{}
	o := base
	o.IdleTimeout, o.Recorder = 400*time.Millisecond, rec
	l := rulesProxy(t, o, "HTTPS", st)
	c := dialH2(t, l)
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/upload", "content-length", "10")
	_ = c.fr.WriteData(1, false, []byte("abc"))
	if status, _, _ := c.response(1); status != http.StatusRequestTimeout {
		t.Fatalf("a stalled body: %d; want 408", status)
	}
	eventually(t, 2*time.Second, func() bool { return len(rec.all()) == 1 }, "one record")
	if r := rec.all()[0]; r.StatusCode != 408 || r.TargetStatusCode != 0 {
		t.Fatalf("recorded (%d, %d); want (408, 0)", r.StatusCode, r.TargetStatusCode)
	}
}

// TestH2ClientResetAbortsTheTargetRequest: a stream the client resets
// while its target works is aborted there too (its connection to the
// target closed), as when an HTTP/1.1 client leaves.
func TestH2ClientResetAbortsTheTargetRequest(t *testing.T) {
	gone, arrived := make(chan struct{}), make(chan struct{}, 1)
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			return
		}
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(5 * time.Second):
		}
	}))
	c := dialH2(t, l)
	c.headers(1, true, get2("/slow")...)
	waitFor(t, arrived, "the request at the target")
	_ = c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	waitFor(t, gone, "the target's request cancelled")
	c.headers(3, true, get2("/after")...)
	if status, _, _ := c.response(3); status != 200 {
		t.Fatalf("a request after the reset: %d", status)
	}
}

// TestH2Shutdown: at shutdown an HTTP/2 client gets GOAWAY, its request
// in flight is answered, and then the connection closes.
func TestH2Shutdown(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = w.Write([]byte("done"))
	}))
	p := startProxy(t, Options{}, Groups{"g": newTG(t, "g", nil, a)},
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("g")})
	c := dialH2(t, p.Listeners()[0])
	c.headers(1, true, get2("/inflight")...)
	waitFor(t, arrived, "the request at the target")
	var stopped atomic.Bool
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- p.Shutdown(ctx)
		stopped.Store(true)
	}()
	if code := c.goneAway(); code != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v at shutdown; want NO_ERROR", code)
	}
	if stopped.Load() {
		t.Fatal("shutdown returned with a request in flight")
	}
	close(release)
	if status, body, _ := c.response(1); status != 200 || body != "done" {
		t.Fatalf("the request in flight: %d %q; want 200 done", status, body)
	}
	if err := waitFor(t, shut, "shutdown"); err != nil {
		t.Fatal(err)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open after shutdown")
	}
}

// TestH2ExpectContinue: a client that waits for 100 Continue before its
// body gets it once the body is wanted, and then its answer.
func TestH2ExpectContinue(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	c := dialH2(t, l)
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/post",
		"content-length", "5", "expect", "100-continue")
	f := c.next(func(f http2.Frame) bool { return f.Header().StreamID == 1 })
	if h, ok := f.(*http2.MetaHeadersFrame); !ok || h.PseudoValue("status") != "100" || h.StreamEnded() {
		t.Fatalf("first frame of the answer: %v; want HEADERS with :status 100", f)
	}
	_ = c.fr.WriteData(1, true, []byte("hello"))
	if status, body, _ := c.response(1); status != 200 || !strings.HasPrefix(body, "POST HTTP/1.1 https 5 ") {
		t.Fatalf("after 100 Continue: %d %q", status, body)
	}
}

// TestH2FrameAndStreamStates: a frame larger than the 16 K offered is a
// connection error (FRAME_SIZE_ERROR, RFC 9113 section 4.2); HEADERS on a
// stream whose request is complete is a stream error (STREAM_CLOSED,
// section 5.1).
func TestH2FrameAndStreamStates(t *testing.T) {
	release := make(chan struct{})
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-release
		}
	}))
	defer close(release)
	c := dialH2(t, l)
	c.headers(1, true, get2("/wait")...)
	c.headers(1, true, get2("/again")...)
	if _, _, code := c.response(1); code != http2.ErrCodeStreamClosed {
		t.Fatalf("HEADERS on a half-closed stream: reset %v; want STREAM_CLOSED", code)
	}
	c.headers(3, false, ":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/big")
	_ = c.fr.WriteData(3, true, make([]byte, 20000))
	if code := c.goneAway(); code != http2.ErrCodeFrameSize {
		t.Fatalf("a 20,000-byte DATA frame: GOAWAY %v; want FRAME_SIZE_ERROR", code)
	}
}

// TestH2IdleTimeout: a target that never answers gets the client a 504
// on its stream, though the connection's reader saw nothing for the idle
// timeout meanwhile (the stream was open); then the connection, idle with
// no stream open, is told to go away and closed.
func TestH2IdleTimeout(t *testing.T) {
	t.Parallel()
	l := h2Proxy(t, Options{IdleTimeout: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/never" {
			<-r.Context().Done()
		}
	}))
	for range 3 {
		c := dialH2(t, l)
		c.headers(1, true, get2("/never")...)
		if status, _, code := c.response(1); status != http.StatusGatewayTimeout {
			t.Fatalf("a target that never answers: %d (reset %v); want 504", status, code)
		}
		start := time.Now()
		if code := c.goneAway(); code != http2.ErrCodeNo {
			t.Fatalf("idle: GOAWAY %v; want NO_ERROR", code)
		}
		if !c.closed() {
			t.Fatal("the idle connection stayed open")
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("closed %v after the last response; want the idle timeout (300 ms, less a tenth)", d)
		}
	}
}
