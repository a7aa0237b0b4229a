package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// headersSplit opens stream id with a header block cut into frames of at
// most size bytes: HEADERS, then CONTINUATION frames.
func (c *h2Raw) headersSplit(id uint32, end bool, size int, fields ...string) {
	c.t.Helper()
	block := c.block(fields...)
	first := block[:min(size, len(block))]
	rest := block[len(first):]
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first,
		EndStream: end, EndHeaders: len(rest) == 0}); err != nil {
		c.t.Fatal(err)
	}
	for len(rest) > 0 {
		n := min(size, len(rest))
		if err := c.fr.WriteContinuation(id, n == len(rest), rest[:n]); err != nil {
			c.t.Fatal(err)
		}
		rest = rest[n:]
	}
}

// TestH2HeaderBlocks: the connection loop's header-block reading. A block
// cut into CONTINUATION frames is one request; a list past 64 K is
// answered 431 without reaching the target, and the hpack state stays in
// step (the next block's indexed fields decode); trailers are read, and
// trailers with a pseudo-field reset their stream (RFC 9113 section 8.1).
func TestH2HeaderBlocks(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	l := h2Proxy(t, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/pseudo-trailers" { // reset after it began: may or may not arrive
			mu.Lock()
			seen = append(seen, r.URL.Path)
			mu.Unlock()
		}
		_, _ = io.WriteString(w, r.Header.Get("X-Split")+"|"+r.Header.Get("X-Kept"))
	}))
	c := dialH2(t, l)
	long := strings.Repeat("s", 3000)
	c.headersSplit(1, true, 1000, get2("/split", "x-split", long, "x-kept", "first")...)
	if status, body, code := c.response(1); status != 200 || body != long+"|first" {
		t.Fatalf("a block in 5 frames: %d %.40q %v; want 200 with its fields", status, body, code)
	}

	// Ten fields of 8000 bytes: 80 K, past the 64 K list bound.
	var big []string
	for i := range 10 {
		big = append(big, "x-big-"+string(rune('a'+i)), strings.Repeat("b", 8000))
	}
	c.headersSplit(3, true, 16<<10, get2("/too-big", big...)...)
	if status, _, code := c.response(3); status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("an 80 K header list: %d %v; want 431", status, code)
	}
	// x-kept: first is in both sides' dynamic tables since stream 1: the
	// encoder sends it as an index.
	c.headers(5, true, get2("/after", "x-kept", "first")...)
	if status, body, code := c.response(5); status != 200 || body != "|first" {
		t.Fatalf("the request after the 431: %d %q %v; want 200 |first", status, body, code)
	}

	c.headers(7, false, ":method", "POST", ":scheme", "https", ":path", "/trailers")
	_ = c.fr.WriteData(7, false, []byte("body"))
	c.headers(7, true, "x-checksum", "1")
	if status, _, code := c.response(7); status != 200 {
		t.Fatalf("a request with trailers: %d %v; want 200", status, code)
	}
	c.headers(9, false, ":method", "POST", ":scheme", "https", ":path", "/pseudo-trailers")
	_ = c.fr.WriteData(9, false, []byte("body"))
	c.headers(9, true, ":path", "/elsewhere")
	if status, _, code := c.response(9); status != 0 || code != http2.ErrCodeProtocol {
		t.Fatalf("trailers with a pseudo-field: %d %v; want the stream reset with PROTOCOL_ERROR", status, code)
	}

	c.headers(11, true, get2("/last")...)
	if status, _, _ := c.response(11); status != 200 {
		t.Fatalf("the last request: %d; want 200", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(seen, " "), "/split /after /trailers /last"; got != want {
		t.Fatalf("target saw %s; want %s (never /too-big)", got, want)
	}
}

// TestH2HeaderFieldAfterMalformedEndsTheConnection: once a field makes
// the block malformed its size is no longer counted, so a CONTINUATION
// after it ends the connection (x/net's rule, against CVE-2023-45288)
// rather than be decoded.
func TestH2HeaderFieldAfterMalformedEndsTheConnection(t *testing.T) {
	l := h2Proxy(t, Options{}, echoHandler())
	c := dialH2(t, l)
	c.headersSplit(1, true, 40, get2("/x", "X-Upper", "1", "x-pad", strings.Repeat("p", 100))...)
	if code := c.goneAway(); code != http2.ErrCodeProtocol {
		t.Fatalf("GOAWAY %v; want PROTOCOL_ERROR", code)
	}
}
