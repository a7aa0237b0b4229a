package upstream

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadHeader: whatever a target sends, reading its response head never
// panics, and a head accepted is safe to relay: a status of 200 or more,
// fields with token names and no control characters in values (nothing
// that could end the client's header early), no hop-by-hop field, at most
// one Content-Length, and none beside chunked framing.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
		"HTTP/1.1 200 OK\nSet-Cookie: a=1\nset-cookie: b=2\ncontent-length: 0\n\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		cn := &conn{br: bufio.NewReaderSize(bytes.NewReader(data), 8<<10)}
		status, _, err := cn.readHeader(method)
		if err != nil {
			return
		}
		if status < 200 || status > 599 {
			t.Fatalf("status %d accepted", status)
		}
		lengths := 0
		for _, f := range cn.fields {
			if f.Name == "" || !validName(f.Name) {
				t.Fatalf("field name %q relayed", f.Name)
			}
			if !validValue(f.Value) {
				t.Fatalf("field value %q relayed", f.Value)
			}
			if isHop(f.Name) {
				t.Fatalf("hop-by-hop field %q relayed", f.Name)
			}
			if f.Name == "Content-Length" {
				lengths++
			}
		}
		if lengths > 1 || lengths == 1 && cn.framing == bodyChunked {
			t.Fatalf("%d Content-Length fields with framing %d: %q", lengths, cn.framing, cn.fields)
		}
	})
}

// validName and validValue are the fuzzer's oracle, written apart from the
// reader's own checks. validName: token characters only (RFC 9110 section
// 5.6.2).
func validName(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// validValue: no control character but HTAB (RFC 9110 section 5.5).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
