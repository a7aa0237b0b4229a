package healthcheck

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidatePath(t *testing.T) {
	ok := []string{
		"/", "/health", "/health?full=1&x=%0D%0A", "/~user/a-b_c.d!$&'()*+,;=:@",
		`/"<>\^` + "`{|}#", // printable ASCII: the ALB takes them, the probe writes them as they are
		"/" + strings.Repeat("a", MaxPathLength-1),
	}
	for _, p := range ok {
		if err := ValidatePath(p); err != nil {
			t.Errorf("ValidatePath(%.40q) = %v, want nil", p, err)
		}
	}
	bad := []struct{ path, want string }{
		{"", `"" has 0 characters: a path has 1 to 1024`},
		{"/" + strings.Repeat("a", MaxPathLength), `has 1025 characters: a path has 1 to 1024`},
		{"health", `"health" must begin with /`},
		{"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete",
			`"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete" is not valid: a health check path must begin with a '/' character and only contain printable ASCII characters, without spaces (space at byte 7)`},
		{"/a\r\nb", `(CR (0x0D) at byte 2)`},
		{"/a\nb", `(LF (0x0A) at byte 2)`},
		{"/a\tb", `(tab (0x09) at byte 2)`},
		{"/a\x00", `(control character 0x00 at byte 2)`},
		{"/a\x7f", `(DEL (0x7F) at byte 2)`},
		{"/caf\u00e9", `(non-ASCII byte 0xC3 at byte 4)`},
	}
	for _, tc := range bad {
		err := ValidatePath(tc.path)
		if err == nil {
			t.Errorf("ValidatePath(%.40q) = nil, want an error", tc.path)
			continue
		}
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ValidatePath(%.40q) = %v, not ErrInvalidPath", tc.path, err)
		}
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != tc.path {
			t.Errorf("ValidatePath(%.40q): %#v is not a *PathError for the path", tc.path, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidatePath(%.40q) = %q, want it to contain %q", tc.path, err, tc.want)
		}
	}
}

// requestTarget accepts connections one at a time and, for each, sends the
// request targets it parsed from it, in order, once the peer has closed;
// bytes that do not parse as a request count as one "malformed" entry. The
// marker connection's single MARKER request says that everything received
// before it is complete: connections are accepted in the order they were made.
func requestTarget(t *testing.T) (addr string, conns <-chan []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan []string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var targets []string
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					if err != io.EOF { // bytes that were not a request still reached the target
						targets = append(targets, "malformed: "+err.Error())
					}
					break
				}
				targets = append(targets, req.Method+" "+req.RequestURI)
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			}
			c.Close()
			out <- targets
		}
	}()
	return ln.Addr().String(), out
}

// receivedBefore returns the requests of every connection made to addr
// before now, one list per connection.
func receivedBefore(t *testing.T, addr string, conns <-chan []string) [][]string {
	t.Helper()
	m, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Write([]byte("MARKER / HTTP/1.1\r\nHost: marker\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	m.(*net.TCPConn).CloseWrite()
	defer m.Close()
	var got [][]string
	for {
		select {
		case c := <-conns:
			if len(c) == 1 && c[0] == "MARKER /" {
				return got
			}
			got = append(got, c)
		case <-time.After(10 * time.Second):
			t.Fatal("the target never saw the marker connection")
		}
	}
}

// TestProbeNeverWritesAnInvalidPath is the prober's last line of defence: a
// path that would split the request line is refused before any connection,
// as a typed result, and a valid path still makes exactly one request.
func TestProbeNeverWritesAnInvalidPath(t *testing.T) {
	addr, conns := requestTarget(t)
	tg := targetOf(t, addr)

	r := HTTPProber{}.Probe(context.Background(), tg, settingsFor("/health?x=%0D%0A", "200", 2*time.Second))
	if !r.Passed() {
		t.Fatalf("valid path: %s %v", r.Reason, r.Err)
	}
	got := receivedBefore(t, addr, conns)
	if len(got) != 1 || len(got[0]) != 1 || got[0][0] != "GET /health?x=%0D%0A" {
		t.Fatalf("valid path: the target saw %q, want one connection with one GET /health?x=%%0D%%0A", got)
	}

	for _, p := range []string{
		"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete",
		"/health\r\nX-Injected: 1",
		"/a b",
		"/health\x00",
		"health",
		"",
	} {
		r := HTTPProber{}.Probe(context.Background(), tg, settingsFor(p, "200", 2*time.Second))
		if r.Passed() || r.Reason != ReasonInternalError || !errors.Is(r.Err, ErrInvalidPath) {
			t.Errorf("%q: passed=%v reason=%s err=%v, want a failed check, Elb.InternalError, ErrInvalidPath", p, r.Passed(), r.Reason, r.Err)
		}
		if h := r.Health(); h != Health(StateUnhealthy, ReasonInternalError) {
			t.Errorf("%q: health %+v", p, h)
		}
		if got := receivedBefore(t, addr, conns); len(got) != 0 {
			t.Errorf("%q: the target saw %d connection(s) %q, want none", p, len(got), got)
		}
	}
}
