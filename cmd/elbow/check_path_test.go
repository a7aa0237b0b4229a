package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// countingTarget accepts connections one at a time on a loopback address and,
// once each is closed by the peer, sends what it carried: one entry per
// request ("GET /path"), or a "malformed" entry for bytes that were not one.
func countingTarget(t *testing.T) (addr string, conns <-chan []string) {
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
			var got []string
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					if err != io.EOF {
						got = append(got, "malformed: "+err.Error())
					}
					break
				}
				got = append(got, req.Method+" "+req.RequestURI)
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			}
			c.Close()
			out <- got
		}
	}()
	return ln.Addr().String(), out
}

// connectionsSoFar returns what every connection made to addr before now
// carried: a marker connection follows them in the accept queue.
func connectionsSoFar(t *testing.T, addr string, conns <-chan []string) [][]string {
	t.Helper()
	m, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Write([]byte("MARKER / HTTP/1.1\r\nHost: marker\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	m.(*net.TCPConn).CloseWrite()
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

const pathRule = "a health check path must begin with a '/' character and only contain printable ASCII characters, without spaces"

// TestCheckPathRefused: elbow check --path with CR, LF, space or a control
// character is a usage error (exit 2) naming the flag and AWS's rule, and
// nothing reaches the target; a valid path makes exactly one request.
func TestCheckPathRefused(t *testing.T) {
	addr, conns := countingTarget(t)
	url := "http://" + addr

	code, stdout, stderr := runCLI(t, "check", url, "--path", "/health?x=%0D%0A")
	if code != 0 {
		t.Fatalf("valid path: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := connectionsSoFar(t, addr, conns); len(got) != 1 || len(got[0]) != 1 || got[0][0] != "GET /health?x=%0D%0A" {
		t.Fatalf("valid path: the target saw %q, want one connection with one GET /health?x=%%0D%%0A", got)
	}

	for _, tc := range []struct{ path, where string }{
		{"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete", "(space at byte 7)"},
		{"/health\r\nX-Injected: 1", "(CR (0x0D) at byte 7)"},
		{"/health\nX-Injected: 1", "(LF (0x0A) at byte 7)"},
		{"/a b", "(space at byte 2)"},
		{"/a\x00", "(control character 0x00 at byte 2)"},
	} {
		code, _, stderr := runCLI(t, "check", url, "--path", tc.path)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.path, code, stderr)
		}
		if !strings.Contains(stderr, "--path: ") || !strings.Contains(stderr, pathRule+" "+tc.where) {
			t.Errorf("%q: stderr %q lacks --path: ... %s %s", tc.path, stderr, pathRule, tc.where)
		}
		if got := connectionsSoFar(t, addr, conns); len(got) != 0 {
			t.Errorf("%q: the target saw %q, want nothing", tc.path, got)
		}
	}
}

// TestValidateRefusesPathCharacters: elbow validate prints the path error
// with file, line and key, and exits 1.
func TestValidateRefusesPathCharacters(t *testing.T) {
	file := filepath.Join(t.TempDir(), "elbow.yaml")
	src := "instances:\n  sample_app: true\ntarget_groups:\n  - name: web\n    health_check:\n      path: \"/health\\r\\nX-Injected: 1\"\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "validate", "-c", file)
	if code != 1 {
		t.Errorf("exit %d, want 1 (stderr %q)", code, stderr)
	}
	want := file + `:6: target_groups[0].health_check.path: "/health\r\nX-Injected: 1" is not valid: ` + pathRule + " (CR (0x0D) at byte 7)"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}
