package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/config"
)

// echoHandler answers with the request's proto, X-Forwarded-Proto, and
// the length and SHA-256 of its body; /big?n= answers n bytes.
func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			w.Header().Set("Content-Length", strconv.Itoa(n))
			_, _ = w.Write(bigBody(n))
			return
		}
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		_, _ = fmt.Fprintf(w, "%s %s %s %d %s", r.Method, r.Proto, r.Header.Get("X-Forwarded-Proto"), len(b), hex.EncodeToString(sum[:4]))
	})
}

func bigBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// TestH2GetAndPost: golang.org/x/net/http2's client gets answers from the
// loop's HTTP/2 server, relayed as HTTP/1.1 with the HTTPS listener's
// forwarded headers; POST bodies larger than a stream's window arrive
// whole; 100 clients making 3 requests each share one connection.
func TestH2GetAndPost(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	c := h2Client()
	res, err := c.Get(l.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || string(body) != "GET HTTP/1.1 https 0 e3b0c442" {
		t.Fatalf("GET: %s %q; want HTTP/2 and the target's HTTP/1.1 answer", res.Proto, body)
	}
	for _, n := range []int{1, 1000, 300 << 10, 2 << 20} {
		post := bigBody(n)
		sum := sha256.Sum256(post)
		res, err := c.Post(l.URL()+"/post", "application/octet-stream", bytes.NewReader(post))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := fmt.Sprintf("POST HTTP/1.1 https %d %s", n, hex.EncodeToString(sum[:4]))
		if string(body) != want {
			t.Fatalf("POST of %d bytes: %q; want %q", n, body, want)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		if i%3 != 0 {
			continue
		}
		wg.Go(func() {
			for j := i; j < i+3; j++ {
				res, err := c.Get(l.URL() + "/many?" + strconv.Itoa(j))
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !strings.HasPrefix(string(body), "GET HTTP/1.1 https") {
					errs <- fmt.Errorf("request %d: %d %q", j, res.StatusCode, body)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := l.loop.h2.Load(); got != 1 {
		t.Fatalf("%d HTTP/2 connections; want 1", got)
	}
}

// TestH2LargeResponseWithinWindows: a 3 MB response to a client offering a
// 1,000-byte stream window and the default 65,535-byte connection window
// arrives whole, and no DATA frame exceeds either window or the frame size.
func TestH2LargeResponseWithinWindows(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	c := dialH2(t, l, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	const n = 3 << 20
	c.headers(1, true, get2("/big?n="+strconv.Itoa(n))...)
	streamWin, connWin := int64(1000), int64(65535)
	var got bytes.Buffer
	for {
		f := c.next(func(f http2.Frame) bool { return f.Header().StreamID == 1 })
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			t.Fatalf("stream reset: %v", rst.ErrCode)
		}
		d, ok := f.(*http2.DataFrame)
		if !ok {
			continue
		}
		k := int64(len(d.Data()))
		if k > streamWin || k > connWin || k > 16384 {
			t.Fatalf("a DATA frame of %d bytes with windows %d (stream) and %d (connection)", k, streamWin, connWin)
		}
		got.Write(d.Data())
		streamWin -= k
		connWin -= k
		if d.StreamEnded() {
			break
		}
		if streamWin == 0 {
			// The stream's window is granted back a little at a time.
			_ = c.fr.WriteWindowUpdate(1, 1000)
			streamWin += 1000
		}
		if connWin < 16384 {
			_ = c.fr.WriteWindowUpdate(0, uint32(65535-connWin))
			connWin = 65535
		}
	}
	if !bytes.Equal(got.Bytes(), bigBody(n)) {
		t.Fatalf("got %d bytes, not the target's %d", got.Len(), n)
	}
}

// TestH2MalformedRequestsNeverReachATarget: RFC 9113 section 8's rules;
// each malformed request's stream is reset with PROTOCOL_ERROR, the
// target never sees it, and the connection serves the next request.
func TestH2MalformedRequestsNeverReachATarget(t *testing.T) {
	everyH2Path(t, testH2MalformedRequestsNeverReachATarget)
}

func testH2MalformedRequestsNeverReachATarget(t *testing.T, base Options) {
	st := startSeenTarget(t)
	l := rulesProxy(t, base, "HTTPS", st)
	c := dialH2(t, l)
	id := uint32(1)
	for _, tc := range []struct {
		name   string
		fields []string
		body   string
	}{
		{"connection", get2("/bad-connection", "connection", "keep-alive"), ""},
		{"transfer-encoding", get2("/bad-te", "transfer-encoding", "chunked"), ""},
		{"upgrade", get2("/bad-upgrade", "upgrade", "websocket"), ""},
		{"te other than trailers", get2("/bad-te2", "te", "gzip"), ""},
		{"upper-case name", get2("/bad-upper", "X-Upper", "1"), ""},
		{"no :path", []string{":method", "GET", ":scheme", "https", ":authority", "h"}, ""},
		{"no :method", []string{":scheme", "https", ":authority", "h", ":path", "/bad-nomethod"}, ""},
		{"relative :path", get2("bad-relative"), ""},
		{"pseudo after regular", []string{":method", "GET", ":scheme", "https", "x-a", "1", ":path", "/bad-order"}, ""},
		{"unknown pseudo", get2("/bad-pseudo", ":protocol", "x"), ""},
		{"response pseudo", get2("/bad-status", ":status", "200"), ""},
		{"two :path", get2("/bad-dup", ":path", "/bad-dup2"), ""},
		{"two content-lengths", []string{":method", "POST", ":scheme", "https", ":path", "/bad-cl2", "content-length", "1", "content-length", "2"}, "a"},
		{"DATA short of content-length", []string{":method", "POST", ":scheme", "https", ":path", "/bad-short", "content-length", "5"}, "abc"},
		{"DATA past content-length", []string{":method", "POST", ":scheme", "https", ":path", "/bad-long", "content-length", "2"}, "abc"},
		{"CR in a value", get2("/bad-cr", "x-a", "a\rb"), ""},
	} {
		c.headers(id, tc.body == "", tc.fields...)
		if tc.body != "" {
			_ = c.fr.WriteData(id, true, []byte(tc.body))
		}
		status, _, code := c.response(id)
		// RFC 9113 section 8.1.1 lets an intermediary answer a malformed
		// request before it resets the stream: behind net/http's server
		// the answer is 400 (or 460 for a body cut short).
		if !(status == 0 && code == http2.ErrCodeProtocol || base.DisableServerLoop && status >= 400 && status < 500) {
			t.Fatalf("%s: status %d, reset %v; want the stream reset with PROTOCOL_ERROR", tc.name, status, code)
		}
		id += 2
	}
	c.headers(id, true, get2("/good")...)
	if status, body, _ := c.response(id); status != 200 || body != "ok" {
		t.Fatalf("a good request after the malformed ones: %d %q", status, body)
	}
	for _, s := range st.seen() {
		if strings.Contains(s, "/bad") {
			t.Fatalf("a malformed request reached the target: %q", s)
		}
	}
	if seen := st.seen(); len(seen) != 1 || seen[0] != "GET /good host=h cl=" {
		t.Fatalf("target saw %q; want the good request alone", seen)
	}
}

// TestH2NoAnswerOnAResetStream: once a stream is reset, nothing but that
// reset goes out on it (RFC 9113 section 5.1). The client resets a POST
// while the listener waits for the rest of its body; the 460 the listener
// would answer then ("the client closed the connection") must not go out
// as a HEADERS frame. It once raced the reader's own RST_STREAM when the
// reader reset a malformed body (CI: "DATA past content-length: status
// 460, reset NO_ERROR").
func TestH2NoAnswerOnAResetStream(t *testing.T) {
	everyH2Path(t, testH2NoAnswerOnAResetStream)
}

func testH2NoAnswerOnAResetStream(t *testing.T, base Options) {
	l := rulesProxy(t, base, "HTTPS", startSeenTarget(t))
	c := dialH2(t, l)
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/upload", "content-length", "10")
	_ = c.fr.WriteData(1, false, []byte("abc"))
	time.Sleep(50 * time.Millisecond) // the listener waits for the rest
	_ = c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	// The listener's answer, if any, comes as soon as its read of the body
	// fails; a PING sent well after is acknowledged after that frame.
	time.Sleep(300 * time.Millisecond)
	_ = c.fr.WritePing(false, [8]byte{9})
	c.next(func(f http2.Frame) bool {
		if f.Header().StreamID == 1 {
			t.Fatalf("a %v frame went out on the stream the client reset", f.Header().Type)
		}
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck()
	})
	c.headers(3, true, get2("/good")...)
	if status, body, _ := c.response(3); status != 200 || body != "ok" {
		t.Fatalf("the next request: %d %q", status, body)
	}
}

// TestH2RecycledStreamsCarryNothingOver: a connection reuses an ended
// stream's record, header maps and all, for its next streams; nothing of a
// request or response reaches the next one. The requests go one after
// another on one connection, so each stream takes the record the one
// before left.
func TestH2RecycledStreamsCarryNothingOver(t *testing.T) {
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			w.Header().Set("X-Only-First", "1")
			http.SetCookie(w, &http.Cookie{Name: "first", Value: "1"})
		}
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Client") || k == "Cookie" {
				names = append(names, k+"="+strings.Join(r.Header[k], ","))
			}
		}
		sort.Strings(names)
		_, _ = fmt.Fprintf(w, "%s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, strings.Join(names, " "))
	}))
	c := h2Client()
	url := "https://" + l.Addr()
	do := func(method, path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := do("GET", "/first?a=1", map[string]string{"X-Client-A": "1", "X-Client-B": "2", "Cookie": "c=1"})
	if body != "GET /first?a=1 Cookie=c=1 X-Client-A=1 X-Client-B=2" || res.Header.Get("X-Only-First") != "1" {
		t.Fatalf("first: %q %v", body, res.Header)
	}
	// The first stream's record is recycled once its worker is done with
	// it, a moment after the client has the response: a few requests.
	for i := range 5 {
		res, body = do("POST", "/next", nil)
		if body != "POST /next? " {
			t.Fatalf("request %d after the first: the target saw %q", i+2, body)
		}
		if res.Header.Get("X-Only-First") != "" || len(res.Cookies()) != 0 {
			t.Fatalf("request %d after the first: response header %v", i+2, res.Header)
		}
	}
}

// TestH2MaxConcurrentStreams: the 129th stream open at once is refused
// with REFUSED_STREAM (the ALB's 128); the 128 others are answered.
func TestH2MaxConcurrentStreams(t *testing.T) {
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(h2MaxStreams)
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	c := dialH2(t, l)
	for i := range h2MaxStreams {
		c.headers(uint32(2*i+1), true, get2("/wait")...)
	}
	arrived.Wait()
	over := uint32(2*h2MaxStreams + 1)
	c.headers(over, true, get2("/over")...)
	if status, _, code := c.response(over); status != 0 || code != http2.ErrCodeRefusedStream {
		t.Fatalf("stream 129: status %d, reset %v; want REFUSED_STREAM", status, code)
	}
	close(release)
	for i := range h2MaxStreams {
		if status, body, code := c.response(uint32(2*i + 1)); status != 200 || body != "ok" {
			t.Fatalf("stream %d: %d %q %v; want 200 ok", 2*i+1, status, body, code)
		}
	}
}

// TestH2RapidReset: a client that opens streams and resets them at once
// (CVE-2023-44487) gets GOAWAY ENHANCE_YOUR_CALM and its connection
// closed; a client resetting a few streams keeps its connection.
func TestH2RapidReset(t *testing.T) {
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	c := dialH2(t, l)
	for i := range 10 {
		c.headers(uint32(2*i+1), true, get2("/reset")...)
		_ = c.fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel)
	}
	_ = c.fr.WritePing(false, [8]byte{1})
	c.next(func(f http2.Frame) bool { p, ok := f.(*http2.PingFrame); return ok && p.IsAck() })
	go func() {
		for i := 10; i < 10+2*h2MaxResets; i++ {
			if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: c.block(get2("/reset")...),
				EndStream: true, EndHeaders: true}) != nil || c.fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel) != nil {
				return
			}
		}
	}()
	if code := c.goneAway(); code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v; want ENHANCE_YOUR_CALM", code)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open after GOAWAY")
	}
}

// TestH2ContinuationFlood: a header block that never ends (CONTINUATION
// frames past the header list limit, CVE-2023-45288) closes the
// connection without the listener reading it all.
func TestH2ContinuationFlood(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	c := dialH2(t, l)
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(get2("/")...)})
	junk := c.block("x-junk", strings.Repeat("j", 8000))
	errc := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 10000 && err == nil; i++ {
			err = c.fr.WriteContinuation(1, false, junk)
		}
		errc <- err
	}()
	if code := c.goneAway(); code != http2.ErrCodeProtocol && code != http2.ErrCodeCompression {
		t.Fatalf("GOAWAY %v; want PROTOCOL_ERROR", code)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open")
	}
	if err := <-errc; err == nil {
		t.Fatal("the listener read 80 MB of CONTINUATION frames")
	}
}

// TestH2PingAndFloods: PING is answered; a flood of PINGs or SETTINGS
// closes the connection with ENHANCE_YOUR_CALM; unknown frame types are
// ignored.
func TestH2PingAndFloods(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	for _, flood := range []string{"PING", "SETTINGS"} {
		c := dialH2(t, l)
		_ = c.fr.WriteRawFrame(0xfa, 0, 0, []byte("unknown"))
		_ = c.fr.WritePing(false, [8]byte{7})
		p := c.next(func(f http2.Frame) bool { _, ok := f.(*http2.PingFrame); return ok }).(*http2.PingFrame)
		if !p.IsAck() || p.Data != [8]byte{7} {
			t.Fatalf("PING answered with %+v", p)
		}
		c.headers(1, true, get2("/")...)
		if status, _, _ := c.response(1); status != 200 {
			t.Fatalf("after an unknown frame: %d", status)
		}
		go func() {
			for range 2 * h2FloodPerSecond {
				var err error
				if flood == "PING" {
					err = c.fr.WritePing(false, [8]byte{})
				} else {
					err = c.fr.WriteSettings()
				}
				if err != nil {
					return
				}
			}
		}()
		if code := c.goneAway(); code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("%s flood: GOAWAY %v; want ENHANCE_YOUR_CALM", flood, code)
		}
	}
}

// BenchmarkConnectionLoopH2 is BenchmarkConnectionLoopTLS over HTTP/2:
// each client connection sends one request at a time (h2load -m1), TLS 1.3,
// the listener's self-signed certificate; handshakes excluded.
func BenchmarkConnectionLoopH2(b *testing.B) { benchH2(b, Options{}) }

// BenchmarkNetHTTPH2 is the same through net/http's HTTP/2 server (the
// loop off), as HTTPS listeners served HTTP/2 before h2conn.go.
func BenchmarkNetHTTPH2(b *testing.B) { benchH2(b, Options{DisableServerLoop: true}) }

func benchH2(b *testing.B, o Options) {
	t1, t2 := rawBackend(b, "127.0.0.2"), rawBackend(b, "127.0.0.3")
	tg := config.DefaultTargetGroup
	tg.Name = "bench"
	g := newTGFor(b, tg, t1, t2)
	p := startProxy(b, o, Groups{"bench": g}, config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("bench")})
	l := p.Listeners()[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		nc, err := tls.Dial("tcp", l.Addr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			b.Error(err)
			return
		}
		defer nc.Close()
		bw := bufio.NewWriter(nc)
		fr := http2.NewFramer(bw, bufio.NewReader(nc))
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		_, _ = bw.WriteString(http2.ClientPreface)
		_ = fr.WriteSettings()
		_ = fr.WriteWindowUpdate(0, 1<<30)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "bench.example"},
			{":path", "/index.html"}, {"user-agent", "h2load"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		// The same fields each time: after the first request they are
		// indexed, so later blocks are shorter; as h2load's are.
		first := append([]byte(nil), hb.Bytes()...)
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "bench.example"},
			{":path", "/index.html"}, {"user-agent", "h2load"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		again := append([]byte(nil), hb.Bytes()...)
		id := uint32(1)
		for pb.Next() {
			block := again
			if id == 1 {
				block = first
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
			if err := bw.Flush(); err != nil {
				b.Error(err)
				return
			}
			for done := false; !done; {
				f, err := fr.ReadFrame()
				if err != nil {
					b.Error(err)
					return
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					if !f.IsAck() {
						_ = fr.WriteSettingsAck()
					}
				case *http2.MetaHeadersFrame:
					if f.StreamID == id && f.PseudoValue("status") != "200" {
						b.Errorf("status %q", f.PseudoValue("status"))
						return
					}
					done = f.StreamEnded()
				case *http2.DataFrame:
					if n := len(f.Data()); n > 0 {
						_ = fr.WriteWindowUpdate(f.StreamID, uint32(n))
					}
					done = f.StreamEnded()
				case *http2.RSTStreamFrame:
					b.Errorf("stream reset: %v", f.ErrCode)
					return
				}
			}
			id += 2
		}
	})
}
