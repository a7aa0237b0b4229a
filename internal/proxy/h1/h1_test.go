package h1

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

func parse(t testing.TB, head string) (*Request, Outcome) {
	t.Helper()
	n := HeadEnd([]byte(head))
	if n != len(head) {
		t.Fatalf("HeadEnd(%q) = %d; want %d", head, n, len(head))
	}
	var r Request
	return &r, r.Parse(head)
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, head    string
		method, path  string
		host          string
		contentLength int64
		close         bool
		header        map[string]string
	}{
		{name: "GET", head: "GET /a?b=c HTTP/1.1\r\nHost: x.example\r\nUser-Agent: wrk\r\n\r\n",
			method: "GET", path: "/a?b=c", host: "x.example", header: map[string]string{"User-Agent": "wrk"}},
		{name: "bare LF line ends (RFC 9112 2.2)", head: "GET / HTTP/1.1\nHost: h\nX-A: 1\n\n",
			method: "GET", path: "/", host: "h", header: map[string]string{"X-A": "1"}},
		{name: "names canonicalised, OWS trimmed", head: "GET / HTTP/1.1\r\nhost: h\r\nx-custom-thing: \t v \t\r\n\r\n",
			method: "GET", path: "/", host: "h", header: map[string]string{"X-Custom-Thing": "v"}},
		{name: "identical Content-Length repeated", head: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
			method: "POST", path: "/", host: "h", contentLength: 5, header: map[string]string{"Content-Length": "5"}},
		{name: "Connection: close", head: "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n",
			method: "GET", path: "/", host: "h", close: true},
		{name: "HTTP/1.0 closes", head: "GET / HTTP/1.0\r\nHost: h\r\n\r\n", method: "GET", path: "/", host: "h", close: true},
		{name: "HTTP/1.0 without Host: the caller fills in the load balancer's name", head: "GET / HTTP/1.0\r\n\r\n",
			method: "GET", path: "/", host: "", close: true},
		{name: "empty lines before the request line are skipped (RFC 9112 2.2)", head: "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
			method: "GET", path: "/", host: "h"},
		{name: "obs-text in a value", head: "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n",
			method: "GET", path: "/", host: "h", header: map[string]string{"X-Name": "caf\xc3\xa9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, o := parse(t, tc.head)
			if o != OK {
				t.Fatalf("outcome %d (%d %s); want OK", o, r.Status, r.Reason)
			}
			if r.Method != tc.method || r.Target != tc.path || r.Host != tc.host || r.ContentLength != tc.contentLength || r.Close != tc.close {
				t.Fatalf("got %s %s host %q length %d close %v", r.Method, r.Target, r.Host, r.ContentLength, r.Close)
			}
			for k, v := range tc.header {
				if got := r.Header[k]; len(got) != 1 || got[0] != v {
					t.Errorf("header %s = %q; want [%q]", k, got, v)
				}
			}
			if r.Header["Host"] != nil {
				t.Errorf("Host is in Header; it belongs in Host alone")
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	long := "GET /" + strings.Repeat("a", MaxRequestLine) + " HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, tc := range []struct {
		name, head string
		status     int
	}{
		{"differing Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
		{"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n", 400},
		{"Content-Length with a sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400},
		{"Content-Length negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
		{"Content-Length empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400},
		{"Content-Length overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n", 400},
		// What falls back to net/http is checked to its end all the same.
		{"obs-fold in an absolute-form request", "POST http://a/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"obs-fold in OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"obs-fold in HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"differing Content-Length in an absolute-form request", "POST http://a/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"a header field over 16 K", "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", 431},
		{"HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505},
		{"space before the colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400},
		{"empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", 400},
		{"non-token name", "GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400},
		{"NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", 400},
		{"DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fb\r\n\r\n", 400},
		{"bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400},
		{"bare CR in the request line", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"invalid method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"control character in the target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"no target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"invalid escape in the path", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"truncated escape", "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"request line too long", long, 414},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, o := parse(t, tc.head)
			if o != Reject || r.Status != tc.status {
				t.Fatalf("outcome %d status %d (%s); want a %d rejection", o, r.Status, r.Reason, tc.status)
			}
		})
	}
}

func TestParseFallsBack(t *testing.T) {
	for _, tc := range []struct{ name, head string }{
		{"chunked body", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"Expect", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"},
		{"WebSocket upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{"HTTP/2 prior knowledge", "PRI * HTTP/2.0\r\n\r\n"},
		{"absolute-form", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"},
		{"other version", "GET / HTTP/1.2\r\nHost: h\r\n\r\n"},
		{"Content-Length and Transfer-Encoding: the desync classification decides", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"absolute-form, checked to its end", "POST http://a/x HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			n := HeadEnd([]byte(tc.head))
			if n == 0 {
				t.Fatalf("HeadEnd found no head")
			}
			if o := r.Parse(tc.head[:n]); o != Fallback {
				t.Fatalf("outcome %d (%d %s); want a fallback to net/http", o, r.Status, r.Reason)
			}
		})
	}
}

func TestEarlyStatus(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
	}{
		{"HTTP/0.9 request line", "GET /\r\n", 400},
		{"HTTP/0.9 after an empty line", "\r\nGET /\n", 400},
		{"garbage line", "hello\r\n", 400},
		{"request line still coming", "GET / HTT", 0},
		{"whole request line, head still coming", "GET / HTTP/1.1\r\nHost: h\r\n", 0},
		{"request line over 16 K", "GET /" + strings.Repeat("a", 16<<10), 414},
		{"head at 64 K", "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 64<<10/8), 431},
	} {
		if got := EarlyStatus([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: EarlyStatus = %d; want %d", tc.name, got, tc.want)
		}
	}
}

func TestHeadEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\nrest", 27},
		{"GET / HTTP/1.1\nHost: h\n\nrest", 24},
		{"GET / HTTP/1.1\r\nHost: h\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r", 0},
		{"", 0},
		{"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 31},
		{"\r\n", 0},
	} {
		if got := HeadEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("HeadEnd(%q) = %d; want %d", tc.in, got, tc.want)
		}
	}
}

// FuzzParse checks that whatever Parse accepts, net/http reads the same
// way (the request goes on to a target that may use any parser, so the
// two must never disagree on method, target, Host or body length), and
// that nothing it accepts carries a character that could split a header.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /p?q HTTP/1.1\r\nHost: h:80\r\nContent-Length: 3\r\nX-A: b\r\n\r\n",
		"GET / HTTP/1.0\nHost: h\n\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
		"GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	var r Request
	f.Fuzz(func(t *testing.T, b []byte) {
		n := HeadEnd(b)
		if n == 0 {
			return
		}
		head := string(b[:n])
		if r.Parse(head) != OK {
			return
		}
		if r.Method == "" || r.Target == "" || r.Target[0] != '/' || r.ContentLength < 0 {
			t.Fatalf("accepted %q as %q %q length %d", head, r.Method, r.Target, r.ContentLength)
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.ContainsAny(k, "\r\n: \t") || strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted %q with header %q: %q", head, k, v)
				}
			}
		}
		// Empty lines before the request line are skipped, and never passed
		// on (net/http refuses them).
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head[LeadingEmptyLines(head):])))
		if err != nil {
			t.Fatalf("accepted %q, which net/http rejects: %v", head, err)
		}
		if req.Method != r.Method || req.RequestURI != r.Target || req.Host != r.Host || req.ContentLength != r.ContentLength {
			t.Fatalf("%q: h1 reads %s %s host %q length %d; net/http reads %s %s host %q length %d",
				head, r.Method, r.Target, r.Host, r.ContentLength, req.Method, req.RequestURI, req.Host, req.ContentLength)
		}
	})
}
